/**
 * When SES must be read (issue: SES allows about one request per second per region, so a
 * fleet of 10,000 identities cannot afford a read of each in every pass). SES is read when
 * a read can change a decision — something in flight, something due, an anomaly the cheap
 * DNS probe saw, or the scheduled health read — and left alone for a domain that is idle
 * and was healthy at its last read. The state remembers what the last read said (`sesSeen`).
 */
import type { Observation, SesCallPriority, SesHealthView } from '../observation.js';
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
  /**
   * How urgent the read is, for the SES budget: `health` for the scheduled health read and
   * for a first read of an idle domain, `transition` for everything that can change a
   * decision now.
   */
  priority: SesCallPriority;
  /**
   * The read only has to confirm health (the scheduled health read of an idle domain whose
   * last read saw its selectors): SES v1's batched read may serve it (`healthyAtHealthRead`).
   */
  healthOnly: boolean;
}

const transition = (why: string): SesReadDecision => ({
  due: true,
  why,
  priority: 'transition',
  healthOnly: false,
});

export interface SesReadOptions {
  /**
   * The health reads are batched (SES v1, 100 identities per call): the scheduled health read
   * is then due once per window of `sesHealthCheckHours` counted from the epoch (UTC
   * midnight for 24 h), so the whole fleet falls due in the same pass and its reads share
   * calls. Otherwise it is due `sesHealthCheckHours` after the domain's own last read, which
   * keeps one-by-one reads spread over the day.
   */
  alignedHealthReads?: boolean;
}

/** Whether the scheduled health read is due: per window (batched reads) or per domain. */
export function healthReadDue(lastReadMs: number, nowMs: number, hours: number, aligned: boolean): boolean {
  const interval = hours * HOUR_MS;
  if (aligned) return Math.floor(nowMs / interval) > Math.floor(lastReadMs / interval);
  return nowMs - lastReadMs >= interval;
}

/** What must be known before deciding: the state, the spec, and this pass's DNS and vault view. */
export function sesReadDue(
  state: DomainState,
  spec: DomainSpec,
  obs: Pick<Observation, 'now' | 'dns' | 'vault'>,
  options: SesReadOptions = {},
): SesReadDecision {
  const now = obs.now.getTime();
  const seen = state.sesSeen;
  const active = state.keys.find((k) => k.status === 'active');
  if (!seen || spec.regions.some((r) => !seen.regions[r]))
    return active
      ? { due: true, why: 'never read', priority: 'health', healthOnly: false }
      : transition('never read');
  // A switch can start when a key is verified, or becomes verified with this very probe.
  const needed = spec.policy.verifyChecks;
  const ready = state.keys.some(
    (k) =>
      (k.status === 'verified' && !k.keyProblem) ||
      (k.status === 'published' && (k.verifyStreak ?? 0) + 1 >= needed && isPropagated(obs.dns[k.selector])),
  );
  // Onboarding reads SES when a key is ready to be switched to; DNS phases before it need no SES.
  if (!active && ready) return transition('onboarding: a key is ready');
  if (state.intent || state.rotation || state.rollback) return transition('a request or an interrupted pass');
  if (Object.keys(state.alarms ?? {}).length > 0) return transition('an alarm to clear');
  if (state.lastSwitch && Object.values(state.lastSwitch.regions).some((r) => !r.successSeenAt))
    return transition('a switch to see through');
  if (active) {
    const healthy = spec.regions.every((r) => {
      const v = seen.regions[r];
      return (
        v?.status === 'SUCCESS' &&
        v.signingEnabled &&
        (v.selector === undefined || v.selector === active.selector)
      );
    });
    if (!healthy) return transition('not healthy at the last read');
    if (!isPropagated(obs.dns[active.selector]))
      return transition('the active record is not served everywhere');
    const rotating =
      rotationDueAt(active, spec.policy, spec.domain).getTime() <= now || active.keyProblem !== undefined;
    if (rotating && ready) return transition('a switch is due');
  }
  if ((obs.vault?.orphans.length ?? 0) > 0) return transition('a vault key no state names');
  // Phase 8 removes a record and destroys a key only when a fresh read shows no region uses it (invariant 2).
  const leaving = state.keys.some(
    (k) =>
      (k.status === 'retiring' || k.status === 'failed' || k.status === 'revoked') &&
      !k.destroyedAt &&
      ((spec.dnsMode === 'manual' && !k.removalRequestedAt) ||
        now >= Date.parse(k.retiringSince ?? k.statusSince) + graceMs(spec.policy)),
  );
  if (leaving) return transition('a record to remove or a key to destroy');
  if (
    healthReadDue(
      Date.parse(seen.at),
      now,
      spec.policy.sesHealthCheckHours,
      options.alignedHealthReads ?? false,
    )
  )
    return {
      due: true,
      why: 'the scheduled health read',
      priority: 'health',
      healthOnly: active !== undefined,
    };
  return {
    due: false,
    why: `idle and healthy at the last read (${seen.at})`,
    priority: 'health',
    healthOnly: false,
  };
}

/**
 * Whether SES v1's health read of one region shows the domain healthy: the identity exists,
 * DKIM is SUCCESS with signing on, and the tokens, if SES gave any, are the active selector
 * (Easy DKIM answers with its three tokens; a BYODKIM identity with no tokens or `[]`, which
 * the documentation leaves open). v1 never names the signing origin, so this can only
 * confirm what the last v2 read saw; anything else is read again with v2 in the same pass.
 */
export function healthyAtHealthRead(view: SesHealthView, activeSelector: string): boolean {
  if (!view.exists || view.status !== 'SUCCESS' || view.signingEnabled !== true) return false;
  const tokens = view.tokens ?? [];
  return tokens.length === 0 || (tokens.length === 1 && tokens[0] === activeSelector);
}
