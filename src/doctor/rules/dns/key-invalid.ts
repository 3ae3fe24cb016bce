import { abbreviateValue } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { hasSpecificDefect, judgedValues, recordFinding, replaceInstruction } from './common.js';

/**
 * The record does not give a usable key and no more specific finding explains why
 * (record.ts's problem code is named: BAD_BASE64, KEY_TYPE_UNKNOWN, HASH_EXCLUDES_SHA256, ...).
 */
export const keyInvalid: Rule<RecordContext> = {
  id: 'dns-key-invalid',
  codes: [
    {
      code: 'DNS_KEY_INVALID',
      severity: ['error', 'warning'],
      summary: 'The record is not a usable DKIM key record for SES (its parse problem is named).',
    },
  ],
  check(c) {
    return judgedValues(c)
      .filter((a) => !a.parse.ok && !hasSpecificDefect(a))
      .map((a) =>
        recordFinding(
          c,
          'DNS_KEY_INVALID',
          roleSeverity(c.record.role),
          `serves ${abbreviateValue(a.value)}: ${a.parse.ok ? '' : `${a.parse.problem}: ${a.parse.message}`}`,
          replaceInstruction(c),
        ),
      );
  },
};
