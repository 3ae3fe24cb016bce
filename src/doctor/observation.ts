/**
 * The plain data the doctor's rules look at: what one authoritative nameserver served at
 * one name, which DKIM records byodkim expects and why, and SES's view per region. Built
 * by the gatherer (diagnose.ts), so the rules stay pure and are tested with literals.
 */
import type { SesDkimView } from '../ports.js';

/**
 * Why a DKIM record should be in DNS, which decides how much a problem with it matters:
 *
 * | role        | meaning                                              | a broken record is |
 * |-------------|------------------------------------------------------|--------------------|
 * | `active`    | state's active key: SES signs with it                | error              |
 * | `switching` | SES is being pointed at it (verified, switchedAt)    | error              |
 * | `ses`       | SES signs with it, but byodkim's state does not know it | error           |
 * | `standby`   | verified future key, published ahead of need         | warning            |
 * | `pending`   | staged or published, not yet shown everywhere        | warning (missing: info) |
 * | `retiring`  | old key inside its grace period: mail in flight      | warning            |
 */
export type KeyRole = 'active' | 'switching' | 'ses' | 'standby' | 'pending' | 'retiring';

export interface ExpectedRecord {
  selector: string;
  /** `<selector>._domainkey.<domain>`, no trailing dot. */
  name: string;
  role: KeyRole;
  /** base64 SubjectPublicKeyInfo; undefined when byodkim does not know the key (role `ses`). */
  publicKey?: string;
  /** SES regions that hold this selector now. */
  sesRegions: string[];
}

/** One TXT record as served: its character-strings (≤ 255 bytes each) and its TTL. */
export interface TxtRecordSeen {
  strings: string[];
  ttl: number;
}

export interface CnameSeen {
  owner: string;
  target: string;
  ttl: number;
}

export type LookupOutcome = 'answer' | 'nxdomain' | 'nodata' | 'failed';

export type LookupFailure =
  | 'servfail'
  | 'refused'
  | 'timeout'
  | 'lame'
  | 'unreachable'
  | 'discovery'
  | 'error';

/** What one authoritative nameserver answered to a question about `name` (RD=0). */
export interface AnswerBase {
  /** `ns1.example.com (192.0.2.1)`, or the address alone when configured by address. */
  nameserver: string;
  name: string;
  outcome: LookupOutcome;
  /** CNAMEs met from `name` on (first one owned by `name`). */
  cnames: CnameSeen[];
  /** The zone named by the SOA of a negative answer. */
  zone?: string;
  failure?: { kind: LookupFailure; detail: string };
}

/** What one authoritative nameserver answered to `TXT? name` (RD=0). */
export interface LookupAnswer extends AnswerBase {
  /** TXT records owned by `name`, or by the end of its CNAME chain inside the answer. */
  txt: TxtRecordSeen[];
}

/** One MX record as served. */
export interface MxRecordSeen {
  preference: number;
  /** The exchange host, lowercase, no trailing dot. */
  exchange: string;
  ttl: number;
}

/** What one authoritative nameserver answered to `MX? name` (RD=0). */
export interface MxLookupAnswer extends AnswerBase {
  /** MX records owned by `name`, or by the end of its CNAME chain inside the answer. */
  mx: MxRecordSeen[];
}

export type SesRead = { ok: true; view: SesDkimView } | { ok: false; error: string };

/**
 * One region's custom MAIL FROM as SES reports it, with what decides how much a problem
 * with it matters: while SES signs with the domain's own key, DMARC passes through DKIM
 * and the MAIL FROM matters only for the next switch gap; while it does not (a switch in
 * flight, onboarding), SPF alignment through the MAIL FROM is all DMARC has.
 */
export interface MailFromUse {
  region: string;
  /** SES's MailFromDomain, lowercase, no trailing dot; undefined when none is set. */
  mailFromDomain: string | undefined;
  /** MailFromDomainStatus: PENDING | SUCCESS | FAILED | TEMPORARY_FAILURE. */
  status: string | undefined;
  /** BehaviorOnMxFailure: USE_DEFAULT_VALUE | REJECT_MESSAGE. */
  behaviorOnMxFailure: string | undefined;
  /** SES signs with the domain's key in this region now (DKIM SUCCESS, signing on). */
  dkimAlignedNow: boolean;
}
