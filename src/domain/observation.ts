/**
 * What gather reads of the world for one domain, as plain data: the core decides from it
 * and never reads the world itself. The ports (src/ports.ts) return these shapes.
 */
import type { CanaryObservation } from './canary.js';
import type { KeyBits } from './key.js';

export type NameserverOutcome =
  | 'match'
  | 'missing'
  | 'other-key'
  | 'revoked'
  | 'invalid'
  | 'servfail'
  | 'refused'
  | 'timeout'
  | 'error';

export interface NameserverAnswer {
  /** Nameserver host name (or the address when configured by address). */
  nameserver: string;
  address: string;
  outcome: NameserverOutcome;
  /** The TXT records served at the name, each as its joined character-strings. */
  served: string[];
  /** CNAMEs followed on the way (delegated selectors). */
  cnames?: string[];
  detail?: string;
}

export interface ProbeResult {
  name: string;
  answers: NameserverAnswer[];
}

export type SesDkimStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE' | 'NOT_STARTED';

/** One identity's DKIM as SES reports it in one region. */
export interface SesDkimView {
  identity: string;
  region: string;
  exists: boolean;
  origin?: 'EXTERNAL' | 'AWS_SES' | 'AWS_SES_AF_SOUTH_1' | string;
  status?: SesDkimStatus;
  signingEnabled?: boolean;
  /** For BYODKIM: [selector] (or [] — the BYODKIM guide's own example). For Easy DKIM: three tokens. */
  tokens: string[];
  verifiedForSending?: boolean;
  verificationStatus?: string;
  verificationError?: string;
  lastCheckedAt?: string;
  lastSuccessAt?: string;
  /** Custom MAIL FROM domain, when set: with DMARC `aspf=r` it keeps DMARC passing through a switch. */
  mailFromDomain?: string;
  /** PENDING | SUCCESS | FAILED | TEMPORARY_FAILURE of the MAIL FROM domain's MX/SPF. */
  mailFromStatus?: string;
  /**
   * USE_DEFAULT_VALUE | REJECT_MESSAGE: what SES does while the MAIL FROM is not SUCCESS
   * (send with its own amazonses.com MAIL FROM, or refuse to send).
   */
  mailFromBehaviorOnMxFailure?: string;
}

/**
 * How urgent an SES call is, for the client-side budget (SES allows about one request per
 * second per region): `change` (puts, creates, enables), `transition` (reads of identities in
 * transition or with an anomaly), `health` (the scheduled health read, served last).
 */
export type SesCallPriority = 'change' | 'transition' | 'health';

/**
 * One identity's DKIM health as SES v1 `GetIdentityDkimAttributes` tells it (up to 100
 * identities per call): enabled and status, never the signing origin, and tokens only when
 * SES gives them (for a BYODKIM identity that is undocumented). It can say "healthy", never
 * which selector SES holds.
 */
export interface SesHealthView {
  identity: string;
  region: string;
  /** False when SES left the identity out of its answer (it does not exist there). */
  exists: boolean;
  status?: SesDkimStatus;
  signingEnabled?: boolean;
  /** As SES returned them: absent, empty, a selector, or Easy DKIM's three tokens. */
  tokens?: string[];
}

export type SesObservation =
  | { ok: true; view: SesDkimView }
  /** `overBudget`: throttled, or deferred by the client's SES budget: read again at the next pass. */
  | { ok: false; error: string; overBudget?: boolean };

/** A key in the vault that no state entry names: what gather could read of it. */
export type VaultOrphan =
  | { selector: string; ok: true; publicKey: string; bits: KeyBits; vaultRef: string }
  | { selector: string; ok: false; error: string };

export interface VaultObservation {
  /** Every selector with a key in the vault for this domain. */
  selectors: string[];
  /** The vault keys the state does not name, read for their public half (never the private key). */
  orphans: VaultOrphan[];
}

export interface Observation {
  now: Date;
  /** By region, when SES was read in this pass. */
  ses: Readonly<Record<string, SesObservation>>;
  /** Set when SES was not read in this pass (nothing due): why. Nothing that needs SES is decided then. */
  sesNotRead?: string;
  /**
   * The batched health read (SES v1), when it was the pass's only read and found every region
   * healthy; `sesNotRead` is then set too, since it decides no selector.
   */
  sesHealth?: Readonly<Record<string, SesHealthView>>;
  /** By selector: what the authoritative nameservers serve at its record name. */
  dns: Readonly<Record<string, ProbeResult>>;
  /** The vault's view of this domain; absent when the pass did not list the vault. */
  vault?: VaultObservation;
  /** Why the vault could not be listed, when `vault` is absent because of it. */
  vaultError?: string;
  /** Canaries found in the inbox and judged; absent when the domain has no canary. */
  canary?: CanaryObservation;
}
