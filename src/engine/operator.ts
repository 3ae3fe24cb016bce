import type { KeyBits } from '../domain/key.js';
import type { DomainSpec } from '../domain/lifecycle/index.js';
import { generateOneKey, type Plan, type Step, Working } from '../domain/lifecycle/index.js';
import type { KeyEntry } from '../domain/state.js';
import { ByodkimError } from '../errors.js';
import { observeVault } from './gather.js';
import { runPass } from './pass.js';
import { applyDomain, type DomainResult, type EngineDeps } from './reconcile.js';
import { requestRollback, requestRotation } from './requests.js';

/**
 * Operator requests as every front end (CLI, Lambda) carries them out: the request is
 * recorded in the domain's state by a pass of its own (lease, plan, interpreter, audit
 * trail), then one pass runs for the domain, so the request goes through the same
 * decide/act path as scheduled work. A request that cannot be honoured is refused
 * (InputError) before anything is saved.
 */

export type OperatorRequest =
  | { kind: 'rotate'; emergency: boolean; revokeNow: boolean }
  | { kind: 'rollback' };

function planOf(domain: string, steps: Step[]): Plan {
  return { domain, steps, waits: [], warnings: [] };
}

/**
 * Records `request` in the domain's state.
 *
 * @throws {@link InputError} when the request cannot be honoured (nothing saved),
 *   {@link LockedError} when another run holds the domain.
 * @example
 * ```ts
 * await recordRequest(domain, deps, { kind: 'rotate', emergency: false, revokeNow: false });
 * ```
 */
export async function recordRequest(
  domain: DomainSpec,
  deps: EngineDeps,
  request: OperatorRequest,
): Promise<void> {
  await runPass(domain.domain, deps, {
    purpose: 'request',
    planFor: async (state, now) => ({
      plan: planOf(domain.domain, [
        request.kind === 'rotate'
          ? requestRotation(state, {
              emergency: request.emergency,
              revokeNow: request.revokeNow,
              now,
              actor: deps.actor,
              policy: domain.policy,
            })
          : requestRollback(state, { now, actor: deps.actor }),
      ]),
    }),
  });
}

/** Phase 3 by hand (`keygen`): the next key, stored and read back, named in the state as staged. */
export async function generateKeyNow(
  domain: DomainSpec,
  deps: EngineDeps,
  options: { bits?: KeyBits; reason: string },
): Promise<KeyEntry> {
  const pass = await runPass(domain.domain, deps, {
    purpose: 'keygen',
    planFor: async (state, now) => {
      const vault = await observeVault(domain.domain, state, deps.vault);
      if ('unlisted' in vault) {
        throw new ByodkimError(
          'VAULT_UNLISTABLE',
          `${domain.domain}: the vault ${deps.vault.description} cannot be listed, so a new key cannot be named safely: ${vault.unlisted}`,
          { context: { domain: domain.domain } },
        );
      }
      const w = new Working(state, { now, ses: {}, dns: {}, vault }, domain);
      if (!generateOneKey(w, options.bits ?? domain.policy.keyBits, options.reason)) {
        throw new ByodkimError(
          'SELECTOR_RING_BUSY',
          `${domain.domain}: every delegated selector name is in use or cooling down`,
          { context: { domain: domain.domain } },
        );
      }
      return { plan: planOf(domain.domain, w.steps) };
    },
  });
  const failed = pass.steps.find((s) => s.status === 'failed');
  if (failed)
    throw new ByodkimError('KEYGEN_FAILED', `${domain.domain}: ${failed.error}`, {
      context: { domain: domain.domain },
    });
  const selector = pass.steps[0]?.generated?.selector;
  const key = pass.state.keys.find((k) => k.selector === selector);
  if (!key)
    throw new ByodkimError('KEYGEN_FAILED', `${domain.domain}: no key was generated`, {
      context: { domain: domain.domain },
    });
  return key;
}

/** Records the request, then runs one pass for the domain (as `apply` would). */
export async function requestThenApply(
  domain: DomainSpec,
  deps: EngineDeps,
  request: OperatorRequest,
): Promise<DomainResult> {
  await recordRequest(domain, deps, request);
  return applyDomain(domain, deps);
}
