import { describeStrings } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import type { RecordContext } from '../context.js';
import { recordFinding } from './common.js';

/**
 * TXT records that are not DKIM key records next to the key record: SES ignores them, but
 * a verifier that takes the first TXT record it gets fails on them.
 */
export const extraTxt: Rule<RecordContext> = {
  id: 'dns-extra-txt',
  codes: [
    {
      code: 'DNS_EXTRA_TXT',
      severity: 'warning',
      summary: 'Other TXT records (not DKIM key records) next to the key record at the selector name.',
    },
  ],
  check(c) {
    if (c.answer.outcome !== 'answer' || c.analysis.splitAcrossRecords) return [];
    if (c.analysis.dkim.length === 0 || c.analysis.others.length === 0) return [];
    const others = c.analysis.others
      .map((r) => describeStrings(r.strings, 40))
      .sort()
      .join(', ');
    return [
      recordFinding(
        c,
        'DNS_EXTRA_TXT',
        'warning',
        `${c.analysis.others.length} other TXT record(s) next to the DKIM record: ${others}`,
        `remove the stray record(s) at ${c.record.name}: ${others}`,
      ),
    ];
  },
};
