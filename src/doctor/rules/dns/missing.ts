import type { Rule } from '../../finding.js';
import { publishInstruction, roleSeverity, roleWords } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { recordFinding } from './common.js';

/** No DKIM record at the selector name on this nameserver. */
export const recordMissing: Rule<RecordContext> = {
  id: 'dns-record-missing',
  codes: [
    {
      code: 'DNS_RECORD_MISSING',
      severity: ['error', 'warning', 'info'],
      summary:
        'No DKIM record at the selector name: error for the active/SES selector, warning for standby and retiring keys, info for a key byodkim just published.',
    },
  ],
  check(c) {
    const { answer, analysis } = c;
    if (answer.outcome === 'failed' || answer.cnames.length > 0) return [];
    if (answer.outcome === 'answer' && (analysis.dkim.length > 0 || analysis.splitAcrossRecords)) return [];
    const seen =
      answer.outcome === 'nxdomain'
        ? 'NXDOMAIN: the name does not exist'
        : answer.txt.length === 0
          ? 'no TXT record at the name (NODATA)'
          : `${answer.txt.length} TXT record(s), none of them a DKIM key record`;
    const severity = c.record.role === 'pending' ? 'info' : roleSeverity(c.record.role);
    return [
      recordFinding(
        c,
        'DNS_RECORD_MISSING',
        severity,
        `${seen}; expected the record of ${roleWords(c.record)}`,
        c.record.role === 'pending'
          ? `nothing if the record was just handed off: byodkim waits until every nameserver serves it; otherwise ${publishInstruction(c.record, c.ttl)}`
          : publishInstruction(c.record, c.ttl),
      ),
    ];
  },
};
