/**
 * Rules: finishing what a dead pass left half done, and taking in what no state names.
 *
 * The interpreter saves the state with an intent before every side effect that creates
 * something, so a pass that finds an intent knows the previous one stopped there. A key
 * generated under that intent is taken in and carried on (it was stored and read back);
 * anything else the intent names is re-derived from the world by the other rules.
 *
 * A key in the vault that neither the state nor an intent names (left by an older version,
 * or put there by hand) is taken in as failed and retired through phase 8: its record is
 * removed and the key destroyed after the grace period, never while SES uses it.
 */
import { DAY_MS } from '../policy.js';
import { Reason } from '../vocabulary.js';
import { FUTURE, graceMs, iso, regionsUsing, type Working } from './working.js';

export function recoverInterruptedPass(w: Working): void {
  const intent = w.state.intent;
  if (!intent) return;
  if (intent.kind === 'generate-key') {
    // Without the vault's listing, whether the key was stored is unknown: keep the intent.
    if (!w.obs.vault) return;
    for (const selector of intent.selectors) {
      if (w.key(selector)) continue;
      const orphan = w.obs.vault.orphans.find((o) => o.selector === selector);
      if (!orphan?.ok) continue; // never stored (or unreadable: the sweep reports it)
      w.do({
        kind: 'take-in-key',
        selector,
        publicKey: orphan.publicKey,
        bits: orphan.bits,
        vaultRef: orphan.vaultRef,
        status: 'staged',
        createdAt: intent.at,
        notAfter: iso(new Date(Date.parse(intent.at) + w.policy.validityDays * DAY_MS)),
        reason: Reason.InterruptedKeyCompleted,
        message: `${selector} was stored by a pass that stopped at ${intent.at} before naming it; taking it in`,
        phase: 3,
      });
    }
  }
  w.do({
    kind: 'clear-intent',
    reason: Reason.PassInterrupted,
    message: `the pass of ${intent.at} stopped during ${intent.kind} (${intent.selectors.join(', ')}${intent.region ? ` in ${intent.region}` : ''}); carrying on from what DNS and SES show`,
    phase: intent.kind === 'publish' ? 4 : intent.kind === 'ses-put' || intent.kind === 'ses-create' ? 6 : 3,
  });
}

export function sweepOrphans(w: Working): void {
  for (const orphan of w.obs.vault?.orphans ?? []) {
    if (w.key(orphan.selector)) continue;
    if (!orphan.ok) {
      w.warn({
        code: Reason.OrphanKeyUnreadable,
        message: `the vault holds a key under ${orphan.selector} that the state does not name and that cannot be read (${orphan.error}); left untouched`,
        selector: orphan.selector,
      });
      continue;
    }
    const inUse = regionsUsing(w, orphan.selector);
    if (inUse.length > 0 && !w.active) {
      // SES signs with it and byodkim has no signing key: it is the signing key (as `adopt` would take it).
      w.do({
        kind: 'take-in-key',
        selector: orphan.selector,
        publicKey: orphan.publicKey,
        bits: orphan.bits,
        vaultRef: orphan.vaultRef,
        status: 'active',
        createdAt: w.at,
        notAfter: iso(new Date(w.now.getTime() + w.policy.validityDays * DAY_MS)),
        reason: Reason.OrphanKeyTakenIn,
        message: `SES signs with ${orphan.selector} in ${inUse.join(', ')}, and the vault holds its key, which no state entry names; taking it in as the signing key`,
        phase: 7,
      });
      continue;
    }
    // A key SES signs with needs its grace once SES moves off it; one that never signed needs none.
    const retiringSince = inUse.length > 0 ? w.now : new Date(w.now.getTime() - graceMs(w.policy));
    w.do({
      kind: 'take-in-key',
      selector: orphan.selector,
      publicKey: orphan.publicKey,
      bits: orphan.bits,
      vaultRef: orphan.vaultRef,
      status: 'failed',
      createdAt: w.at,
      notAfter: w.at,
      retiringSince: iso(retiringSince),
      reason: Reason.OrphanKeyTakenIn,
      message: `the vault holds ${orphan.selector}, which no state entry names${inUse.length > 0 ? ` and SES uses in ${inUse.join(', ')}` : ''}; taking it in to retire it`,
      phase: 8,
    });
  }
}

/**
 * A key whose vault copy was refused for an SES put (gone, or not the key DNS serves) can
 * never be switched to: it fails, and the key supply stages a fresh one. An active key with
 * such a problem is replaced through a rotation (calendar.ts).
 */
export function retireUnusableKeys(w: Working): void {
  for (const key of w.keys) {
    if (!key.keyProblem || !FUTURE.includes(key.status)) continue;
    if (key.switchedAt !== undefined && regionsUsing(w, key.selector).length > 0) continue; // the switch rules roll it back
    w.do({
      kind: 'transition',
      selector: key.selector,
      to: 'failed',
      set: { retiringSince: iso(new Date(w.now.getTime() - graceMs(w.policy))) },
      unset: ['switchedAt'],
      reason: key.keyProblem.code,
      message: `${key.selector} cannot be put in SES (${key.keyProblem.code} at ${key.keyProblem.at}); a fresh key replaces it`,
      phase: 6,
    });
    w.do({
      kind: 'notify',
      notification: 'failure',
      selector: key.selector,
      reason: key.keyProblem.code,
      message: `${w.spec.domain}: the vault's key for ${key.selector} cannot be put in SES (${key.keyProblem.code}); byodkim stages a fresh key`,
      phase: 6,
    });
  }
}
