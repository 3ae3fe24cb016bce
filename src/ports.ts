/**
 * The narrow interfaces between the pure core and the world. Each lists only the calls the
 * engine makes; adapters implement them over files, AWS or DNS, and accept injected
 * clients so tests can point them at emulators.
 */
import type { CanaryMessage, MailVerdict } from './domain/canary.js';
import type { DnsRecordChange } from './domain/dns-change.js';
import type { DkimPrivateKey } from './domain/key.js';
import type { ProbeResult, SesCallPriority, SesDkimView, SesHealthView } from './domain/observation.js';
import type { Actor, DomainState } from './domain/state.js';

export type { DnsRecordChange } from './domain/dns-change.js';
export type {
  NameserverAnswer,
  NameserverOutcome,
  ProbeResult,
  SesCallPriority,
  SesDkimStatus,
  SesDkimView,
  SesHealthView,
} from './domain/observation.js';

export interface Clock {
  now(): Date;
}

/** Private keys, by domain and selector. Never overwrites; never logs key material. */
export interface KeyVault {
  /** Human name for status output, e.g. `file:/var/lib/byodkim/keys` or `s3://bucket/dkim-keys/`. */
  readonly description: string;
  /**
   * Stores a new key, then reads it back and checks it is the same key. Throws
   * AlreadyExistsError if the selector already has a key (the stored one stays intact),
   * ReadBackError if what reads back differs. Returns where it is kept.
   */
  put(domain: string, selector: string, key: DkimPrivateKey): Promise<string>;
  get(domain: string, selector: string): Promise<DkimPrivateKey | undefined>;
  /** Destroys or archives a retired key, as configured. Idempotent. */
  retire(domain: string, selector: string): Promise<void>;
  /** Selectors that have a key for this domain. */
  list(domain: string): Promise<string[]>;
}

export interface Versioned<T> {
  value: T;
  /** Opaque version token for optimistic concurrency. */
  version: string;
}

export interface Lease {
  readonly domain: string;
  readonly owner: string;
  readonly expiresAt: Date;
  renew(): Promise<void>;
  release(): Promise<void>;
}

/** Per-domain state with optimistic concurrency and a lease so one actor changes a domain at a time. */
export interface StateStore {
  readonly description: string;
  load(domain: string): Promise<Versioned<DomainState> | undefined>;
  /**
   * Saves if the stored version is still `expectedVersion` (undefined: must not exist yet).
   * Throws ConflictError otherwise. Returns the new version.
   */
  save(state: DomainState, expectedVersion: string | undefined): Promise<string>;
  listDomains(): Promise<string[]>;
  /** Takes the domain's lease, or throws LockedError if a live lease is held by someone else. */
  acquireLease(domain: string, owner: string, ttlMs: number): Promise<Lease>;
}

export type PublishOutcome = 'applied' | 'handed-off';

/** Puts records into DNS, or hands the change to the people who can. One call = one batch. */
export interface DnsPublisher {
  readonly description: string;
  /** 'automatic' publishers change DNS themselves; 'manual' ones hand the batch off. */
  readonly mode: 'automatic' | 'manual';
  apply(domain: string, changes: readonly DnsRecordChange[]): Promise<PublishOutcome>;
}

/** Asks every authoritative nameserver directly what it serves at a DKIM record name. */
export interface DnsProbe {
  /** `publicKey`: the key that should be served; outcomes are relative to it. */
  probe(name: string, publicKey: string | undefined): Promise<ProbeResult>;
}

/** Options of one SES read: how urgent it is, for the shared API budget (default `transition`). */
export interface SesReadOptions {
  priority?: SesCallPriority;
}

/** What a SES API budget tells and takes from a front end (the Lambda's metrics and deadline). */
export interface ApiBudget {
  /**
   * Since the process started: calls sent, calls SES throttled, calls deferred by a deadline;
   * of every account, or of one (`own` or an `accounts[].name`).
   */
  counts(account?: string): { calls: number; throttled: number; deferred: number };
  /** Calls that cannot be granted within `ms` from now are deferred (not failed); undefined lifts it. */
  deferAfter(ms: number | undefined): void;
}

/**
 * SES, per identity and region. Implementations keep SES's API budget (about one request per
 * second per region): writes go first, then reads in the order of their `priority`.
 */
export interface SigningService {
  describe(identity: string, region: string, options?: SesReadOptions): Promise<SesDkimView>;
  /**
   * The scheduled health read, batched with other domains' reads in the same region where the
   * implementation can (SES v1, 100 identities a call). Absent: health reads use `describe`.
   */
  readHealth?(identity: string, region: string): Promise<SesHealthView>;
  /** The API budget the calls go through, where the implementation keeps one. */
  readonly budget?: ApiBudget;
  /** PutEmailIdentityDkimSigningAttributes with EXTERNAL, the selector and the key. */
  putExternalKey(identity: string, region: string, selector: string, key: DkimPrivateKey): Promise<void>;
  setSigningEnabled(identity: string, region: string, enabled: boolean): Promise<void>;
  /** CreateEmailIdentity, optionally already with BYODKIM attributes. */
  createIdentity(
    identity: string,
    region: string,
    signing?: { selector: string; key: DkimPrivateKey },
  ): Promise<void>;
  listIdentities(region: string): Promise<string[]>;
}

/** Sends mail through SES (v2 SendEmail) in one region: the canary's only way out. */
export interface MailSender {
  send(region: string, message: CanaryMessage): Promise<{ messageId: string }>;
}

/** One message in an inbox, raw (RFC 5322). */
export interface InboxMessage {
  /** Where it is (an S3 key, an IMAP uid), to delete it. */
  ref: string;
  raw: string;
  /** The inbox's own time of arrival (S3 LastModified, IMAP INTERNALDATE), ISO. */
  storedAt?: string;
}

/** Where canaries arrive: SES receiving's S3 bucket, or an IMAP mailbox. */
export interface CanaryInbox {
  readonly description: string;
  /** The canaries of `domain` in the inbox now (found by the canary header). */
  collect(domain: string): Promise<InboxMessage[]>;
  /** Deletes one message. Idempotent. */
  discard(ref: string): Promise<void>;
}

/** Judges one message as a receiver would, against the domain's authoritative nameservers. */
export interface MailJudge {
  judge(raw: string, domain: string, now: Date): Promise<MailVerdict>;
}

/** The canary's three ports, present only when a domain has a canary configured. */
export interface CanaryPorts {
  sender: MailSender;
  inbox: CanaryInbox;
  judge: MailJudge;
}

export type Notification =
  | {
      kind: 'dns-hand-off';
      domain: string;
      add: DnsRecordChange[];
      remove: DnsRecordChange[];
      /** Rendered request files, if the notifier wrote any. */
      files?: string[];
    }
  | { kind: 'failure'; domain: string; reason: string; message: string }
  | { kind: 'rotated'; domain: string; selector: string; message: string };

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

/** Progress and results from the engine; the CLI draws them, the Lambda logs them as JSON. */
export type EngineEvent =
  | { type: 'domain-start'; domain: string }
  | {
      type: 'step';
      domain: string;
      step: string;
      phase: number;
      status: 'start' | 'done' | 'failed' | 'deferred' | 'skipped';
      message: string;
    }
  | { type: 'domain-done'; domain: string; outcome: 'ok' | 'waiting' | 'failed'; message: string }
  | { type: 'warning'; domain?: string; code: string; message: string };

export interface Output {
  event(event: EngineEvent): void;
}

export interface RunContext {
  actor: Actor;
  clock: Clock;
  output: Output;
}
