import type { ResolvedDomain } from '../config/load.js';
import type { KeyBits } from '../domain/key.js';
import { type DomainState, emptyDomainState, type KeyEntry } from '../domain/state.js';
import { keepLeaseAlive } from './keep-lease.js';
import { applyDomain, type DomainResult, type EngineDeps } from './reconcile.js';
import { requestRollback, requestRotation } from './requests.js';
import { stageNewKey } from './stage-key.js';

/**
 * Operator requests as every front end (CLI, Lambda) carries them out: the request is
 * recorded in the domain's state under its lease, then one pass runs for the domain, so
 * the request goes through the same decide/act path, lease and audit trail as scheduled
 * work. A request that cannot be honoured is refused (InputError) before anything is saved.
 */

export type OperatorRequest =
  | { kind: 'rotate'; emergency: boolean; revokeNow: boolean }
  | { kind: 'rollback' };

/** The lease held only while the request is written; the pass then takes its own. */
export const REQUEST_LEASE_MS = 60_000;

/**
 * Records `request` in the domain's state under a short lease of its own.
 *
 * @throws {@link InputError} when the request cannot be honoured (nothing saved),
 *   {@link LockedError} when another run holds the domain.
 * @example
 * ```ts
 * await recordRequest(domain, deps, { kind: 'rotate', emergency: false, revokeNow: false });
 * ```
 */
export async function recordRequest(
  domain: ResolvedDomain,
  deps: Pick<EngineDeps, 'state' | 'clock' | 'actor' | 'owner'>,
  request: OperatorRequest,
): Promise<void> {
  const now = deps.clock.now();
  await updateDomainState(domain, deps, 'request', async (state) => ({
    state:
      request.kind === 'rotate'
        ? requestRotation(state, {
            emergency: request.emergency,
            revokeNow: request.revokeNow,
            now,
            actor: deps.actor,
            policy: domain.policy,
          })
        : requestRollback(state, { now, actor: deps.actor }),
    result: undefined,
  }));
}

/**
 * The one way an operator command changes a domain's state outside a pass: under a short
 * lease of its own, load, change, save with a version check. `change` may do I/O (store a
 * key) before it returns the new state; if it throws, nothing is saved.
 */
export async function updateDomainState<T>(
  domain: ResolvedDomain,
  deps: Pick<EngineDeps, 'state' | 'owner'>,
  purpose: string,
  change: (state: DomainState) => Promise<{ state: DomainState; result: T }>,
): Promise<T> {
  const lease = await deps.state.acquireLease(domain.domain, `${deps.owner}:${purpose}`, REQUEST_LEASE_MS);
  // Storing a key in S3 may take longer than the lease (retries up to their timeouts).
  const stopRenewing = keepLeaseAlive(lease, REQUEST_LEASE_MS, () => undefined);
  try {
    const loaded = await deps.state.load(domain.domain);
    const { state, result } = await change(loaded?.value ?? emptyDomainState(domain.domain));
    await deps.state.save(state, loaded?.version);
    return result;
  } finally {
    stopRenewing();
    await lease.release();
  }
}

/** Phase 3 by hand (`keygen`): the next key, stored and read back, named in the state as staged. */
export function generateKeyNow(
  domain: ResolvedDomain,
  deps: Pick<EngineDeps, 'state' | 'owner' | 'vault' | 'clock' | 'actor'>,
  options: { bits?: KeyBits; reason: string },
): Promise<KeyEntry> {
  return updateDomainState(domain, deps, 'keygen', async (state) => {
    const staged = await stageNewKey({
      domain,
      state,
      vault: deps.vault,
      now: deps.clock.now(),
      actor: deps.actor,
      reason: options.reason,
      ...(options.bits ? { bits: options.bits } : {}),
    });
    return { state: staged.state, result: staged.key };
  });
}

/** Records the request, then runs one pass for the domain (as `apply` would). */
export async function requestThenApply(
  domain: ResolvedDomain,
  deps: EngineDeps,
  request: OperatorRequest,
): Promise<DomainResult> {
  await recordRequest(domain, deps, request);
  return applyDomain(domain, deps);
}
