import { abbreviateValue } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/** Literal backslashes in the value: `\;` escapes copied from a zone file or a tool's output and stored as data. */
export const strayBackslash: Rule<RecordContext> = {
  id: 'dns-stray-backslash',
  codes: [
    {
      code: 'DNS_STRAY_BACKSLASH',
      severity: ['error', 'warning'],
      summary: 'Literal backslashes inside the served value (e.g. `\\;` escapes stored as data).',
    },
  ],
  check(c) {
    return judgedValues(c)
      .filter((a) => a.backslashes > 0)
      .map((a) =>
        recordFinding(
          c,
          'DNS_STRAY_BACKSLASH',
          roleSeverity(c.record.role),
          `serves ${abbreviateValue(a.value)}: ${a.backslashes} literal backslash(es) are part of the value${/\\;/.test(a.value) ? ' (escaped semicolons "\\;" stored as is)' : ''}`,
          `${replaceInstruction(c)}; semicolons need no escaping inside quoted strings`,
        ),
      );
  },
};
