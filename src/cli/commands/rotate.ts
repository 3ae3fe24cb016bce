import type { Command } from 'commander';
import type { Policy } from '../../domain/policy.js';
import type { DomainState } from '../../domain/state.js';
import { emptyDomainState } from '../../domain/state.js';
import { applyDomain } from '../../engine/reconcile.js';
import { requestRollback, requestRotation } from '../../engine/requests.js';
import { cliActor, cliClock, type GlobalOptions } from '../context.js';
import { type CliEngine, cliEngine, exitCodeOf } from '../engine-context.js';
import { printJson } from '../render.js';

const LEASE_MS = 60_000;

/** Records the request under the domain's lease, then runs one pass for the domain. */
async function requestThenApply(
  engine: CliEngine,
  global: GlobalOptions,
  change: (state: DomainState, now: Date, policy: Policy) => DomainState,
): Promise<number> {
  const { deps, domains } = engine;
  const domain = domains[0];
  if (!domain) return 2;
  const now = cliClock(global).now();
  const lease = await deps.state.acquireLease(domain.domain, `${deps.owner}:request`, LEASE_MS);
  try {
    const loaded = await deps.state.load(domain.domain);
    const next = change(loaded?.value ?? emptyDomainState(domain.domain), now, domain.policy);
    await deps.state.save(next, loaded?.version);
  } finally {
    await lease.release();
  }
  const result = await applyDomain(domain, deps);
  if (global.output === 'json')
    printJson({
      domain: result.domain,
      outcome: result.outcome,
      errors: result.errors,
      steps: result.plan?.steps ?? [],
      waits: result.plan?.waits ?? [],
    });
  return exitCodeOf([result]);
}

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  return requestThenApply(await cliEngine(global, options.domain), global, (state, now, policy) =>
    requestRotation(state, {
      emergency: options.emergency === true,
      revokeNow: options.revokeNow === true,
      now,
      actor: cliActor(),
      policy,
    }),
  );
}

export async function runRollback(options: Record<string, unknown>, global: GlobalOptions): Promise<number> {
  return requestThenApply(await cliEngine(global, options.domain), global, (state, now) =>
    requestRollback(state, { now, actor: cliActor() }),
  );
}
