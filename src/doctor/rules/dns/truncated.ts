import { abbreviateValue } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/**
 * The key is cut short: typically at 255 characters, where a DNS console or a zone file
 * without chunking dropped the rest of a 2048-bit key (its record is about 410 characters).
 */
export const keyTruncated: Rule<RecordContext> = {
  id: 'dns-key-truncated',
  codes: [
    {
      code: 'DNS_KEY_TRUNCATED',
      severity: ['error', 'warning'],
      summary: 'The key is cut short (typically at the 255-character limit of one TXT string).',
    },
  ],
  check(c) {
    return judgedValues(c).flatMap((a) => {
      if (a.truncated === undefined) return [];
      const expected =
        a.truncated.expectedLength === undefined
          ? ''
          : ` of the ${a.truncated.expectedLength} the record needs`;
      return [
        recordFinding(
          c,
          'DNS_KEY_TRUNCATED',
          roleSeverity(c.record.role),
          `serves ${abbreviateValue(a.value)}: only ${a.truncated.length} characters${expected}, in ${a.record.strings.length} string(s) of ${a.record.strings.map((s) => Buffer.byteLength(s)).join('+')} bytes; the key is cut off`,
          replaceInstruction(c),
        ),
      ];
    });
  },
};
