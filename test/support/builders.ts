/**
 * Small builders of the core's inputs (changesets' fake-state builders are the model): a
 * state, a key, an observation, a spec. Each fills what a case does not care about with
 * values that make no rule fire, so a table row names only what matters to it.
 */
import type { CanaryObservation, CanaryReading, CanarySpec, MailVerdict } from '../../src/domain/canary.js';
import type { DomainSpec, Plan, Step } from '../../src/domain/lifecycle/index.js';
import { decide } from '../../src/domain/lifecycle/index.js';
import type {
  NameserverOutcome,
  Observation,
  ProbeResult,
  SesDkimView,
  VaultObservation,
} from '../../src/domain/observation.js';
import { type Policy, policySchema } from '../../src/domain/policy.js';
import { buildDkimRecordValue } from '../../src/domain/record.js';
import type { DomainState, KeyEntry, KeyStatus } from '../../src/domain/state.js';

export const NOW = new Date('2027-01-01T00:00:00Z');
export const DOMAIN = 'example.com';
export const REGIONS = ['us-east-1', 'ap-northeast-1'] as const;
const DAY = 86_400_000;

export function daysAgo(days: number, from: Date = NOW): string {
  return new Date(from.getTime() - days * DAY).toISOString();
}

/** A distinct fake public key per selector (the core compares, never parses, in these rules). */
export function publicKeyOf(selector: string): string {
  return `MIIBpub${Buffer.from(selector).toString('base64').replace(/=/g, '')}`;
}

export function aKey(selector: string, status: KeyStatus, extra: Partial<KeyEntry> = {}): KeyEntry {
  return {
    selector,
    bits: 2048,
    publicKey: publicKeyOf(selector),
    vaultRef: `vault (${selector})`,
    origin: 'generated',
    createdAt: daysAgo(100),
    notAfter: daysAgo(-265),
    status,
    statusSince: daysAgo(100),
    ...extra,
  };
}

export function aState(keys: KeyEntry[], extra: Partial<DomainState> = {}): DomainState {
  return { schema: 1, domain: DOMAIN, keys, history: [], ...extra };
}

export function aSpec(
  extra: Partial<Omit<DomainSpec, 'policy'>> & { policy?: Partial<Policy> } = {},
): DomainSpec {
  const { policy, ...rest } = extra;
  return {
    domain: DOMAIN,
    regions: [...REGIONS],
    policy: policySchema.parse({ verifyChecks: 2, renewalSpreadDays: 0, ...policy }),
    dnsMode: 'automatic',
    ttl: 300,
    createIdentity: false,
    selectorPrefix: 'mail',
    ...rest,
  };
}

/** SES in one region holding `selector` (EXTERNAL) with `status`, signing on. */
export function sesOn(
  selector: string | undefined,
  status: SesDkimView['status'] = 'SUCCESS',
  extra: Partial<SesDkimView> = {},
): SesDkimView {
  return {
    identity: DOMAIN,
    region: 'us-east-1',
    exists: true,
    ...(selector ? { origin: 'EXTERNAL', tokens: [selector] } : { tokens: [] }),
    status,
    signingEnabled: true,
    ...extra,
  };
}

/** Every nameserver (ns1, ns2) answering `outcome` for the selector, or per nameserver. */
export function dnsFor(
  selector: string,
  outcome: NameserverOutcome | readonly [NameserverOutcome, NameserverOutcome],
): ProbeResult {
  const outcomes: readonly NameserverOutcome[] = typeof outcome === 'string' ? [outcome, outcome] : outcome;
  return {
    name: `${selector}._domainkey.${DOMAIN}`,
    answers: outcomes.map((o, i) => ({
      nameserver: `ns${i + 1}`,
      address: `192.0.2.${i + 1}`,
      outcome: o,
      served: o === 'match' ? [buildDkimRecordValue(publicKeyOf(selector))] : [],
    })),
  };
}

export interface ObservationInput {
  now?: Date;
  /** Per region: a view, or an error text (SES unreadable). Regions not named: SES on `sesDefault`. */
  ses?: Partial<Record<string, SesDkimView | string>>;
  /** What every region shows when `ses` does not name it. */
  sesDefault?: SesDkimView;
  /** Per selector: the outcome on every nameserver (or per nameserver). */
  dns?: Record<string, NameserverOutcome | readonly [NameserverOutcome, NameserverOutcome]>;
  vault?: VaultObservation;
  /** What the canary inbox held, judged. */
  canary?: CanaryObservation;
}

/** The canary settings of a spec: daily, every 5 minutes during a switch, deleted once judged. */
export function aCanarySpec(extra: Partial<CanarySpec> = {}): CanarySpec {
  return {
    from: `byodkim-canary@${DOMAIN}`,
    to: 'canary@inbox.example.net',
    intervalMs: 24 * 3_600_000,
    switchIntervalMs: 5 * 60_000,
    retentionMs: 0,
    ...extra,
  };
}

/**
 * A canary found in the inbox: sent from `region` at `sentAt`, signed by the domain with
 * `selector` (verifying) or not signed at all (`undefined`).
 */
export function aCanary(
  region: string,
  sentAt: string,
  selector: string | undefined,
  extra: Partial<MailVerdict> & { id?: string; arrivedAt?: string } = {},
): CanaryReading {
  const { id, arrivedAt, ...verdict } = extra;
  const signed = selector !== undefined;
  return {
    tag: { id: id ?? `c-${Date.parse(sentAt).toString(36)}-${region}`, domain: DOMAIN, region, sentAt },
    ref: `inbox/${id ?? sentAt}-${region}`,
    arrivedAt: arrivedAt ?? new Date(Date.parse(sentAt) + 3_000).toISOString(),
    verdict: {
      pass: signed,
      signed,
      ...(selector ? { selector } : {}),
      dmarc: { result: signed ? 'pass' : 'fail', alignedBy: signed ? ['dkim'] : [] },
      spf: { result: 'pass', domain: `${region}.amazonses.com` },
      signatures: selector ? [{ domain: DOMAIN, selector, result: 'pass' }] : [],
      checks: [],
      ...(signed ? {} : { failing: 'dkim-domain' as const }),
      ...verdict,
    },
  };
}

export function anObservation(
  input: ObservationInput = {},
  regions: readonly string[] = REGIONS,
): Observation {
  const ses: Observation['ses'] = Object.fromEntries(
    regions.map((region) => {
      const given = input.ses?.[region] ?? input.sesDefault ?? sesOn(undefined, undefined, { exists: false });
      return [
        region,
        typeof given === 'string' ? { ok: false, error: given } : { ok: true, view: { ...given, region } },
      ];
    }),
  );
  const dns = Object.fromEntries(
    Object.entries(input.dns ?? {}).map(([selector, outcome]) => [selector, dnsFor(selector, outcome)]),
  );
  return {
    now: input.now ?? NOW,
    ses,
    dns,
    ...(input.vault ? { vault: input.vault } : {}),
    ...(input.canary ? { canary: input.canary } : {}),
  };
}

/** A vault listing with the state's keys in it (and nothing else unless given). */
export function vaultOf(state: DomainState, orphans: VaultObservation['orphans'] = []): VaultObservation {
  return { selectors: [...state.keys.map((k) => k.selector), ...orphans.map((o) => o.selector)], orphans };
}

/**
 * decide on a built observation. The bookkeeping step that remembers what SES said
 * (`ses-seen`, present whenever SES was read) is left out so tables list only the steps
 * that act; reads.test.ts covers it.
 */
export function plan(state: DomainState, input: ObservationInput = {}, spec: DomainSpec = aSpec()): Plan {
  const p = decide(state, anObservation({ vault: vaultOf(state), ...input }, spec.regions), spec);
  return { ...p, steps: p.steps.filter((s) => s.kind !== 'ses-seen') };
}

/** The steps of a plan as `kind[:selector][@region]` strings, easy to read in a table. */
export function stepsOf(p: Plan): string[] {
  return p.steps.map((s: Step) => {
    const selector = 'selector' in s && s.selector ? `:${s.selector}` : '';
    const region = 'region' in s ? `@${s.region}` : '';
    const to = s.kind === 'transition' ? `→${s.to}` : '';
    const changes =
      s.kind === 'publish' ? `(${s.changes.map((c) => `${c.action} ${c.selector}`).join(', ')})` : '';
    return `${s.kind}${selector}${to}${region}${changes}`;
  });
}
