/**
 * Every knob of the SES emulator with its default (SPEC.md §11). Defaults are the realistic
 * service; `INSTANT_UNLIMITED` is the emulator as it was before the API budget and the SES
 * clock, for harnesses of a product that does not pace itself yet.
 */
import type { EmulatorClock } from '../clock.js';
import type { InboundRoute } from './delivery.js';
import type { Timing } from './schedule.js';

export type RateClock = 'wall' | 'emulator';
export type KeyFormats = 'pkcs1-or-pkcs8' | 'pkcs1-only';
export type UnusableKey = 'fail-verification' | 'reject';
export type ExternalTokens = 'selector' | 'empty';
export type V1ExternalDkimTokens = 'omit' | 'empty' | 'selector';

export interface SesEmulatorOptions {
  host?: string;
  port?: number;
  dns: { host: string; port: number };
  clock?: EmulatorClock;
  /** Timeout of one DNS query, wall clock. Default 1000. */
  dnsTimeoutMs?: number;

  /** API requests per second per account and region. Default 1; `null` = unlimited. */
  ratePerRegion?: number | null;
  /** Token bucket capacity. Default max(2, rate). */
  burstPerRegion?: number;
  /** What refills the bucket. Default 'wall'. */
  rateClock?: RateClock;
  /** Every N-th throttled answer is ThrottlingException (400) instead of TooManyRequestsException (429). Default 5; 0 = never. */
  throttlingExceptionEvery?: number;
  /** Identities per account and region. Default 10,000 (SES quota). */
  maxIdentitiesPerRegion?: number;

  /** Emulator-clock ms from a put to its first DNS check. Default 5 min. */
  verificationDelayMs?: number;
  /** First step between checks while pending; 0 = check at every look. Default 5 min. */
  pendingCheckIntervalMs?: number;
  /** Multiplier of the step after each check while pending. Default 2. */
  pendingCheckBackoff?: number;
  /** Largest step between checks while pending. Default 4 h. */
  maxPendingCheckIntervalMs?: number;
  /** Interval of rechecks after SUCCESS. Default 1 h. */
  recheckIntervalMs?: number;
  /** Length of the verification window. Default 72 h. */
  failAfterMs?: number;

  /** DER formats of DomainSigningPrivateKey SES can use. Default 'pkcs1-or-pkcs8'. */
  keyFormats?: KeyFormats;
  /** A put with a key SES cannot use: accepted and never verifies, or rejected. Default 'fail-verification'. */
  unusableKey?: UnusableKey;
  /** v2 DkimAttributes.Tokens of a BYODKIM identity. Default 'selector'. */
  externalTokens?: ExternalTokens;
  /** v1 DkimTokens of a BYODKIM identity. Default 'omit'. */
  v1ExternalDkimTokens?: V1ExternalDkimTokens;
  /** MAIL FROM SUCCESS also needs `v=spf1 ... include:amazonses.com`. Default false. */
  mailFromRequiresSpf?: boolean;

  /** Access key id → account id, checked first. */
  accountsByAccessKey?: Readonly<Record<string, string>>;
  /** STS endpoint (moto) asked GetCallerIdentity for access keys not in the map. */
  stsEndpoint?: string;
  /** Account of credentials nobody maps. Default moto's 123456789012. */
  defaultAccount?: string;

  /** Accounts are in the SES sandbox: recipients must be verified, sandbox sending quota. Default false. */
  sendingSandbox?: boolean;
  /** Messages per second per account and region. Default 14 (sandbox 1). */
  maxSendRate?: number;
  /** Messages per rolling 24 h of the emulator clock per account and region. Default 50,000 (sandbox 200). */
  max24HourSend?: number;
  /** Emulator-clock ms from an accepted SendEmail to its delivery. Default 3,000. */
  deliveryDelayMs?: number;
  /** Where mail for a recipient domain is delivered (S3 as SES receiving stores it, SMTP, LMTP). */
  inbound?: readonly InboundRoute[];
}

/** The emulator before the API budget and the SES clock (SPEC.md §11). */
export const INSTANT_UNLIMITED = {
  ratePerRegion: null,
  verificationDelayMs: 0,
  pendingCheckIntervalMs: 0,
  unusableKey: 'reject',
} as const satisfies Partial<SesEmulatorOptions>;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** moto's DEFAULT_ACCOUNT_ID. */
export const MOTO_DEFAULT_ACCOUNT = '123456789012';

export interface BudgetSettings {
  readonly ratePerSecond: number | null;
  readonly burst: number | undefined;
  readonly clock: RateClock;
}

export interface ResolvedOptions {
  readonly dnsTimeoutMs: number;
  readonly budget: BudgetSettings;
  readonly throttlingExceptionEvery: number;
  readonly maxIdentitiesPerRegion: number;
  readonly timing: Timing;
  readonly keyFormats: KeyFormats;
  readonly unusableKey: UnusableKey;
  readonly externalTokens: ExternalTokens;
  readonly v1ExternalDkimTokens: V1ExternalDkimTokens;
  readonly mailFromRequiresSpf: boolean;
  readonly accountsByAccessKey: ReadonlyMap<string, string>;
  readonly stsEndpoint: string | undefined;
  readonly defaultAccount: string;
  readonly sending: {
    readonly sandbox: boolean;
    readonly maxSendRate: number;
    readonly max24HourSend: number;
    readonly deliveryDelayMs: number;
    readonly inbound: readonly InboundRoute[];
  };
}

/** Fills in the defaults; a bad value throws a RangeError naming the option. */
export function resolveOptions(opts: SesEmulatorOptions): ResolvedOptions {
  const rate = opts.ratePerRegion === undefined ? 1 : opts.ratePerRegion;
  if (rate !== null) nonNegative(rate, 'ratePerRegion');
  const burst = opts.burstPerRegion;
  if (burst !== undefined) atLeast(burst, 1, 'burstPerRegion');
  const backoff = opts.pendingCheckBackoff ?? 2;
  atLeast(backoff, 1, 'pendingCheckBackoff');
  const throttlingExceptionEvery = opts.throttlingExceptionEvery ?? 5;
  if (!Number.isInteger(throttlingExceptionEvery) || throttlingExceptionEvery < 0) {
    throw new RangeError('throttlingExceptionEvery must be an integer >= 0');
  }
  const maxIdentities = opts.maxIdentitiesPerRegion ?? 10_000;
  if (!Number.isInteger(maxIdentities) || maxIdentities < 0) {
    throw new RangeError('maxIdentitiesPerRegion must be an integer >= 0');
  }
  const accounts = new Map<string, string>();
  for (const [accessKeyId, account] of Object.entries(opts.accountsByAccessKey ?? {})) {
    accounts.set(accessKeyId, accountId(account, `accountsByAccessKey.${accessKeyId}`));
  }
  return {
    dnsTimeoutMs: nonNegative(opts.dnsTimeoutMs ?? 1000, 'dnsTimeoutMs'),
    budget: { ratePerSecond: rate, burst, clock: oneOf(opts.rateClock ?? 'wall', RATE_CLOCKS, 'rateClock') },
    throttlingExceptionEvery,
    maxIdentitiesPerRegion: maxIdentities,
    timing: {
      verificationDelayMs: nonNegative(opts.verificationDelayMs ?? 5 * MINUTE_MS, 'verificationDelayMs'),
      pendingCheckIntervalMs: nonNegative(
        opts.pendingCheckIntervalMs ?? 5 * MINUTE_MS,
        'pendingCheckIntervalMs',
      ),
      pendingCheckBackoff: backoff,
      maxPendingCheckIntervalMs: nonNegative(
        opts.maxPendingCheckIntervalMs ?? 4 * HOUR_MS,
        'maxPendingCheckIntervalMs',
      ),
      recheckIntervalMs: nonNegative(opts.recheckIntervalMs ?? HOUR_MS, 'recheckIntervalMs'),
      failAfterMs: nonNegative(opts.failAfterMs ?? 72 * HOUR_MS, 'failAfterMs'),
    },
    keyFormats: oneOf(opts.keyFormats ?? 'pkcs1-or-pkcs8', KEY_FORMATS, 'keyFormats'),
    unusableKey: oneOf(opts.unusableKey ?? 'fail-verification', UNUSABLE_KEY, 'unusableKey'),
    externalTokens: oneOf(opts.externalTokens ?? 'selector', EXTERNAL_TOKENS, 'externalTokens'),
    v1ExternalDkimTokens: oneOf(
      opts.v1ExternalDkimTokens ?? 'omit',
      V1_EXTERNAL_TOKENS,
      'v1ExternalDkimTokens',
    ),
    mailFromRequiresSpf: opts.mailFromRequiresSpf ?? false,
    accountsByAccessKey: accounts,
    stsEndpoint: opts.stsEndpoint,
    defaultAccount: accountId(opts.defaultAccount ?? MOTO_DEFAULT_ACCOUNT, 'defaultAccount'),
    sending: resolveSending(opts),
  };
}

/** SPEC.md §14: a sandbox account sends 1 message/s and 200 a day; production starts at 14/s and 50,000. */
function resolveSending(opts: SesEmulatorOptions): ResolvedOptions['sending'] {
  const sandbox = opts.sendingSandbox ?? false;
  const maxSendRate = opts.maxSendRate ?? (sandbox ? 1 : 14);
  atLeast(maxSendRate, 0, 'maxSendRate');
  const max24HourSend = opts.max24HourSend ?? (sandbox ? 200 : 50_000);
  if (!Number.isInteger(max24HourSend) || max24HourSend < 0) {
    throw new RangeError('max24HourSend must be an integer >= 0');
  }
  for (const route of opts.inbound ?? []) {
    if (typeof route.domain !== 'string' || route.domain.length === 0) {
      throw new RangeError('inbound[].domain must be a recipient domain');
    }
  }
  return {
    sandbox,
    maxSendRate,
    max24HourSend,
    deliveryDelayMs: nonNegative(opts.deliveryDelayMs ?? 3_000, 'deliveryDelayMs'),
    inbound: [...(opts.inbound ?? [])],
  };
}

export const RATE_CLOCKS: readonly RateClock[] = ['wall', 'emulator'];
export const KEY_FORMATS: readonly KeyFormats[] = ['pkcs1-or-pkcs8', 'pkcs1-only'];
export const UNUSABLE_KEY: readonly UnusableKey[] = ['fail-verification', 'reject'];
export const EXTERNAL_TOKENS: readonly ExternalTokens[] = ['selector', 'empty'];
export const V1_EXTERNAL_TOKENS: readonly V1ExternalDkimTokens[] = ['omit', 'empty', 'selector'];

export function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${name} must be one of ${allowed.join(', ')}; got "${value}"`);
  }
  return value as T;
}

export function nonNegative(value: number, name: string): number {
  return atLeast(value, 0, name);
}

function atLeast(value: number, min: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${name} must be a finite number >= ${min}`);
  }
  return value;
}

function accountId(value: string, name: string): string {
  if (!/^\d{12}$/.test(value)) throw new RangeError(`${name} must be a 12-digit account id; got "${value}"`);
  return value;
}
