/**
 * Rule: phase 3, the supply of keys. Keeps the next key (and `standby` more) generated,
 * replaces standbys that aged out, and names each new key: the selector counts past every
 * name the state or the vault has ever used (a stored key is never overwritten), or takes
 * the least recently used free name of a delegated ring.
 */
import { freeRingSelectors } from '../delegation.js';
import type { KeyBits } from '../key.js';
import { DAY_MS, HOUR_MS } from '../policy.js';
import { nextSelector } from '../selector.js';
import { Reason } from '../vocabulary.js';
import { renewalDueAt, rotationDue } from './calendar.js';
import { FUTURE, graceMs, iso, regionsUsing, type Working } from './working.js';

/** How long to wait after a failed key before trying a new one, so a broken set-up does not churn keys. */
export const FAILURE_BACKOFF_MS = 6 * HOUR_MS;

export function retireAgedStandbys(w: Working): void {
  for (const key of w.withStatus(...FUTURE)) {
    if (key.switchedAt !== undefined || renewalDueAt(key, w.policy) > w.now) continue;
    // A standby never signed, so it needs no grace, unless SES is seen using it (after a crash mid-switch).
    const used = regionsUsing(w, key.selector).length > 0;
    w.do({
      kind: 'transition',
      selector: key.selector,
      to: 'retiring',
      set: { retiringSince: iso(used ? w.now : new Date(w.now.getTime() - graceMs(w.policy))) },
      reason: Reason.StandbyAgedOut,
      message: `${key.selector} would be due for renewal as soon as used; replacing it`,
      phase: 3,
    });
  }
}

export function supplyKeys(w: Working): void {
  // While SES is being switched, wait: the next key is made when the switch completes, so
  // its record and the old key's removal reach DNS in one batch (one hand-off per cycle).
  if (w.switching) return;
  const policy = w.policy;
  const future = w.withStatus(...FUTURE);
  const due = rotationDue(w);
  // Onboarding needs one key to activate besides the standbys; later, a due rotation needs one.
  const wanted = Math.max(w.active ? policy.standby : policy.standby + 1, due ? 1 : 0);
  let missing = Math.max(0, wanted - future.length);
  if (missing === 0) return;
  if (!w.obs.vault) {
    // A name the vault already holds would be refused; without its list, no name is safe.
    w.wait({
      reason: Reason.VaultUnavailable,
      message: `the vault could not be listed${w.obs.vaultError ? ` (${w.obs.vaultError})` : ''}; a new key is named once it can be`,
      outside: true,
    });
    return;
  }
  const ring = w.spec.delegation;
  if (ring) {
    const free = freeRingNames(w).length;
    if (free < missing) {
      w.wait({
        reason: Reason.SelectorRingBusy,
        message: `${free} of ${ring.selectors} delegated selector names free for ${missing} new key(s); names come free after retirement plus a ${ring.coolDownDays}-day cool-down`,
        outside: false,
      });
      missing = free;
      if (missing === 0) return;
    }
  }
  // A key the vault refused is not a broken set-up: replace it at once. Other failures back off.
  const lastFailure = w
    .withStatus('failed')
    .filter((k) => !k.keyProblem)
    .sort((a, b) => b.statusSince.localeCompare(a.statusSince))[0];
  if (
    lastFailure &&
    w.now.getTime() - Date.parse(lastFailure.statusSince) < FAILURE_BACKOFF_MS &&
    future.length === 0
  ) {
    w.wait({
      reason: Reason.FailureBackoff,
      message: `${lastFailure.selector} failed at ${lastFailure.statusSince}; next attempt after ${iso(new Date(Date.parse(lastFailure.statusSince) + FAILURE_BACKOFF_MS))}`,
      outside: false,
    });
    return;
  }
  for (let i = 0; i < missing; i++) {
    const why =
      due && i === 0 && future.length === 0
        ? due
        : { reason: Reason.StandbyBelowTarget, message: `keeping ${policy.standby} standby key(s)` };
    const selector = nextName(w);
    w.do({
      kind: 'generate-key',
      selector,
      bits: policy.keyBits,
      notAfter: iso(new Date(w.now.getTime() + policy.validityDays * DAY_MS)),
      reason: why.reason,
      message: `${why.message}: generating a new ${policy.keyBits}-bit key ${selector}`,
      phase: 3,
    });
  }
}

/** `keygen`: one key now, named as the supply would name it. Fails when no name is free. */
export function generateOneKey(w: Working, bits: KeyBits, reason: string): boolean {
  if (w.spec.delegation && freeRingNames(w).length === 0) return false;
  const selector = nextName(w);
  w.do({
    kind: 'generate-key',
    selector,
    bits,
    notAfter: iso(new Date(w.now.getTime() + w.policy.validityDays * DAY_MS)),
    reason,
    message: `generating a new ${bits}-bit key ${selector}`,
    phase: 3,
  });
  return true;
}

/** Ring names free for a new key now: unused and cooled down, and holding no key in the vault. */
function freeRingNames(w: Working): string[] {
  if (!w.spec.delegation) return [];
  const inVault = new Set(w.obs.vault?.selectors ?? []);
  return freeRingSelectors(w.spec.selectorPrefix, w.spec.delegation, w.keys, w.now).filter(
    (s) => !inVault.has(s),
  );
}

/** The next selector, given every key generated so far in this pass. */
function nextName(w: Working): string {
  if (w.spec.delegation) return freeRingNames(w)[0] as string;
  return nextSelector({
    template: w.policy.selectorTemplate,
    prefix: w.spec.selectorPrefix,
    day: w.now,
    existing: [...w.keys.map((k) => k.selector), ...(w.obs.vault?.selectors ?? [])],
    where: w.spec.domain,
  });
}
