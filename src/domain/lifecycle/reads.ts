/**
 * When SES must be read (issue: SES allows about one request per second per region, so a
 * fleet of 10,000 identities cannot afford a read of each in every pass). SES is read when
 * a read can change a decision — something in flight, something due, an anomaly the cheap
 * DNS probe saw, or the scheduled health read — and left alone for a domain that is idle
 * and was healthy at its last read. The state remembers what the last read said (`sesSeen`).
 */
import type { Observation } from '../observation.js';
import { HOUR_MS } from '../policy.js';
import { isPropagated } from '../propagation.js';
import type { DomainState } from '../state.js';
import { rotationDueAt } from './calendar.js';
import type { DomainSpec } from './plan.js';
import { graceMs } from './working.js';

export interface SesReadDecision {
  due: boolean;
  /** Why (or why not), for `plan` and the logs. */
  why: string;
}

/** What must be known before deciding: the state, the spec, and this pass's DNS and vault view. */
export function sesReadDue(
  state: DomainState,
  spec: DomainSpec,
  obs: Pick<Observation, 'now' | 'dns' | 'vault'>,
): SesReadDecision {
  const now = obs.now.getTime();
  const seen = state.sesSeen;
  const active = state.keys.find((k) => k.status === 'active');
  if (!seen || spec.regions.some((r) => !seen.regions[r])) return { due: true, why: 'never read' };
  // A switch can start when a key is verified, or becomes verified with this very probe.
  const needed = spec.policy.verifyChecks;
  const ready = state.keys.some(
    (k) =>
      (k.status === 'verified' && !k.keyProblem) ||
      (k.status === 'published' && (k.verifyStreak ?? 0) + 1 >= needed && isPropagated(obs.dns[k.selector])),
  );
  // Onboarding reads SES when a key is ready to be switched to; DNS phases before it need no SES.
  if (!active && ready) return { due: true, why: 'onboarding: a key is ready' };
  if (state.intent || state.rotation || state.rollback)
    return { due: true, why: 'a request or an interrupted pass' };
  if (Object.keys(state.alarms ?? {}).length > 0) return { due: true, why: 'an alarm to clear' };
  if (state.lastSwitch && Object.values(state.lastSwitch.regions).some((r) => !r.successSeenAt))
    return { due: true, why: 'a switch to see through' };
  if (active) {
    const healthy = spec.regions.every((r) => {
      const v = seen.regions[r];
      return (
        v?.status === 'SUCCESS' &&
        v.signingEnabled &&
        (v.selector === undefined || v.selector === active.selector)
      );
    });
    if (!healthy) return { due: true, why: 'not healthy at the last read' };
    if (!isPropagated(obs.dns[active.selector]))
      return { due: true, why: 'the active record is not served everywhere' };
    const rotating =
      rotationDueAt(active, spec.policy, spec.domain).getTime() <= now || active.keyProblem !== undefined;
    if (rotating && ready) return { due: true, why: 'a switch is due' };
  }
  if ((obs.vault?.orphans.length ?? 0) > 0) return { due: true, why: 'a vault key no state names' };
  // Phase 8 removes a record and destroys a key only when a fresh read shows no region uses it (invariant 2).
  const leaving = state.keys.some(
    (k) =>
      (k.status === 'retiring' || k.status === 'failed' || k.status === 'revoked') &&
      !k.destroyedAt &&
      ((spec.dnsMode === 'manual' && !k.removalRequestedAt) ||
        now >= Date.parse(k.retiringSince ?? k.statusSince) + graceMs(spec.policy)),
  );
  if (leaving) return { due: true, why: 'a record to remove or a key to destroy' };
  if (now - Date.parse(seen.at) >= spec.policy.sesHealthCheckHours * HOUR_MS)
    return { due: true, why: 'the scheduled health read' };
  return { due: false, why: `idle and healthy at the last read (${seen.at})` };
}
