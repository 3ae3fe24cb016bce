import { abbreviateValue } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/** Literal `"` inside the value: quotes typed into a console field, or copied from a CSV cell. */
export const strayQuotes: Rule<RecordContext> = {
  id: 'dns-stray-quotes',
  codes: [
    {
      code: 'DNS_STRAY_QUOTES',
      severity: ['error', 'warning'],
      summary: 'Literal quote characters inside the served value (quotes typed into a console, CSV quoting).',
    },
  ],
  check(c) {
    return judgedValues(c)
      .filter((a) => a.strayQuotes > 0)
      .map((a) =>
        recordFinding(
          c,
          'DNS_STRAY_QUOTES',
          roleSeverity(c.record.role),
          `serves ${abbreviateValue(a.value)}: ${a.strayQuotes} literal quote character(s) are part of the value`,
          `${replaceInstruction(c)}; the quotes delimit strings in a zone file but must not be part of the data (a console that adds its own quotes takes the value without them)`,
        ),
      );
  },
};
