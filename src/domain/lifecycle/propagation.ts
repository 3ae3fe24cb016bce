/**
 * Rules: phases 4–5 as DNS shows them. A DNS team's hand-off is done when every
 * authoritative nameserver serves what was asked; a key is verified after `verifyChecks`
 * consecutive passes on which every nameserver served it, at least `verifyIntervalMinutes`
 * apart; the active key's record is
 * watched for drift and re-published where byodkim publishes.
 */

import { publishedRecordName } from '../delegation.js';
import type { ProbeResult } from '../observation.js';
import { HOUR_MS } from '../policy.js';
import { dkimRecordName } from '../record.js';
import type { KeyEntry } from '../state.js';
import { Reason } from '../vocabulary.js';
import { cnameInPlace, expectedCname, FUTURE, lagging, served, type Working } from './working.js';

export function trackHandOff(w: Working): void {
  const handOff = w.state.handOff;
  if (!handOff) return;
  const missing = handOff.add.filter((record) => {
    const key = w.keys.find((k) => publishedRecordName(w.spec, k.selector) === record.name);
    return key !== undefined && FUTURE.includes(key.status) && !served(w, key.selector);
  });
  if (missing.length === 0) {
    w.do({
      kind: 'hand-off-done',
      reason: Reason.HandOffApplied,
      message: `the DNS team's change is visible on every authoritative nameserver`,
      phase: 4,
    });
  } else {
    w.wait({
      reason: Reason.DnsHandOffPending,
      message: `waiting for the DNS team to publish ${missing.map((r) => r.name).join(', ')} (requested ${handOff.sentAt})`,
      outside: true,
    });
  }
}

/** Phase 5: count consecutive passes on which every authoritative nameserver serves the key. */
export function trackPropagation(w: Working): void {
  const needed = w.policy.verifyChecks;
  for (const { selector } of w.withStatus('published', 'verified')) {
    const key = w.key(selector) as KeyEntry;
    const result = w.obs.dns[selector];
    const before = key.verifyStreak ?? 0;
    if (!cnameInPlace(w.spec, selector, result)) warnCname(w, selector, result);
    if (served(w, selector)) {
      // Checks count only when at least verifyIntervalMinutes apart: runs started together
      // would otherwise "verify" a record seconds after it was published, while secondaries
      // that lag by minutes have not caught up.
      const countsFrom =
        key.lastSeenAt === undefined
          ? undefined
          : Date.parse(key.lastSeenAt) + w.policy.verifyIntervalMinutes * 60_000;
      const tooSoon =
        before > 0 && before < needed && countsFrom !== undefined && w.now.getTime() < countsFrom;
      const streak = tooSoon ? before : Math.min(before + 1, needed);
      if (streak !== before) {
        w.do({
          kind: 'set-streak',
          selector,
          streak,
          seenAt: w.at,
          reason: Reason.RecordSeen,
          message: `${selector}: every authoritative nameserver serves the key (${streak}/${needed})`,
          phase: 5,
        });
      }
      if (tooSoon && countsFrom !== undefined) {
        w.wait({
          reason: Reason.VerifyIntervalPending,
          message: `${selector}: served everywhere (${before}/${needed}); the next check counts from ${new Date(countsFrom).toISOString()} (policy.verifyIntervalMinutes: ${w.policy.verifyIntervalMinutes})`,
          outside: true,
          selector,
        });
      }
      if (key.status === 'published' && streak >= needed) {
        w.do({
          kind: 'transition',
          selector,
          to: 'verified',
          reason: Reason.PropagationVerified,
          message: `${selector} verified on every authoritative nameserver, ${needed} checks in a row`,
          phase: 5,
        });
      }
      continue;
    }
    if (shouldRepublish(w, key, result)) w.change({ action: 'upsert', selector, reason: Reason.RecordWrong });
    if (before !== 0) {
      w.do({
        kind: 'set-streak',
        selector,
        streak: 0,
        reason: Reason.RecordNotSeen,
        message: `${selector}: not served everywhere (${lagging(result)}); counting again`,
        phase: 5,
      });
    }
    if (key.status === 'verified' && key.switchedAt === undefined) {
      w.do({
        kind: 'transition',
        selector,
        to: 'published',
        reason: Reason.VerifiedRecordLost,
        message: `${selector} is no longer served everywhere (${lagging(result)})`,
        phase: 5,
      });
    }
    if (key.switchedAt === undefined && w.state.handOff === undefined) {
      w.wait({
        reason: Reason.DnsPropagationPending,
        message: `${selector}: waiting for every authoritative nameserver (${lagging(result)})`,
        outside: true,
        selector,
      });
    }
  }
}

/**
 * Automatic DNS only: publish again when some nameserver still does not serve the key an
 * hour after the last publish (a lost update, a tampered value, a secondary that missed a
 * NOTIFY: a new serial makes it transfer again).
 */
function shouldRepublish(w: Working, key: KeyEntry, result: ProbeResult | undefined): boolean {
  if (w.spec.dnsMode !== 'automatic' || !result || result.answers.length === 0) return false;
  // At most hourly: an upsert is idempotent, but a stuck secondary should not cost a change per pass.
  return w.now.getTime() - Date.parse(key.lastPublishedAt ?? key.statusSince) >= HOUR_MS;
}

/** A delegated selector whose CNAME is missing or wrong at the mail domain: name the CNAME to add. */
export function warnCname(w: Working, selector: string, result: ProbeResult | undefined): void {
  const target = expectedCname(w.spec, selector);
  const seen = [...new Set((result?.answers ?? []).map((a) => a.cnames?.[0] ?? 'no CNAME'))].join(', ');
  w.warn({
    code: Reason.DelegationCnameMissing,
    message: `add ${dkimRecordName(selector, w.spec.domain)}. CNAME ${target}. at the mail domain (its nameservers answer: ${seen || 'nothing'}); SES will not be switched to ${selector} until it is there`,
    selector,
  });
}

/** Drift: the active key's record deleted or changed in DNS. Re-publish where byodkim publishes. */
export function watchActiveRecord(w: Working): void {
  const active = w.active;
  if (!active || w.revoked(active.selector)) return;
  const result = w.obs.dns[active.selector];
  if (served(w, active.selector)) return;
  if (!cnameInPlace(w.spec, active.selector, result)) warnCname(w, active.selector, result);
  w.warn({
    code: Reason.ActiveRecordDrift,
    message: `the record of active selector ${active.selector} is not served everywhere (${lagging(result)})`,
    selector: active.selector,
  });
  if (w.spec.dnsMode === 'automatic')
    w.change({ action: 'upsert', selector: active.selector, reason: Reason.ActiveRecordDrift });
}
