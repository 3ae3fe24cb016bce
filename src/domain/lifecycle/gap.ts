/**
 * Rules: the signing gap, measured and watched. SES holds one key per identity, so from
 * each put until SES's first successful check of the selector, mail most likely leaves
 * without the domain's signature (SES-REALITY.md §2). Per region, the first pass that sees
 * SES SUCCESS on the selector closes the gap (an upper bound: byodkim knows only when it
 * looked; SES's own LastSuccessTimestamp is kept beside it). A gap still open after an hour,
 * and TEMPORARY_FAILURE on the signing key (72 hours later SES fails the identity and the
 * domain cannot send at all, §3), raise an alarm, once, until it clears.
 */
import { HOUR_MS } from '../policy.js';
import { Reason } from '../vocabulary.js';
import { alarmKey } from './apply-step.js';
import { heldSelector, sesView, type Working } from './working.js';

export function measureSwitch(w: Working): void {
  const last = w.state.lastSwitch;
  if (!last) return;
  for (const [region, put] of Object.entries(last.regions)) {
    if (put.successSeenAt) continue;
    const view = sesView(w, region);
    if (view?.status !== 'SUCCESS' || heldSelector(w, region) !== last.selector) continue;
    const gapSeconds = Math.round((w.now.getTime() - Date.parse(put.putAt)) / 1000);
    const sesVerifiedAt =
      view.lastSuccessAt && Date.parse(view.lastSuccessAt) >= Date.parse(put.putAt)
        ? view.lastSuccessAt
        : undefined;
    w.do({
      kind: 'signing-seen',
      region,
      selector: last.selector,
      ...(sesVerifiedAt ? { sesVerifiedAt } : {}),
      reason: Reason.SigningSeen,
      message: `SES ${region} signs with ${last.selector}: SUCCESS seen ${gapSeconds} s after the put (at most; byodkim saw it on this pass${sesVerifiedAt ? `, SES verified at ${sesVerifiedAt}` : ''})`,
      phase: 7,
    });
  }
}

/** The alarms this rule raises, and so the only ones it clears. */
const SES_ALARMS: readonly string[] = [Reason.SwitchPendingLong, Reason.SesTemporaryFailure];

interface AlarmCondition {
  code: string;
  region: string;
  selector: string;
  message: string;
}

/** Alarms that hold in this observation. */
function conditions(w: Working): AlarmCondition[] {
  const found: AlarmCondition[] = [];
  const last = w.state.lastSwitch;
  for (const [region, put] of Object.entries(last?.regions ?? {})) {
    if (!last || put.successSeenAt || w.now.getTime() - Date.parse(put.putAt) < HOUR_MS) continue;
    found.push({
      code: Reason.SwitchPendingLong,
      region,
      selector: last.selector,
      message: `SES ${region} has not verified ${last.selector} ${Math.floor((w.now.getTime() - Date.parse(put.putAt)) / 60_000)} minutes after the put: mail from ${w.spec.domain} is likely unsigned by its own key meanwhile`,
    });
  }
  const active = w.active;
  for (const region of w.spec.regions) {
    const view = sesView(w, region);
    if (!active || view?.status !== 'TEMPORARY_FAILURE' || heldSelector(w, region) !== active.selector)
      continue;
    found.push({
      code: Reason.SesTemporaryFailure,
      region,
      selector: active.selector,
      message: `SES ${region} reports TEMPORARY_FAILURE for ${active.selector} (${view.verificationError ?? 'no error type'}); after 72 hours SES fails the identity and ${w.spec.domain} cannot send`,
    });
  }
  return found;
}

export function watchAlarms(w: Working): void {
  if (w.obs.sesNotRead !== undefined) return; // alarms hold until a read shows otherwise
  const now = conditions(w);
  const raised = w.state.alarms ?? {};
  for (const alarm of now) {
    if (raised[alarmKey(alarm)]) continue;
    w.do({
      kind: 'raise-alarm',
      code: alarm.code,
      region: alarm.region,
      selector: alarm.selector,
      reason: alarm.code,
      message: alarm.message,
      phase: 7,
    });
  }
  const holding = new Set(now.map(alarmKey));
  for (const key of Object.keys(raised)) {
    const [code = key, region] = key.split('@');
    // Other rules' alarms (the canary's) are theirs to clear.
    if (holding.has(key) || !SES_ALARMS.includes(code)) continue;
    w.do({
      kind: 'clear-alarm',
      code,
      ...(region ? { region } : {}),
      reason: Reason.AlarmCleared,
      message: `${code}${region ? ` in ${region}` : ''} no longer holds`,
      phase: 7,
    });
  }
}
