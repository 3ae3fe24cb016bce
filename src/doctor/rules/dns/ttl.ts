import { DAY_MS } from '../../../domain/policy.js';
import type { Rule } from '../../finding.js';
import { humanSeconds } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { recordFinding } from './common.js';

/**
 * A TTL longer than the rotation's grace period: resolvers may keep serving what they
 * cached for that long, so a changed or revoked record (an emergency rotation, a fixed
 * mistake) reaches receivers only after the grace period byodkim plans around has ended.
 */
export const ttlExceedsGrace: Rule<RecordContext> = {
  id: 'dns-ttl-exceeds-grace',
  codes: [
    {
      code: 'DNS_TTL_EXCEEDS_GRACE',
      severity: 'warning',
      summary: 'The record TTL is longer than policy.graceDays.',
    },
  ],
  check(c) {
    if (c.answer.outcome !== 'answer') return [];
    const graceSeconds = Math.round((c.graceDays * DAY_MS) / 1000);
    const ttls = [...new Set(c.analysis.dkim.map((a) => a.record.ttl))].filter((t) => t > graceSeconds);
    if (ttls.length === 0) return [];
    const ttl = Math.max(...ttls);
    return [
      recordFinding(
        c,
        'DNS_TTL_EXCEEDS_GRACE',
        'warning',
        `TTL ${ttl} (${humanSeconds(ttl)}) is longer than the grace period (graceDays ${c.graceDays} = ${humanSeconds(graceSeconds)}): resolvers may serve a stale copy after a change for longer than byodkim waits`,
        `lower the TTL of the record at ${c.record.name} to at most ${graceSeconds} s (byodkim publishes with ${c.ttl}), or raise policy.graceDays above ${Math.ceil(ttl / 86_400)}`,
      ),
    ];
  },
};
