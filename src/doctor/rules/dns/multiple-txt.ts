import { describeStrings } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { publishInstruction, roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { recordFinding } from './common.js';

/**
 * Several DKIM key records at one selector: a verifier may pick any of them (RFC 6376
 * §3.6.2.2) and SES wants every one to hold its key. Usually an old value left next to a
 * new one, or the same key published twice with different chunking.
 */
/** Records described in a stable order: nameservers return an RRset in any order. */
function listed(records: readonly (readonly string[])[]): string {
  return records
    .map((strings) => describeStrings(strings, 40))
    .sort()
    .join(', ');
}

export const multipleTxt: Rule<RecordContext> = {
  id: 'dns-multiple-txt',
  codes: [
    {
      code: 'DNS_MULTIPLE_TXT',
      severity: ['error', 'warning'],
      summary:
        'Several DKIM key records at one selector name (warning when every one holds the expected key).',
    },
  ],
  check(c) {
    if (c.answer.outcome !== 'answer' || c.analysis.splitAcrossRecords) return [];
    const records = c.analysis.dkim;
    if (records.length < 2) return [];
    const allMatch = records.every((r) => r.matchesExpected === true);
    const wrong = records.filter((r) => r.matchesExpected !== true);
    return [
      recordFinding(
        c,
        'DNS_MULTIPLE_TXT',
        allMatch ? 'warning' : roleSeverity(c.record.role),
        `${records.length} DKIM key records at one name: ${listed(records.map((r) => r.record.strings))}${allMatch ? ' (each holds the expected key)' : ''}`,
        allMatch || c.record.publicKey === undefined
          ? `keep one record at ${c.record.name}: remove the others (a verifier may pick any of them)`
          : `remove the stray record${wrong.length === 1 ? '' : 's'} at ${c.record.name} (${listed(wrong.map((r) => r.record.strings))}) so that only one remains; ${publishInstruction(c.record, c.ttl)} if none holds the key`,
      ),
    ];
  },
};
