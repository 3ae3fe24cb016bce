/**
 * Rule: phase 4, one DNS batch per pass. Every staged key (including the ones generated in
 * this pass), re-publications and removals go out together, so a DNS team gets one
 * hand-off, and only one at a time.
 */
import { Reason } from '../vocabulary.js';
import type { Working } from './working.js';

export function publishStaged(w: Working): void {
  if (w.state.handOff) return; // one request at a time to the DNS team
  for (const key of w.withStatus('staged')) {
    if (w.pendingChanges.some((c) => c.selector === key.selector)) continue;
    w.change({ action: 'upsert', selector: key.selector, reason: Reason.Publish });
  }
}

export function flushDnsChanges(w: Working): void {
  if (w.pendingChanges.length === 0) return;
  if (w.state.handOff && w.spec.dnsMode === 'manual') {
    w.wait({
      reason: Reason.DnsHandOffPending,
      message: `${w.pendingChanges.length} more DNS change(s) wait until the current hand-off is applied`,
      outside: true,
    });
    return;
  }
  const adds = w.pendingChanges.filter((c) => c.action === 'upsert').length;
  const removes = w.pendingChanges.length - adds;
  const manual = w.spec.dnsMode === 'manual';
  w.do({
    kind: 'publish',
    changes: [...w.pendingChanges],
    reason: manual ? Reason.HandOff : Reason.Publish,
    message: manual
      ? `hand the DNS team ${adds} record(s) to add and ${removes} to remove`
      : `publish ${adds} record(s), remove ${removes}`,
    phase: removes > 0 && adds === 0 ? 8 : 4,
  });
}
