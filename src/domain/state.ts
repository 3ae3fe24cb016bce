import type { KeyBits } from './key.js';
import type { Reason } from './vocabulary.js';

/**
 * What byodkim remembers about one domain between passes. Plain JSON data: it is stored
 * by the state stores as is, and it never holds private key material (keys live in the
 * vault; the state only names where).
 *
 * Key lifecycle (cert-manager style: a staged "next" key, promoted when proven):
 *
 *   staged ──publish──▶ published ──N checks match on all NS──▶ verified
 *                                                                  │ SES put + SUCCESS
 *                                                                  ▼
 *   retired ◀──record gone, key destroyed── retiring ◀──replaced── active
 *
 *   failed:  SES said FAILED / window ran out (rolled back)
 *   revoked: record replaced by an empty p= (emergency), key destroyed
 */
export type KeyStatus =
  | 'staged'
  | 'published'
  | 'verified'
  | 'active'
  | 'retiring'
  | 'retired'
  | 'failed'
  | 'revoked';

export const KEY_STATUSES: readonly KeyStatus[] = [
  'staged',
  'published',
  'verified',
  'active',
  'retiring',
  'retired',
  'failed',
  'revoked',
];

export interface KeyEntry {
  selector: string;
  bits: KeyBits;
  /** base64 DER SubjectPublicKeyInfo, the record's p=. */
  publicKey: string;
  /** Where the vault keeps the private key (file path, s3:// URI); informational. */
  vaultRef: string;
  origin: 'generated' | 'adopted';
  createdAt: string;
  /** createdAt + validity: when the key should no longer be in use. */
  notAfter: string;
  status: KeyStatus;
  statusSince: string;
  /** Consecutive passes on which every authoritative nameserver served this key. */
  verifyStreak?: number;
  /** When the last check that counted towards `verifyStreak` saw the key everywhere. */
  lastSeenAt?: string;
  /** When SES was first pointed at this selector (start of the verification window). */
  switchedAt?: string;
  /** When this key stopped being used by SES: start of the grace period. */
  retiringSince?: string;
  /** When byodkim last sent the record to DNS (or the DNS team). */
  lastPublishedAt?: string;
  /** When byodkim asked DNS (or the DNS team) to remove the record. */
  removalRequestedAt?: string;
  /** Emergency: when the record was replaced by an empty p= while SES may still use it. */
  revokedAt?: string;
  /** When the private key was destroyed or archived. */
  destroyedAt?: string;
  /**
   * The vault's copy could not be used for an SES put: gone, or not the key whose public
   * half the state recorded and DNS serves. Set when a put is refused for it; decide then
   * retires the key and stages a fresh one.
   */
  keyProblem?: { code: KeyProblem; at: string };
}

export type KeyProblem = typeof Reason.KeyMismatch | typeof Reason.KeyMissing;

/** Who changed a domain: a front end (`library` = a script using the `byodkim` API) and, where known, the user or function. */
export type Actor = { kind: 'cli' | 'lambda' | 'sandbox' | 'library' | 'test'; user?: string };

export interface HistoryEntry {
  at: string;
  selector?: string;
  from?: KeyStatus | undefined;
  to?: KeyStatus | undefined;
  reason: string;
  message: string;
  actor: Actor;
}

export interface RotationRequest {
  kind: 'manual' | 'emergency';
  requestedAt: string;
  /** Emergency only: revoke the old record at once, before the new key is active. */
  revokeNow?: boolean;
  actor: Actor;
}

export interface DnsHandOff {
  sentAt: string;
  /** Records asked for, by name; the hand-off is done when DNS shows them. */
  add: Array<{ name: string; value: string }>;
  remove: Array<{ name: string; value: string }>;
}

export interface RollbackRequest {
  requestedAt: string;
  actor: Actor;
}

/**
 * Write-ahead intent: saved to the state store before a side effect that creates something
 * (a key in the vault, a record in DNS, SES pointed at a selector), cleared when the effect
 * is recorded. A pass that finds one knows the previous pass died mid-way, and what it was
 * doing: a key generated under `selector` is taken in rather than left in the vault unnamed.
 */
export interface Intent {
  kind: 'generate-key' | 'publish' | 'ses-put' | 'ses-create' | 'adopt';
  at: string;
  /** The selectors the effect concerns. */
  selectors: string[];
  region?: string;
}

/** One region of a switch: when the put was accepted, and when SES was first seen signing. */
export interface SwitchRegion {
  putAt: string;
  /** The first pass that saw SES SUCCESS on the selector (the gap's upper bound is set by how often byodkim looked). */
  successSeenAt?: string;
  /** SES's own LastSuccessTimestamp at that moment, when it is after the put. */
  sesVerifiedAt?: string;
  /**
   * When the first canary SES signed with the new selector was sent (canary.ts): the gap
   * measured from real mail, at most one canary interval late.
   */
  canarySignedAt?: string;
}

/**
 * The last switch: every put restarts SES's verification, so from the put until SES's
 * first successful check mail most likely leaves without the domain's signature
 * (SES-REALITY.md §2). Measured per region for every switch.
 */
export interface SwitchRecord {
  selector: string;
  regions: Record<string, SwitchRegion>;
}

/** What SES said at the last read, per region: SES is read only when a read can change a decision. */
export interface SesSeen {
  at: string;
  regions: Record<string, { status?: string; selector?: string; signingEnabled?: boolean; exists: boolean }>;
}

/** A canary judged: what real mail showed, and how it compared with the state. */
export interface CanaryJudged {
  id: string;
  sentAt: string;
  arrivedAt?: string;
  /** A signature of the domain verified. */
  signed: boolean;
  /** `s=` of the domain's signature, if there was one. */
  selector?: string;
  dmarcPass: boolean;
  pass: boolean;
  /** The first failing check of the verdict. */
  failing?: string;
  expectation: 'expected' | 'gap' | 'unexpected-selector' | 'unsigned';
}

/** The signing canary, per region: what was sent, what is in flight, what real mail last showed. */
export interface CanaryRegion {
  lastSentAt?: string;
  /** Sent and not judged yet. */
  pending?: Array<{ id: string; sentAt: string }>;
  /** The last canary signed by the domain with a verifying signature: the selector real mail was signed with. */
  lastSigned?: { selector: string; sentAt: string };
  lastJudged?: CanaryJudged;
}

export interface CanaryState {
  regions: Record<string, CanaryRegion>;
  /** Ids judged recently, so a canary kept in the inbox (retention) is judged once. */
  judged?: string[];
}

export interface DomainState {
  schema: 1;
  domain: string;
  keys: KeyEntry[];
  intent?: Intent;
  lastSwitch?: SwitchRecord;
  sesSeen?: SesSeen;
  canary?: CanaryState;
  /** Alarms raised and not yet cleared, by `<code>@<region>`: raised once, notified once. */
  alarms?: Record<string, string>;
  rotation?: RotationRequest;
  rollback?: RollbackRequest;
  handOff?: DnsHandOff;
  /** Set by `adopt --from-easy-dkim`: SES may be moved off Easy DKIM once a key is verified. */
  easyDkimTakeover?: boolean;
  history: HistoryEntry[];
}

/** Old history entries beyond this are dropped so a state record stays small (Secrets Manager caps at 64 KiB). */
export const HISTORY_LIMIT = 200;

/** The one way history grows: appended, oldest dropped beyond the limit. */
export function withHistory(state: DomainState, ...entries: HistoryEntry[]): DomainState {
  if (entries.length === 0) return state;
  return { ...state, history: [...state.history, ...entries].slice(-HISTORY_LIMIT) };
}

export function emptyDomainState(domain: string): DomainState {
  return { schema: 1, domain, keys: [], history: [] };
}
