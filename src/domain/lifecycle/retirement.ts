/**
 * Rules: phase 8. After the grace period, and only while no region's SES uses it, a
 * retiring or failed key's record is removed (invariant 2); its private key is destroyed
 * only once every authoritative nameserver shows the record gone (invariant 3). An
 * emergency `--revoke-now` replaces the active record with an empty `p=` at once, by
 * explicit choice.
 */
import { isGone } from '../propagation.js';
import { Reason } from '../vocabulary.js';
import { graceMs, iso, regionsUsing, stillServing, type Working } from './working.js';

/** `rotate --emergency --revoke-now`: the old record becomes `p=` at once, by explicit choice. */
export function handleRevokeNow(w: Working): void {
  if (!w.state.rotation?.revokeNow) return;
  const active = w.active;
  if (!active || w.revoked(active.selector)) return;
  w.change({
    action: 'upsert',
    record: 'revoked',
    selector: active.selector,
    reason: Reason.EmergencyRevocation,
  });
}

/**
 * Grace counts from the last moment a region was seen holding the key. Recorded before any
 * side effect of the pass (this rule runs early), so a pass that dies after switching SES
 * away from the key cannot lose the fact that SES held it until now.
 */
export function noteKeysStillInUse(w: Working): void {
  if (w.obs.sesNotRead !== undefined) return;
  for (const { selector } of w.withStatus('retiring', 'failed')) {
    const key = w.key(selector);
    if (!key || key.destroyedAt || key.retiringSince === w.at) continue;
    const inUse = regionsUsing(w, selector);
    if (inUse.length === 0) continue;
    w.do({
      kind: 'transition',
      selector,
      to: key.status,
      set: { retiringSince: w.at },
      reason: Reason.StillInUse,
      message: `${selector} is still used by SES in ${inUse.join(', ')}; its grace period has not started`,
      phase: 8,
    });
  }
}

export function retireOldKeys(w: Working): void {
  // Removing a record or destroying a key needs a fresh read showing no region uses it (invariant 2).
  if (w.obs.sesNotRead !== undefined) return;
  const grace = graceMs(w.policy);
  const unknownRegions = w.spec.regions.filter((r) => !w.usable.has(r) && !w.obs.ses[r]?.ok);
  for (const { selector } of w.withStatus('retiring', 'failed', 'revoked')) {
    const key = w.key(selector);
    if (!key || key.destroyedAt) continue;
    const since = Date.parse(key.retiringSince ?? key.statusSince);
    const safeAt = new Date(since + grace);
    const inUse = regionsUsing(w, selector);
    const record = w.obs.dns[selector];
    if (inUse.length > 0 && key.status !== 'revoked') continue; // its grace restarted (noteKeysStillInUse)
    const graceOver = w.now >= safeAt;
    if (key.status !== 'revoked' && !key.removalRequestedAt && !(graceOver && isGone(record))) {
      // Manual DNS: hand the removal over early, dated; automatic: remove when safe.
      const requestNow = w.spec.dnsMode === 'manual' ? true : graceOver;
      if (!requestNow || unknownRegions.length > 0 || isGone(record)) continue;
      w.change({
        action: 'delete',
        selector,
        reason: Reason.GraceOver,
        notBefore: iso(safeAt > w.now ? safeAt : w.now),
      });
      continue;
    }
    if (key.status === 'revoked' || (graceOver && isGone(record))) {
      w.do({
        kind: 'destroy-key',
        selector,
        reason: Reason.Retired,
        message: `destroying the private key of ${selector}`,
        phase: 8,
      });
      w.do({
        kind: 'transition',
        selector,
        to: key.status === 'retiring' ? 'retired' : key.status,
        reason: Reason.Retired,
        message:
          key.status === 'retiring'
            ? `${selector} retired: record gone everywhere, key destroyed`
            : `${selector}: key destroyed`,
        phase: 8,
      });
    } else if (graceOver) {
      w.wait({
        reason: Reason.RecordRemovalPending,
        message: `waiting for the record of ${selector} to disappear (${stillServing(record)})`,
        outside: true,
        selector,
      });
    }
  }
}
