/** One record change as a DNS publisher receives it: the whole value, ready to send. */
export interface DnsRecordChange {
  action: 'upsert' | 'delete';
  /** Fully qualified, no trailing dot: `<selector>._domainkey.<domain>`. */
  name: string;
  /** The whole TXT value; for delete, exactly what was published (only that record is removed). */
  value: string;
  ttl?: number;
  selector: string;
  reason: string;
  /** For removals handed to a DNS team: the earliest moment removal is safe. */
  notBefore?: string;
}
