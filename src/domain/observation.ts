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
}

export type SesObservation = { ok: true; view: SesDkimView } | { ok: false; error: string };

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
  /** By selector: what the authoritative nameservers serve at its record name. */
  dns: Readonly<Record<string, ProbeResult>>;
  /** The vault's view of this domain; absent when the pass did not list the vault. */
  vault?: VaultObservation;
  /** Canaries found in the inbox and judged; absent when the domain has no canary. */
  canary?: CanaryObservation;
}
