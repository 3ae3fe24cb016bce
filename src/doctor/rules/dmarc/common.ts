import { claimsDmarc, type DmarcParse, isDmarcRecord, parseDmarc } from '../../dmarc.js';
import type { RuleFinding, Severity } from '../../finding.js';
import type { LookupAnswer } from '../../observation.js';
import type { DmarcContext } from '../context.js';

export interface DmarcRecordSeen {
  value: string;
  ttl: number;
  parse: DmarcParse;
}

/** The TXT records at an answer that were meant as DMARC records, parsed. */
export function dmarcRecords(answer: LookupAnswer | undefined): DmarcRecordSeen[] {
  if (answer === undefined || answer.outcome !== 'answer') return [];
  return answer.txt
    .map((r) => ({ value: r.strings.join(''), ttl: r.ttl }))
    .filter((r) => claimsDmarc(r.value))
    .map((r) => ({ ...r, parse: parseDmarc(r.value) }));
}

/** Records receivers take as DMARC records (they start with v=DMARC1). */
export function strictRecords(records: readonly DmarcRecordSeen[]): DmarcRecordSeen[] {
  return records.filter((r) => isDmarcRecord(r.value));
}

export interface EffectiveDmarc {
  /** Where the policy in force was found. */
  name: string;
  record: DmarcRecordSeen;
  inherited: boolean;
}

/**
 * The DMARC record in force for the domain, as receivers discover it (RFC 7489 §6.6.3):
 * exactly one valid record at `_dmarc.<domain>`, else at `_dmarc.<organizational domain>`.
 */
export function effectiveDmarc(c: DmarcContext): EffectiveDmarc | undefined {
  const own = strictRecords(dmarcRecords(c.answer));
  if (own.length > 0) {
    const only = own[0];
    return own.length === 1 && only !== undefined && only.parse.ok
      ? { name: c.answer.name, record: only, inherited: false }
      : undefined;
  }
  const inherited = strictRecords(dmarcRecords(c.inherited));
  const only = inherited[0];
  if (inherited.length === 1 && only !== undefined && only.parse.ok && c.inherited !== undefined) {
    return { name: c.inherited.name, record: only, inherited: true };
  }
  return undefined;
}

export function dmarcFinding(
  c: DmarcContext,
  code: string,
  severity: Severity,
  seen: string,
  fix: string,
  name = c.answer.name,
): RuleFinding {
  return { code, severity, name, nameserver: c.answer.nameserver, seen, fix };
}

/** A DMARC record to start from: monitoring, relaxed alignment, aggregate reports. */
export function suggestedDmarcLine(domain: string, ttl: number): string {
  return `_dmarc.${domain}. ${ttl} IN TXT "v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:dmarc-reports@${domain}"`;
}
