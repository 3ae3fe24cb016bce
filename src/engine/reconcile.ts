import type { ResolvedDomain } from '../config/load.js';
import { MAX_LEASE_MS } from '../domain/lease.js';
import { decide, type Observation, type Plan } from '../domain/lifecycle.js';
import { type Actor, type DomainState, emptyDomainState } from '../domain/state.js';
import { describeError, LockedError } from '../errors.js';
import type {
  Clock,
  DnsProbe,
  DnsPublisher,
  KeyVault,
  Notifier,
  Output,
  SigningService,
  StateStore,
} from '../ports.js';
import { execute } from './execute.js';
import { gather } from './gather.js';
import { keepLeaseAlive } from './keep-lease.js';
import { domainSpec } from './spec.js';

export interface EngineDeps {
  vault: KeyVault;
  state: StateStore;
  signing: SigningService;
  probe: DnsProbe;
  publisherFor(domain: ResolvedDomain): DnsPublisher;
  notifier: Notifier;
  output: Output;
  clock: Clock;
  actor: Actor;
  /** Identifies this process in leases. */
  owner: string;
  leaseTtlMs?: number;
}

export type DomainOutcome = 'ok' | 'waiting' | 'failed' | 'locked';

export interface DomainResult {
  domain: string;
  outcome: DomainOutcome;
  plan?: Plan;
  state?: DomainState;
  /** What gather saw (plan/status only). */
  observation?: Observation;
  errors: string[];
}

const DEFAULT_LEASE_MS = MAX_LEASE_MS;

/**
 * 'waiting' (exit 3) when the domain is not settled and the next move is someone else's:
 * a DNS team, DNS propagation, SES verification. Settled = no request, hand-off, new key
 * or switch in flight (retiring keys in their grace period are settled).
 */
function outcomeOf(plan: Plan, failures: number, state?: DomainState): DomainOutcome {
  if (failures > 0) return 'failed';
  if (plan.waits.some((w) => w.outside)) return 'waiting';
  if (state && !settled(state)) return 'waiting';
  return 'ok';
}

export function settled(state: DomainState): boolean {
  if (state.handOff || state.rotation || state.rollback) return false;
  if (!state.keys.some((k) => k.status === 'active')) return false;
  return !state.keys.some(
    (k) =>
      k.status === 'staged' ||
      k.status === 'published' ||
      (k.status === 'verified' && k.switchedAt) ||
      // Phase 8 is done when the record is seen gone and the key destroyed.
      (k.removalRequestedAt !== undefined && k.destroyedAt === undefined),
  );
}

/** plan: gather + decide, nothing changed. */
export async function planDomain(domain: ResolvedDomain, deps: EngineDeps): Promise<DomainResult> {
  const loaded = await deps.state.load(domain.domain);
  const state = loaded?.value ?? emptyDomainState(domain.domain);
  const spec = domainSpec(domain, deps.publisherFor(domain));
  const now = deps.clock.now();
  const observation = await gather(spec, state, deps, now);
  const plan = decide(state, observation, spec);
  return { domain: domain.domain, outcome: outcomeOf(plan, 0, state), plan, state, observation, errors: [] };
}

/**
 * apply: one pass for one domain under its lease: load → gather → decide → act → save
 * once with a version check. Any error is reported for this domain only.
 */
export async function applyDomain(domain: ResolvedDomain, deps: EngineDeps): Promise<DomainResult> {
  deps.output.event({ type: 'domain-start', domain: domain.domain });
  let lease: Awaited<ReturnType<StateStore['acquireLease']>>;
  const leaseTtlMs = deps.leaseTtlMs ?? DEFAULT_LEASE_MS;
  try {
    lease = await deps.state.acquireLease(domain.domain, deps.owner, leaseTtlMs);
  } catch (error) {
    if (error instanceof LockedError) {
      const message = `another byodkim run holds ${domain.domain}: ${error.message}`;
      deps.output.event({ type: 'domain-done', domain: domain.domain, outcome: 'waiting', message });
      return { domain: domain.domain, outcome: 'locked', errors: [message] };
    }
    throw error;
  }
  const stopRenewing = keepLeaseAlive(lease, leaseTtlMs, (message) =>
    deps.output.event({ type: 'warning', domain: domain.domain, code: 'LeaseLost', message }),
  );
  try {
    const loaded = await deps.state.load(domain.domain);
    const state = loaded?.value ?? emptyDomainState(domain.domain);
    const publisher = deps.publisherFor(domain);
    const spec = domainSpec(domain, publisher);
    const now = deps.clock.now();
    const plan = decide(state, await gather(spec, state, deps, now), spec);
    for (const warning of plan.warnings)
      deps.output.event({
        type: 'warning',
        domain: domain.domain,
        code: warning.code,
        message: warning.message,
      });
    const result = await execute(plan, state, domain, { ...deps, publisher }, { now, actor: deps.actor });
    if (result.changed || !loaded) await deps.state.save(result.state, loaded?.version);
    const outcome = outcomeOf(plan, result.failures.length, result.state);
    const summary =
      result.failures.length > 0
        ? result.failures.map((f) => f.error).join('; ')
        : (plan.waits.find((w) => w.outside)?.message ??
          (plan.steps.length > 0 ? `${plan.steps.length} step(s) done` : 'nothing to do'));
    deps.output.event({
      type: 'domain-done',
      domain: domain.domain,
      outcome: outcome === 'locked' ? 'waiting' : outcome,
      message: summary,
    });
    return {
      domain: domain.domain,
      outcome,
      plan,
      state: result.state,
      errors: result.failures.map((f) => f.error),
    };
  } catch (error) {
    const message = describeError(error);
    deps.output.event({ type: 'domain-done', domain: domain.domain, outcome: 'failed', message });
    return { domain: domain.domain, outcome: 'failed', errors: [message] };
  } finally {
    stopRenewing();
    await lease.release().catch(() => undefined);
  }
}

export interface FleetOptions {
  concurrency?: number;
  /** Stop taking new domains after this moment (Lambda deadline); the rest wait for the next run. */
  deadline?: () => boolean;
}

/** Runs `run` over many domains with bounded concurrency; one failing domain never stops the others. */
export async function forEachDomain(
  domains: readonly ResolvedDomain[],
  run: (domain: ResolvedDomain) => Promise<DomainResult>,
  options: FleetOptions = {},
): Promise<{ results: DomainResult[]; skipped: string[] }> {
  const results: DomainResult[] = [];
  const skipped: string[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const domain = domains[index];
      if (!domain) return;
      if (options.deadline?.()) {
        skipped.push(domain.domain);
        continue;
      }
      try {
        results[index] = await run(domain);
      } catch (error) {
        results[index] = { domain: domain.domain, outcome: 'failed', errors: [describeError(error)] };
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 16, domains.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return { results: results.filter(Boolean), skipped };
}
