import type { ResolvedDomain } from '../config/load.js';
import { emptyDomainState } from '../domain/state.js';
import { applyDomain, type DomainResult, type EngineDeps } from './reconcile.js';
import { requestRollback, requestRotation } from './requests.js';

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
  const lease = await deps.state.acquireLease(domain.domain, `${deps.owner}:request`, REQUEST_LEASE_MS);
  try {
    const loaded = await deps.state.load(domain.domain);
    const state = loaded?.value ?? emptyDomainState(domain.domain);
    const next =
      request.kind === 'rotate'
        ? requestRotation(state, {
            emergency: request.emergency,
            revokeNow: request.revokeNow,
            now,
            actor: deps.actor,
            policy: domain.policy,
          })
        : requestRollback(state, { now, actor: deps.actor });
    await deps.state.save(next, loaded?.version);
  } finally {
    await lease.release();
  }
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
