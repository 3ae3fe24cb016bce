import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { recordFinding, replaceInstruction } from './common.js';

/**
 * The key was published as several TXT records, one per 255-character chunk, instead of
 * one record with several strings. DNS does not keep records in order and verifiers read
 * one record: no receiver ever sees the whole key.
 */
export const splitAcrossRecords: Rule<RecordContext> = {
  id: 'dns-split-across-records',
  codes: [
    {
      code: 'DNS_KEY_SPLIT_ACROSS_RECORDS',
      severity: ['error', 'warning'],
      summary: 'The key is split over several TXT records instead of several strings of one record.',
    },
  ],
  check(c) {
    if (c.answer.outcome !== 'answer' || !c.analysis.splitAcrossRecords) return [];
    return [
      recordFinding(
        c,
        'DNS_KEY_SPLIT_ACROSS_RECORDS',
        roleSeverity(c.record.role),
        `${c.answer.txt.length} TXT records that hold the key only when joined (${c.answer.txt
          .map((r) => r.strings.join('').length)
          .sort((a, b) => b - a)
          .join(' + ')} characters): each chunk was published as its own record`,
        replaceInstruction(c),
      ),
    ];
  },
};
