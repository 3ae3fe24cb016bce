/**
 * Rule: the calendar. When the active key is due for replacement (age, standby turns,
 * operator requests), when each standby will be used, and what the domain waits for next.
 */
import { DAY_MS, HOUR_MS, type Policy, renewalSpreadDays } from '../policy.js';
import type { KeyEntry } from '../state.js';
import { type NextEvent, Reason } from '../vocabulary.js';
import { canaryNextAt } from './canary.js';
import type { ScheduledUse } from './plan.js';
import { FUTURE, graceMs, iso, type Working } from './working.js';

const MINUTE_MS = 60_000;

/** When a key is too old to be (or become) the signing key: `renewBefore` ahead of its end of validity. */
export function renewalDueAt(key: KeyEntry, policy: Policy): Date {
  return new Date(Date.parse(key.notAfter) - policy.renewBeforeDays * DAY_MS);
}

/**
 * When the active key must be replaced. Standby keys age while they wait (their validity
 * runs from creation), so with K standbys each key takes a turn of
 * (validity − renewBefore) / (K + 1): then no key, standby time included, outlives its
 * validity, and the standby used next is never too old to activate.
 */
export function rotationDueAt(active: KeyEntry, policy: Policy, domain: string): Date {
  const spread = spreadOffsetMs(domain, policy);
  const byAge = renewalDueAt(active, policy).getTime() + spread;
  if (policy.standby === 0) return new Date(byAge);
  const turn = ((policy.validityDays - policy.renewBeforeDays) * DAY_MS) / (policy.standby + 1);
  const byTurn = Date.parse(active.statusSince) + turn + spread;
  return new Date(Math.min(byTurn, byAge));
}

/**
 * A domain's stable place in the renewal spread: FNV-1a of its name as a fraction of the
 * spread. The same domain always renews at the same offset; a fleet's renewals fall evenly
 * over the spread instead of on the day the fleet was onboarded.
 */
export function spreadOffsetMs(domain: string, policy: Policy): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < domain.length; i++) {
    hash ^= domain.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.floor((hash / 0x1_0000_0000) * renewalSpreadDays(policy) * DAY_MS);
}

/** Whether the active key must be replaced now, and why. */
export function rotationDue(w: Working): { reason: string; message: string } | undefined {
  const active = w.active;
  if (!active) return { reason: Reason.Onboarding, message: 'no active key yet' };
  if (w.state.rotation) {
    return w.state.rotation.kind === 'emergency'
      ? {
          reason: Reason.EmergencyRotation,
          message: `emergency rotation requested ${w.state.rotation.requestedAt}`,
        }
      : { reason: Reason.RotationRequested, message: `rotation requested ${w.state.rotation.requestedAt}` };
  }
  if (active.keyProblem)
    return {
      reason: Reason.ActiveKeyUnusable,
      message: `the vault's key for ${active.selector} cannot be put in SES again (${active.keyProblem.code})`,
    };
  const due = rotationDueAt(active, w.policy, w.spec.domain);
  if (w.now >= due)
    return { reason: Reason.RenewalDue, message: `${active.selector} is due for renewal since ${iso(due)}` };
  return undefined;
}

/**
 * When each future key is expected to become the signing key: the first at the active
 * key's rotation, each next one a turn later. A key that would be too old by then is
 * shown as to be replaced instead.
 */
export function standbySchedule(w: Working): ScheduledUse[] {
  const active = w.active;
  if (!active || w.switching) return [];
  const policy = w.policy;
  const turn = ((policy.validityDays - policy.renewBeforeDays) * DAY_MS) / (policy.standby + 1);
  let at = rotationDueAt(active, policy, w.spec.domain).getTime();
  return w
    .withStatus(...FUTURE)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .map((key) => {
      const tooOld = renewalDueAt(key, policy).getTime() <= at;
      const entry = tooOld
        ? {
            selector: key.selector,
            status: key.status,
            at: iso(renewalDueAt(key, policy)),
            what: `replace ${key.selector} (too old to use)`,
          }
        : {
            selector: key.selector,
            status: key.status,
            at: iso(new Date(at)),
            what: `switch SES to ${key.selector}`,
          };
      if (!tooOld) at += turn;
      return entry;
    });
}

const FOLLOW_UP_CAP_MS = HOUR_MS;

/**
 * After a put, SES is read again soon so SUCCESS (or trouble) is seen in minutes: first
 * `followUpMinutes` after the put, then at half the time since the put (SES itself checks
 * less often the longer an identity waits), at most hourly.
 */
export function followUpAt(w: Working): { at: Date; selector: string } | undefined {
  const last = w.state.lastSwitch;
  if (!last) return undefined;
  const open = Object.values(last.regions).filter((r) => !r.successSeenAt);
  if (open.length === 0) return undefined;
  const putAt = Math.max(...open.map((r) => Date.parse(r.putAt)));
  const since = w.now.getTime() - putAt;
  const interval = Math.min(Math.max(since / 2, w.policy.followUpMinutes * MINUTE_MS), FOLLOW_UP_CAP_MS);
  return { at: new Date(Math.max(putAt, w.now.getTime()) + interval), selector: last.selector };
}

/** What the domain waits for next when nothing is due now: shown by `status` and `plan`. */
export function nextEvent(w: Working): NextEvent | undefined {
  const events: NextEvent[] = [];
  const active = w.active;
  // A due rotation held by the switch window waits for the window, not for the calendar.
  if (active && !w.switching && !w.windowOpensAt)
    events.push({
      kind: 'rotate',
      at: iso(rotationDueAt(active, w.policy, w.spec.domain)),
      selector: active.selector,
      what: `rotate ${active.selector}`,
    });
  for (const key of w.withStatus('retiring', 'failed')) {
    if (key.destroyedAt) continue;
    const at = new Date(Date.parse(key.retiringSince ?? key.statusSince) + graceMs(w.policy));
    events.push({ kind: 'retire', at: iso(at), selector: key.selector, what: `retire ${key.selector}` });
  }
  const followUp = followUpAt(w);
  if (followUp)
    events.push({
      kind: 'follow-up',
      at: iso(followUp.at),
      selector: followUp.selector,
      what: `read SES for ${followUp.selector}`,
    });
  const canary = canaryNextAt(w);
  if (canary)
    events.push({
      kind: 'canary',
      at: iso(canary.at),
      selector: canary.selector,
      what: `canary while SES switches to ${canary.selector}`,
    });
  if (w.windowOpensAt && w.switchTarget)
    events.push({
      kind: 'switch-window',
      at: iso(w.windowOpensAt),
      selector: w.switchTarget,
      what: `switch SES to ${w.switchTarget}`,
    });
  return events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0];
}
