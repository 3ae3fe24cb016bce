import { MAX_LEASE_MS } from '../domain/lease.js';
import { type DomainSpec, decide, type Plan } from '../domain/lifecycle/index.js';
import type { Observation } from '../domain/observation.js';
import { type Actor, type DomainState, emptyDomainState } from '../domain/state.js';
import { describeError, LockedError } from '../errors.js';
import type {
  CanaryPorts,
  Clock,
  DnsProbe,
  DnsPublisher,
  KeyVault,
  Notifier,
  Output,
  SigningService,
  StateStore,
} from '../ports.js';
import { DEFAULT_CONCURRENCY } from './concurrency.js';
import type { StepResult } from './execute.js';
import { type GatherOptions, gather } from './gather.js';
import { runPass } from './pass.js';
import { domainSummary } from './report.js';

/**
 * The engine: the adapters one reconcile pass works through. Build it with `buildEngine`
 * (library) or `buildEngineDeps` (front ends); share one across every domain of a pass.
 */
export interface EngineDeps {
  vault: KeyVault;
  state: StateStore;
  signing: SigningService;
  probe: DnsProbe;
  /** The DNS publisher configured for a domain. */
  publisherFor(domain: string): DnsPublisher;
  notifier: Notifier;
  output: Output;
  clock: Clock;
  actor: Actor;
  /** Identifies this process in leases. */
  owner: string;
  /** The signing canary's ports for a domain that has a canary configured. */
  canaryFor?: (domain: string) => CanaryPorts | undefined;
  leaseTtlMs?: number;
}

/**
 * How a domain's pass ended: `ok` settled, `waiting` on something outside byodkim (DNS team,
 * propagation, SES), `failed`, or `locked` (another run holds the domain). The CLI maps them
 * to exit codes 0, 3, 1 and 3.
 */
export type DomainOutcome = 'ok' | 'waiting' | 'failed' | 'locked';

/** One domain's plan or pass: its outcome, the plan decided, the state after, and any errors (no key material). */
export interface DomainResult {
  domain: string;
  outcome: DomainOutcome;
  plan?: Plan;
  /** apply: what happened to each step of the plan, in order. */
  steps?: StepResult[];
  state?: DomainState;
  /** What gather saw. */
  observation?: Observation;
  errors: string[];
  /**
   * apply: work the SES budget had no room for in this pass (a throttled or deferred read or
   * write): due again at the next pass, which should take this domain early.
   */
  deferred?: boolean;
}

const DEFAULT_LEASE_MS = MAX_LEASE_MS;

/**
 * 'waiting' (exit 3) when the domain is not settled and the next move is someone else's:
 * a DNS team, DNS propagation, SES verification. Settled = no request, hand-off, new key
 * or switch in flight (retiring keys in their grace period are settled).
 */
function outcomeOf(plan: Plan, failures: number, state?: DomainState, deferred = false): DomainOutcome {
  if (failures > 0) return 'failed';
  if (deferred) return 'waiting';
  if (plan.waits.some((w) => w.outside)) return 'waiting';
  if (state && !settled(state)) return 'waiting';
  return 'ok';
}

export function settled(state: DomainState): boolean {
  if (state.handOff || state.rotation || state.rollback || state.intent) return false;
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

/**
 * What the next pass would do for one domain, with reasons: reads the state, SES and DNS
 * (gather), then decides. Changes nothing and takes no lease (the CLI's `byodkim plan`).
 *
 * @example
 * ```ts
 * import { buildEngine, loadConfig, planDomain } from 'byodkim';
 *
 * const loaded = await loadConfig('byodkim.config.yaml');
 * const engine = await buildEngine(loaded);
 * const { plan, outcome } = await planDomain(loaded.domains[0], engine);
 * for (const step of plan?.steps ?? []) console.log(step.phase, step.kind, step.reason, step.message);
 * ```
 */
export async function planDomain(
  domain: DomainSpec,
  deps: EngineDeps,
  options: GatherOptions = {},
): Promise<DomainResult> {
  const loaded = await deps.state.load(domain.domain);
  const state = loaded?.value ?? emptyDomainState(domain.domain);
  const now = deps.clock.now();
  const observation = await gather(
    domain,
    state,
    { ...deps, canary: deps.canaryFor?.(domain.domain) },
    now,
    options,
  );
  const plan = decide(state, observation, domain);
  return { domain: domain.domain, outcome: outcomeOf(plan, 0, state), plan, state, observation, errors: [] };
}

/**
 * apply: one pass for one domain under its lease: load → gather → decide → act (runPass).
 * A domain another run holds is reported as locked; any error is reported for this domain
 * only: the result says `failed` and carries the message, nothing is thrown (the CLI's
 * `byodkim apply`).
 *
 * @example
 * ```ts
 * import { applyDomain, buildEngine, findDomain, loadConfig } from 'byodkim';
 *
 * const loaded = await loadConfig('byodkim.config.yaml');
 * const engine = await buildEngine(loaded);
 * const result = await applyDomain(findDomain(loaded, 'example.com', 'domain'), engine);
 * if (result.outcome === 'failed') console.error(result.errors.join('; '));
 * for (const r of result.steps ?? []) console.log(r.status, r.step.kind, r.error ?? r.step.message);
 * ```
 */
export async function applyDomain(domain: DomainSpec, deps: EngineDeps): Promise<DomainResult> {
  deps.output.event({ type: 'domain-start', domain: domain.domain });
  let result: DomainResult;
  try {
    const canary = deps.canaryFor?.(domain.domain);
    const pass = await runPass(domain.domain, deps, {
      leaseTtlMs: deps.leaseTtlMs ?? DEFAULT_LEASE_MS,
      ...(domain.canary && canary ? { canary: { spec: domain.canary, ports: canary } } : {}),
      planFor: async (state, now) => {
        const observation = await gather(domain, state, { ...deps, canary }, now);
        return { plan: decide(state, observation, domain), observation };
      },
    });
    const failures = pass.steps.filter((s) => s.status === 'failed');
    const deferred =
      pass.steps.some((s) => s.status === 'deferred') ||
      Object.values(pass.observation?.ses ?? {}).some((o) => !o.ok && o.overBudget === true);
    result = {
      domain: domain.domain,
      outcome: outcomeOf(pass.plan, failures.length, pass.state, deferred),
      plan: pass.plan,
      steps: pass.steps,
      state: pass.state,
      errors: failures.map((f) => f.error ?? 'failed'),
      ...(deferred ? { deferred } : {}),
    };
  } catch (error) {
    if (error instanceof LockedError) {
      const message = `another byodkim run holds ${domain.domain}: ${error.message}`;
      deps.output.event({ type: 'domain-done', domain: domain.domain, outcome: 'waiting', message });
      return { domain: domain.domain, outcome: 'locked', errors: [message] };
    }
    result = { domain: domain.domain, outcome: 'failed', errors: [describeError(error)] };
  }
  deps.output.event({
    type: 'domain-done',
    domain: domain.domain,
    outcome: result.outcome === 'locked' ? 'waiting' : result.outcome,
    message: domainSummary(result),
  });
  return result;
}

export { DEFAULT_CONCURRENCY };

/** How {@link forEachDomain} runs a fleet. */
export interface FleetOptions {
  /** Domains in flight at once. Default {@link DEFAULT_CONCURRENCY}. */
  concurrency?: number;
  /** Stop taking new domains after this moment (Lambda deadline); the rest wait for the next run. */
  deadline?: () => boolean;
}

/**
 * Runs `run` over many domains with bounded concurrency; one failing domain never stops the
 * others (a throw becomes that domain's `failed` result). Results keep the input order.
 *
 * @example
 * ```ts
 * import { buildEngine, forEachDomain, loadConfig, planDomain } from 'byodkim';
 *
 * const loaded = await loadConfig('byodkim.config.yaml');
 * const engine = await buildEngine(loaded);
 * const { results } = await forEachDomain(loaded.domains, (d) => planDomain(d, engine), { concurrency: 4 });
 * console.log(results.filter((r) => r.outcome === 'waiting').map((r) => r.domain));
 * ```
 */
export async function forEachDomain<D extends DomainSpec>(
  domains: readonly D[],
  run: (domain: D) => Promise<DomainResult>,
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
  const workers = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, domains.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return { results: results.filter(Boolean), skipped };
}
