/**
 * The plan as data: everything one pass will do for one domain, chosen by decide and
 * carried out, step by step, by the engine's interpreter. A step names all it needs (the
 * new key's selector, size and validity; the exact records to change), so nothing after
 * decide chooses anything.
 */
import type { CanaryExpectation, CanarySpec } from '../canary.js';
import type { Delegation } from '../delegation.js';
import type { KeyBits } from '../key.js';
import type { Policy } from '../policy.js';
import type { KeyEntry, KeyStatus, RollbackRequest, RotationRequest, SesSeen } from '../state.js';
import type { NextEvent, Phase, StepKind } from '../vocabulary.js';

/** The core's view of one managed domain: what decide needs to know of its configuration. */
export interface DomainSpec {
  domain: string;
  regions: readonly string[];
  policy: Policy;
  /** 'automatic' publishers change DNS themselves; 'manual' hands changes to people. */
  dnsMode: 'automatic' | 'manual';
  ttl: number;
  createIdentity: boolean;
  selectorPrefix: string;
  /** Delegated DKIM zone: records live at `<selector>.<zone>`, reached through the mail domain's CNAMEs. */
  delegation?: Delegation;
  /** The signing canary (config `canary`): real mail through SES, read back and judged. */
  canary?: CanarySpec;
}

/**
 * One record change as decide plans it. The TXT value is named, not spelled out: `key` is
 * the record of the key the state holds under `selector` (whose public half may only be
 * known once the key is generated earlier in the same pass), `revoked` the empty `p=`.
 */
export interface PlannedDnsChange {
  action: 'upsert' | 'delete';
  record: 'key' | 'revoked';
  /** Fully qualified, no trailing dot. */
  name: string;
  selector: string;
  ttl: number;
  reason: string;
  /** For removals handed to a DNS team: the earliest moment removal is safe. */
  notBefore?: string;
}

interface StepBase {
  /** Stable machine-readable reason (vocabulary.ts), e.g. `RenewalDue`. */
  reason: string;
  message: string;
  phase: Phase;
}

export type Step = StepBase &
  (
    | { kind: 'generate-key'; selector: string; bits: KeyBits; notAfter: string }
    | {
        kind: 'take-in-key';
        selector: string;
        publicKey: string;
        bits: KeyBits;
        vaultRef: string;
        status: 'staged' | 'failed' | 'active';
        createdAt: string;
        notAfter: string;
        retiringSince?: string;
      }
    | { kind: 'publish'; changes: PlannedDnsChange[] }
    | {
        kind: 'set-streak';
        selector: string;
        streak: number;
        /** When the check that counted saw the key everywhere (absent: the count starts again). */
        seenAt?: string;
      }
    | {
        kind: 'transition';
        selector: string;
        to: KeyStatus;
        set?: Partial<KeyEntry>;
        /** Fields the transition clears. */
        unset?: Array<keyof KeyEntry>;
      }
    | { kind: 'ses-put'; region: string; selector: string }
    | { kind: 'ses-create'; region: string; selector: string }
    | { kind: 'ses-enable'; region: string }
    | {
        kind: 'signing-seen';
        region: string;
        selector: string;
        /** SES's LastSuccessTimestamp, when after the put. */
        sesVerifiedAt?: string;
      }
    | { kind: 'ses-seen'; regions: SesSeen['regions'] }
    | { kind: 'raise-alarm'; code: string; region?: string; selector?: string }
    | { kind: 'clear-alarm'; code: string; region?: string }
    | { kind: 'destroy-key'; selector: string }
    | { kind: 'send-canary'; region: string; id: string }
    | {
        kind: 'canary-judged';
        region: string;
        id: string;
        sentAt: string;
        arrivedAt?: string;
        signed: boolean;
        /** `s=` of the domain's signature; absent when the domain did not sign. */
        selector?: string;
        dmarcPass: boolean;
        pass: boolean;
        failing?: string;
        expectation: CanaryExpectation;
        /** The first canary signed with the switch's selector after the put in this region. */
        closesGap?: boolean;
      }
    | { kind: 'canary-lost'; region: string; id: string }
    | { kind: 'discard-canary'; id: string; ref: string }
    | { kind: 'hand-off-done' }
    | { kind: 'clear-request'; which: 'rotation' | 'rollback' }
    | { kind: 'clear-intent' }
    | { kind: 'notify'; notification: 'rotated' | 'failure'; selector?: string }
    | {
        kind: 'request';
        /** The operator's request, recorded for the next pass to carry out. */
        rotation?: RotationRequest;
        rollback?: RollbackRequest;
        selector?: string;
      }
    | {
        kind: 'adopt';
        /** Absent: SES uses Easy DKIM and byodkim takes it over with a key of its own. */
        key?: {
          selector: string;
          publicKey: string;
          bits: KeyBits;
          createdAt: string;
          notAfter: string;
          /** Where the private key is: already in the vault, to be stored from a source, or not found. */
          source: 'vault' | 'key-file' | 'seed' | 'none';
          vaultRef: string;
          verifyStreak: number;
        };
        /** Set when the private key was not found: rotate away from the unknown key. */
        rotation?: RotationRequest;
      }
  );

export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

export interface Wait {
  reason: string;
  message: string;
  /** Waiting on something byodkim does not control (DNS team, DNS propagation, SES). */
  outside: boolean;
  region?: string;
  selector?: string;
}

export interface Finding {
  code: string;
  message: string;
  region?: string;
  selector?: string;
}

export interface ScheduledUse {
  selector: string;
  status: KeyStatus;
  at: string;
  what: string;
}

export interface Plan {
  domain: string;
  steps: Step[];
  waits: Wait[];
  warnings: Finding[];
  /** What happens next when nothing is due now. */
  next?: NextEvent;
  /** When each future (standby) key is expected to be used. */
  schedule?: ScheduledUse[];
}
