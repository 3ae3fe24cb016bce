import type { CanarySpec } from '../domain/canary.js';
import type { Plan } from '../domain/lifecycle/index.js';
import type { Observation } from '../domain/observation.js';
import { type DomainState, emptyDomainState } from '../domain/state.js';
import { Reason } from '../domain/vocabulary.js';
import type { CanaryPorts } from '../ports.js';
import { type ExecutePorts, execute, type StepResult } from './execute.js';
import { keepLeaseAlive } from './keep-lease.js';
import type { EngineDeps } from './reconcile.js';

/** A lease for operator commands: long enough for one command's plan, short if the process dies. */
export const OPERATOR_LEASE_MS = 60_000;

export interface PassOutcome {
  plan: Plan;
  steps: StepResult[];
  state: DomainState;
  observation?: Observation;
}

/**
 * The one way byodkim changes a domain: under the domain's lease, load the state, make a
 * plan (`planFor` may read the world), carry it out with the interpreter — saving before
 * every side effect that creates something — and save the result with a version check.
 * `apply`, `keygen`, `adopt`, `rotate` and `rollback` all go through here.
 *
 * @throws LockedError when another run holds the domain (nothing read or changed).
 */
export async function runPass(
  domain: string,
  deps: EngineDeps,
  options: {
    /** Shown in the lease owner, so a held lock names what holds it. */
    purpose?: string;
    leaseTtlMs?: number;
    /** Where `adopt` stores a key it found outside the vault. */
    keySource?: ExecutePorts['keySource'];
    /** The domain's canary, so the interpreter can send canaries and empty the inbox. */
    canary?: { spec: CanarySpec; ports: CanaryPorts };
    planFor(state: DomainState, now: Date): Promise<{ plan: Plan; observation?: Observation }>;
  },
): Promise<PassOutcome> {
  const owner = options.purpose ? `${deps.owner}:${options.purpose}` : deps.owner;
  const leaseTtlMs = options.leaseTtlMs ?? OPERATOR_LEASE_MS;
  const lease = await deps.state.acquireLease(domain, owner, leaseTtlMs);
  // A pass may run longer than its lease (slow SES, retries up to their timeouts): renew it.
  const stopRenewing = keepLeaseAlive(lease, leaseTtlMs, (message) =>
    deps.output.event({ type: 'warning', domain, code: Reason.LeaseLost, message }),
  );
  try {
    const loaded = await deps.state.load(domain);
    const state = loaded?.value ?? emptyDomainState(domain);
    let version = loaded?.version;
    const save = async (next: DomainState) => {
      version = await deps.state.save(next, version);
    };
    const now = deps.clock.now();
    const { plan, observation } = await options.planFor(state, now);
    for (const warning of plan.warnings)
      deps.output.event({ type: 'warning', domain, code: warning.code, message: warning.message });
    const result = await execute(
      plan,
      state,
      { domain, ...(options.canary ? { canary: options.canary.spec } : {}) },
      {
        ...deps,
        publisher: deps.publisherFor(domain),
        ...(options.keySource ? { keySource: options.keySource } : {}),
        ...(options.canary ? { canary: options.canary.ports } : {}),
      },
      { now, clock: deps.clock, actor: deps.actor, checkpoint: save },
    );
    if (result.changed || version === undefined) await save(result.state);
    return { plan, steps: result.steps, state: result.state, ...(observation ? { observation } : {}) };
  } finally {
    stopRenewing();
    await lease.release().catch(() => undefined);
  }
}
