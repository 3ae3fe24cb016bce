import { previousKeys, type StepOf } from '../domain/lifecycle/index.js';
import type { Policy } from '../domain/policy.js';
import type { Actor, DomainState } from '../domain/state.js';
import { Reason } from '../domain/vocabulary.js';
import { InputError } from '../errors.js';

/**
 * Operator requests (`rotate`, `rollback`) are recorded in the state and carried out by
 * the next pass, so they go through the same decide/act path, lease and audit trail as
 * scheduled work. Requests that cannot be honoured are refused here, before any change.
 */

function inProgress(state: DomainState, policy: Policy): string | undefined {
  const switching = state.keys.find((k) => k.status === 'verified' && k.switchedAt);
  if (switching) return `SES is being switched to ${switching.selector}`;
  if (state.rotation)
    return `a ${state.rotation.kind} rotation was requested at ${state.rotation.requestedAt}`;
  if (policy.standby === 0) {
    const next = state.keys.find(
      (k) => k.status === 'staged' || k.status === 'published' || k.status === 'verified',
    );
    if (next) return `the next key ${next.selector} is ${next.status}`;
  }
  return undefined;
}

/** The step that records a rotation request, or InputError when it cannot be honoured. */
export function requestRotation(
  state: DomainState,
  options: { emergency: boolean; revokeNow: boolean; now: Date; actor: Actor; policy: Policy },
): StepOf<'request'> {
  const active = state.keys.find((k) => k.status === 'active');
  if (!active) {
    throw new InputError(
      'NOTHING_TO_ROTATE',
      `${state.domain} has no active key yet; run "byodkim apply" to onboard it`,
      {
        context: { domain: state.domain },
      },
    );
  }
  if (options.revokeNow && !options.emergency) {
    throw new InputError('REVOKE_NEEDS_EMERGENCY', '--revoke-now is only allowed with --emergency', {
      context: { domain: state.domain },
    });
  }
  const busy = inProgress(state, options.policy);
  if (busy && !(options.emergency && state.rotation?.kind !== 'emergency')) {
    throw new InputError(
      'ROTATION_IN_PROGRESS',
      `${state.domain}: a rotation is already in progress (${busy}); wait for it, or use --emergency`,
      {
        context: { domain: state.domain },
      },
    );
  }
  return {
    kind: 'request',
    rotation: {
      kind: options.emergency ? 'emergency' : 'manual',
      requestedAt: options.now.toISOString(),
      ...(options.revokeNow ? { revokeNow: true } : {}),
      actor: options.actor,
    },
    selector: active.selector,
    reason: options.emergency ? Reason.EmergencyRotationRequested : Reason.RotationRequested,
    message: `${options.emergency ? 'emergency ' : ''}rotation away from ${active.selector} requested${options.revokeNow ? ', revoking it now' : ''}`,
    phase: 3,
  };
}

/** The step that records a rollback request, or InputError when there is nothing to roll back to. */
export function requestRollback(state: DomainState, options: { now: Date; actor: Actor }): StepOf<'request'> {
  const switching = state.keys.find((k) => k.status === 'verified' && k.switchedAt);
  const previous = previousKeys(state.keys)[0];
  if (!switching && !previous) {
    throw new InputError(
      'NOTHING_TO_ROLL_BACK',
      `${state.domain}: nothing to roll back to (no switch in progress, and no previous key still published and stored)`,
      {
        context: { domain: state.domain },
      },
    );
  }
  if (state.rollback) {
    throw new InputError(
      'ROLLBACK_PENDING',
      `${state.domain}: a rollback was already requested at ${state.rollback.requestedAt}`,
      { context: { domain: state.domain } },
    );
  }
  return {
    kind: 'request',
    rollback: { requestedAt: options.now.toISOString(), actor: options.actor },
    reason: Reason.RollbackRequested,
    message: switching
      ? `rollback of the switch to ${switching.selector} requested`
      : `rollback to ${previous?.selector} requested`,
    phase: 6,
  };
}
