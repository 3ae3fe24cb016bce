/**
 * The signing canary's language: what a canary message is (a short message SES really sends,
 * marked with one header so it can be found again), how a receiver's verdict on it reads,
 * and how often one is sent. Pure data and functions; the ports send and read the mail.
 *
 * A canary never carries key material: its header names the domain, the region, when it
 * was sent and an id, nothing else.
 */

/** The header that marks a canary and says where and when it was sent. */
export const CANARY_HEADER = 'X-Byodkim-Canary';

export interface CanaryTag {
  id: string;
  domain: string;
  region: string;
  /** ISO: the moment byodkim asked SES to send it. */
  sentAt: string;
}

/** `id=c-...; domain=example.com; region=us-east-1; sent=2027-01-01T00:00:00.000Z` */
export function canaryHeaderValue(tag: CanaryTag): string {
  return `id=${tag.id}; domain=${tag.domain}; region=${tag.region}; sent=${tag.sentAt}`;
}

/** The tag in a canary header value, or undefined when it is not one of ours. */
export function parseCanaryHeader(value: string): CanaryTag | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const id = fields.get('id');
  const domain = fields.get('domain');
  const region = fields.get('region');
  const sentAt = fields.get('sent');
  if (!id || !domain || !region || !sentAt || Number.isNaN(Date.parse(sentAt))) return undefined;
  return { id, domain: domain.toLowerCase(), region, sentAt };
}

/** The value of the canary header in a raw message (unfolded), if it has one. */
export function canaryTagOf(raw: string): CanaryTag | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${CANARY_HEADER.toLowerCase()}:`));
  return line === undefined ? undefined : parseCanaryHeader(line.slice(CANARY_HEADER.length + 1));
}

/** A canary id: the moment and the region, so two canaries of one domain never share one. */
export function canaryId(region: string, sentAt: Date): string {
  return `c-${sentAt.getTime().toString(36)}-${region}`;
}

export interface CanaryMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  headers: Array<{ name: string; value: string }>;
}

/** The message byodkim asks SES to send: short, plain, and free of anything secret. */
export function canaryMessage(tag: CanaryTag, addresses: { from: string; to: string }): CanaryMessage {
  return {
    from: addresses.from,
    to: addresses.to,
    subject: `byodkim canary ${tag.domain} ${tag.region} ${tag.id}`,
    text:
      `This message was sent by byodkim through Amazon SES in ${tag.region} at ${tag.sentAt} ` +
      `to check how SES signs mail from ${tag.domain}. It is deleted once judged.\n`,
    headers: [{ name: CANARY_HEADER, value: canaryHeaderValue(tag) }],
  };
}

/** The checks a receiver makes, in the order they are reported (`doctor --send-test`). */
export const MAIL_CHECKS = [
  'delivered',
  'dkim-domain',
  'dkim-selector',
  'dkim-body-hash',
  'dkim-signature',
  'spf',
  'dmarc',
] as const;
export type MailCheck = (typeof MAIL_CHECKS)[number];

/** How a receiver judged one message against the domain's authoritative nameservers. */
export interface MailVerdict {
  /** A signature with `d=<domain>` verifies, and DMARC passes. */
  pass: boolean;
  /** A signature with `d=<domain>` verifies (body hash and signature). */
  signed: boolean;
  /** `s=` of the domain's signature (the verifying one, else the first seen), if any. */
  selector?: string;
  /** DMARC: pass or not, and through which aligned identifier. */
  dmarc: { result: string; alignedBy: Array<'dkim' | 'spf'> };
  spf: { result: string; domain?: string };
  /** Every signature seen, for the record (`d=amazonses.com` included). */
  signatures: Array<{ domain: string; selector: string; result: string; comment?: string }>;
  checks: Array<{ check: MailCheck; ok: boolean; detail: string }>;
  /** The first check that failed. */
  failing?: MailCheck;
}

/** One canary found in the inbox and judged. */
export interface CanaryReading {
  tag: CanaryTag;
  /** Where it is in the inbox, to delete it. */
  ref: string;
  /** When it arrived: the receiving server's Received stamp, else the inbox's own time. */
  arrivedAt?: string;
  verdict: MailVerdict;
}

export type CanaryObservation = { ok: true; readings: CanaryReading[] } | { ok: false; error: string };

/** The core's view of a domain's canary settings (config `canary`). */
export interface CanarySpec {
  from: string;
  to: string;
  /** Between canaries per region while nothing is switching. */
  intervalMs: number;
  /** Between canaries per region while a switch is open there or a canary alarm holds. */
  switchIntervalMs: number;
  /** How long a judged canary stays in the inbox. */
  retentionMs: number;
}

/**
 * How a judged canary compares with what the state expects (decided in the core):
 * `expected` signed with a selector SES should hold; `gap` unsigned inside an open switch;
 * `unexpected-selector` signed with a selector the state does not expect; `unsigned` not
 * signed by the domain outside a switch.
 */
export type CanaryExpectation = 'expected' | 'gap' | 'unexpected-selector' | 'unsigned';
