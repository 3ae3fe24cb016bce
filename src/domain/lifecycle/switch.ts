/**
 * Rules: phases 6–7. SES is switched to a verified key only when every authoritative
 * nameserver serves it in this very observation (invariant 1); the key becomes the signing
 * key when SES reports SUCCESS in every region, and the one it replaces starts its grace.
 * In steady state SES is kept on the active key, repairing what drifted.
 *
 *   verified ──put (every region)──▶ verified+switchedAt ──SUCCESS everywhere──▶ active
 *                                          │ FAILED / window over / rollback
 *                                          ▼
 *                                        failed (SES back to the active key)
 */
import { HOUR_MS } from '../policy.js';
import type { KeyEntry } from '../state.js';
import { isWindowOpen, nextWindowOpening } from '../switch-window.js';
import { Reason } from '../vocabulary.js';
import { renewalDueAt, rotationDue } from './calendar.js';
import { failSwitch, reassertSigning, startRollback } from './rollback.js';
import { FUTURE, graceMs, heldSelector, iso, lagging, served, sesView, type Working } from './working.js';

/** A verified key worth switching to: oldest first, skipping keys that would be due at once. */
function readyKey(w: Working): KeyEntry | undefined {
  return w
    .withStatus('verified')
    .filter((k) => !k.keyProblem && served(w, k.selector) && renewalDueAt(k, w.policy) > w.now)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
}

/** Phases 6–7 and rollback: starts or advances a switch; marks the pass as switching. */
export function driveSes(w: Working): void {
  // Nothing is switched, rolled back or promoted on a pass that did not read SES; reads.ts
  // makes the next pass read it whenever a switch can start or is in flight.
  if (w.obs.sesNotRead !== undefined) {
    w.switchInProgress = w.switching !== undefined;
    return;
  }
  let target = w.switching;
  if (w.state.rollback) {
    const rollback = startRollback(w, target);
    w.switchInProgress = rollback.handled;
    if (!rollback.target) return;
    target = rollback.target;
  }
  if (!target) {
    const due = rotationDue(w);
    if (!due) return;
    const ready = readyKey(w);
    if (!ready) {
      const future = w.withStatus(...FUTURE);
      if (future.length > 0) {
        w.wait({
          reason: Reason.NextKeyNotReady,
          message: `${due.message}; switching once ${future.map((k) => k.selector).join(', ')} is verified`,
          outside: false,
        });
      }
      return;
    }
    if (holdForWindow(w, due.reason, ready.selector)) return;
    warnDmarcDuringGap(w, due.reason);
    w.do({
      kind: 'transition',
      selector: ready.selector,
      to: 'verified',
      set: { switchedAt: w.at },
      reason: due.reason,
      message: `${due.message}: switching SES to ${ready.selector}`,
      phase: 6,
    });
    target = w.key(ready.selector) as KeyEntry;
  }
  w.switchInProgress = true;
  advanceSwitch(w, target);
}

/** Routine switches wait for the switch window; onboarding and emergencies never do. */
function holdForWindow(w: Working, reason: string, selector: string): boolean {
  const window = w.policy.switchWindow;
  if (!window || reason === Reason.Onboarding || reason === Reason.EmergencyRotation) return false;
  if (isWindowOpen(window, w.now)) return false;
  w.windowOpensAt = nextWindowOpening(window, w.now);
  w.switchTarget = selector;
  w.wait({
    reason: Reason.SwitchWindowClosed,
    message: `${selector} is ready; the switch waits for the switch window, which opens at ${iso(w.windowOpensAt)}`,
    outside: false,
    selector,
  });
  return true;
}

/**
 * While SES re-verifies after the put, mail carries only SES's own amazonses.com signature,
 * which does not align: DMARC then passes only through SPF alignment, i.e. a custom MAIL
 * FROM on a subdomain of the domain (with DMARC aspf=r). Warn where SES shows none.
 */
function warnDmarcDuringGap(w: Working, reason: string): void {
  if (reason === Reason.Onboarding) return; // nothing was signed with the domain's key before
  for (const region of w.spec.regions) {
    const view = sesView(w, region);
    if (!view?.exists) continue;
    const aligned =
      view.mailFromDomain?.toLowerCase().endsWith(`.${w.spec.domain}`) === true &&
      view.mailFromStatus === 'SUCCESS';
    if (aligned) continue;
    w.warn({
      code: Reason.DmarcUncoveredDuringGap,
      message: `SES ${region}: ${view.mailFromDomain ? `MAIL FROM ${view.mailFromDomain} is ${view.mailFromStatus ?? 'not verified'}` : 'no custom MAIL FROM domain'}; while SES re-verifies the new selector, mail from ${w.spec.domain} fails DMARC unless SPF aligns (set a MAIL FROM subdomain and DMARC aspf=r; "byodkim doctor" checks it)`,
      region,
    });
  }
}

function advanceSwitch(w: Working, target: KeyEntry): void {
  const policy = w.policy;
  if (target.keyProblem) {
    failSwitch(
      w,
      target,
      target.keyProblem.code,
      `the vault's key for ${target.selector} cannot be put in SES (${target.keyProblem.code})`,
    );
    return;
  }
  // First what SES shows: a FAILED region or a window run out ends the switch before any new put.
  const views = w.spec.regions.map((region) => ({ region, view: sesView(w, region) }));
  const holding = (region: string) => heldSelector(w, region) === target.selector;
  const failedIn = views.find(({ region, view }) => holding(region) && view?.status === 'FAILED')?.region;
  const allSuccess = views.every(
    ({ region, view }) =>
      w.usable.has(region) && holding(region) && view?.signingEnabled === true && view.status === 'SUCCESS',
  );
  if (failedIn) {
    failSwitch(
      w,
      target,
      Reason.SesVerificationFailed,
      `SES ${failedIn} reports FAILED for ${target.selector}`,
    );
    return;
  }
  const windowEnds = Date.parse(target.switchedAt ?? w.at) + policy.verificationWindowHours * HOUR_MS;
  if (!allSuccess && w.now.getTime() > windowEnds) {
    failSwitch(
      w,
      target,
      Reason.VerificationWindowExpired,
      `SES did not report SUCCESS for ${target.selector} within ${policy.verificationWindowHours} h`,
    );
    return;
  }
  if (allSuccess) {
    promote(w, target);
    return;
  }
  const servedEverywhere = served(w, target.selector);
  for (const { region, view } of views) {
    if (!w.usable.has(region) || !view) continue;
    if (!holding(region)) {
      // Invariant 1: point SES only at a selector every authoritative nameserver serves now.
      if (!servedEverywhere) {
        w.wait({
          reason: Reason.DnsPropagationPending,
          message: `not switching ${region} to ${target.selector}: ${lagging(w.obs.dns[target.selector])}`,
          outside: true,
          region,
          selector: target.selector,
        });
        continue;
      }
      w.do(
        view.exists
          ? {
              kind: 'ses-put',
              region,
              selector: target.selector,
              reason: Reason.SwitchSelector,
              message: `SES ${region}: sign with ${target.selector} (EXTERNAL)`,
              phase: 6,
            }
          : {
              kind: 'ses-create',
              region,
              selector: target.selector,
              reason: Reason.CreateIdentity,
              message: `SES ${region}: create ${w.spec.domain} signing with ${target.selector}`,
              phase: 6,
            },
      );
    } else if (!view.signingEnabled) {
      w.do({
        kind: 'ses-enable',
        region,
        reason: Reason.EnableSigning,
        message: `SES ${region}: enable DKIM signing`,
        phase: 7,
      });
    } else if (view.status !== 'SUCCESS') {
      w.wait({
        reason: Reason.SesVerificationPending,
        message: `SES ${region}: ${target.selector} is ${view.status ?? 'unknown'}`,
        outside: true,
        region,
        selector: target.selector,
      });
    }
  }
}

/** Phase 7 done everywhere: the target is the signing key; the previous one starts its grace. */
function promote(w: Working, target: KeyEntry): void {
  const previous = w.active;
  const emergency = w.state.rotation?.kind === 'emergency';
  w.do({
    kind: 'transition',
    selector: target.selector,
    to: 'active',
    reason: Reason.SigningVerified,
    message: `SES reports SUCCESS for ${target.selector} in ${w.spec.regions.join(', ')}`,
    phase: 7,
  });
  if (previous) {
    if (w.revoked(previous.selector)) {
      w.do({
        kind: 'transition',
        selector: previous.selector,
        to: 'revoked',
        set: { retiringSince: w.at, removalRequestedAt: previous.revokedAt ?? w.at },
        reason: Reason.EmergencyRevocation,
        message: `${previous.selector} was revoked; its key will be destroyed now`,
        phase: 8,
      });
    } else {
      // Emergency: no grace. Otherwise mail signed moments ago must still verify.
      const since = emergency ? new Date(w.now.getTime() - graceMs(w.policy)) : w.now;
      w.do({
        kind: 'transition',
        selector: previous.selector,
        to: 'retiring',
        set: { retiringSince: iso(since) },
        reason: emergency ? Reason.EmergencyRotation : Reason.Superseded,
        message: emergency
          ? `${previous.selector} retired at once (emergency)`
          : `${previous.selector} stays published until ${iso(new Date(w.now.getTime() + graceMs(w.policy)))} (grace)`,
        phase: 8,
      });
    }
  }
  if (w.state.rotation) {
    w.do({
      kind: 'clear-request',
      which: 'rotation',
      reason: Reason.RotationComplete,
      message: 'rotation complete',
      phase: 7,
    });
  }
  w.do({
    kind: 'notify',
    notification: 'rotated',
    selector: target.selector,
    reason: Reason.SigningVerified,
    message: `${w.spec.domain} now signs with ${target.selector}`,
    phase: 7,
  });
}

/** Steady state: SES everywhere on the active key with signing on; repair what drifted. */
export function keepSesOnActive(w: Working): void {
  const active = w.active;
  if (!active || w.switchInProgress) return;
  const restorable = active.vaultRef !== '' && !active.keyProblem && served(w, active.selector);
  for (const region of w.spec.regions) {
    const view = sesView(w, region);
    if (!w.usable.has(region) || !view) continue;
    const held = heldSelector(w, region);
    if (held !== active.selector) {
      if (!restorable) {
        w.warn({
          code: Reason.SesDrift,
          message: `SES ${region} holds ${held ?? 'no BYODKIM selector'}, not ${active.selector}, and ${active.selector} cannot be restored now`,
          region,
        });
        continue;
      }
      const message = `SES ${region} holds ${held ?? 'no BYODKIM selector'}; restoring ${active.selector}`;
      w.do(
        view.exists
          ? { kind: 'ses-put', region, selector: active.selector, reason: Reason.SesDrift, message, phase: 6 }
          : {
              kind: 'ses-create',
              region,
              selector: active.selector,
              reason: Reason.SesDrift,
              message,
              phase: 6,
            },
      );
      reassertSigning(w, region);
    } else if (!view.signingEnabled) {
      w.do({
        kind: 'ses-enable',
        region,
        reason: Reason.SigningDisabled,
        message: `SES ${region}: signing was off; enabling it`,
        phase: 7,
      });
    } else if (view.status === 'FAILED' && restorable) {
      // SES's FAILED is final until the next put; the record is served everywhere, so ask again.
      w.do({
        kind: 'ses-put',
        region,
        selector: active.selector,
        reason: Reason.SesFailedRetry,
        message: `SES ${region} reports FAILED for ${active.selector}, whose record every nameserver serves; asking SES to verify again`,
        phase: 6,
      });
      reassertSigning(w, region);
    } else if (view.status === 'FAILED' || view.status === 'TEMPORARY_FAILURE') {
      w.warn({
        code: Reason.SesStatusDegraded,
        message: `SES ${region} reports ${view.status} for the active selector ${active.selector}`,
        region,
        selector: active.selector,
      });
    }
  }
}
