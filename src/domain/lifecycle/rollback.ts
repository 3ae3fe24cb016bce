/**
 * Rules: going back. A switch that SES fails, that runs out of its window, or that the
 * operator rolls back returns SES to the active key where that key is still published;
 * after a completed switch, `rollback` switches SES back to the previous key while its
 * record is still served and its key stored.
 */

import type { Observation } from '../observation.js';
import type { KeyEntry } from '../state.js';
import { Reason } from '../vocabulary.js';
import type { DomainSpec } from './plan.js';
import { regionsUsing, served, type Working } from './working.js';

/** `rollback`: go back to the active key (mid-switch) or to the previous key (after one). */
export function startRollback(
  w: Working,
  switching: KeyEntry | undefined,
): { target?: KeyEntry; handled: boolean } {
  w.do({
    kind: 'clear-request',
    which: 'rollback',
    reason: Reason.RollbackRequested,
    message: 'rollback requested',
    phase: 6,
  });
  if (switching) {
    failSwitch(
      w,
      switching,
      Reason.RollbackRequested,
      `rollback requested while switching to ${switching.selector}`,
    );
    return { handled: true };
  }
  const previous = rollbackCandidate(w);
  if (!previous) {
    w.warn({
      code: Reason.NothingToRollBackTo,
      message: 'no previous key is still published and stored; nothing to roll back to',
    });
    return { handled: false };
  }
  w.do({
    kind: 'transition',
    selector: previous.selector,
    to: 'verified',
    set: { switchedAt: w.at, verifyStreak: w.policy.verifyChecks },
    unset: ['retiringSince'],
    reason: Reason.RollbackRequested,
    message: `rolling back: switching SES back to ${previous.selector}`,
    phase: 6,
  });
  return { target: w.key(previous.selector) as KeyEntry, handled: true };
}

/** SES FAILED, the window ran out, or the key cannot be used: back to the active key where it is still published. */
export function failSwitch(w: Working, target: KeyEntry, reason: string, message: string): void {
  const active = w.active;
  const canRestore =
    active !== undefined &&
    active.vaultRef !== '' &&
    !active.keyProblem &&
    !w.revoked(active.selector) &&
    served(w, active.selector);
  if (canRestore) {
    for (const region of regionsUsing(w, target.selector)) {
      w.do({
        kind: 'ses-put',
        region,
        selector: active.selector,
        reason: Reason.Rollback,
        message: `SES ${region}: back to ${active.selector}`,
        phase: 6,
      });
      reassertSigning(w, region);
    }
  }
  w.do({
    kind: 'transition',
    selector: target.selector,
    to: 'failed',
    set: { retiringSince: w.at },
    reason,
    message: `${message}; ${canRestore ? `rolled back to ${active?.selector}` : 'no published previous key to roll back to'}`,
    phase: 6,
  });
  w.do({ kind: 'notify', notification: 'failure', selector: target.selector, reason, message, phase: 6 });
}

/**
 * After a recovery put, signing is switched on again explicitly: a put has left it on so
 * far, but whether it can flip is not documented (SES-REALITY.md §2), and a recovery that
 * leaves signing off would be worse than the trouble it repairs.
 */
export function reassertSigning(w: Working, region: string): void {
  w.do({
    kind: 'ses-enable',
    region,
    reason: Reason.EnableSigning,
    message: `SES ${region}: signing on (asserted after a recovery put)`,
    phase: 7,
  });
}

/** The most recent retiring key whose record is still served everywhere and not being removed. */
export function rollbackCandidate(w: {
  state: { keys: readonly KeyEntry[] };
  obs: Observation;
  spec: DomainSpec;
}): KeyEntry | undefined {
  return previousKeys(w.state.keys).find((k) => served(w, k.selector));
}

/**
 * Keys SES could go back to, newest first: retiring, record not being removed or revoked,
 * private key still stored and usable. (Whether DNS still serves them is checked per pass.)
 */
export function previousKeys(keys: readonly KeyEntry[]): KeyEntry[] {
  return keys
    .filter(
      (k) =>
        k.status === 'retiring' &&
        !k.removalRequestedAt &&
        !k.revokedAt &&
        !k.destroyedAt &&
        !k.keyProblem &&
        k.vaultRef !== '',
    )
    .sort((a, b) => (b.retiringSince ?? '').localeCompare(a.retiringSince ?? ''));
}
