import type { Rule } from '../../finding.js';
import { roleSeverity, roleWords } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/** An empty `p=` (revoked key) where a live key is expected. */
export const keyRevoked: Rule<RecordContext> = {
  id: 'dns-key-revoked',
  codes: [
    {
      code: 'DNS_KEY_REVOKED',
      severity: ['error', 'warning'],
      summary: 'The record is a revocation (empty p=) where a live key is expected.',
    },
  ],
  check(c) {
    return judgedValues(c)
      .filter((a) => a.revoked)
      .map(() =>
        recordFinding(
          c,
          'DNS_KEY_REVOKED',
          roleSeverity(c.record.role),
          `serves a revocation (empty p=) where ${roleWords(c.record)} belongs: every signature with this selector fails`,
          c.record.role === 'active' || c.record.role === 'ses'
            ? `if the key was revoked on purpose (compromise), finish with "byodkim rotate --domain ${c.domain} --emergency"; otherwise ${replaceInstruction(c)}`
            : replaceInstruction(c),
        ),
      );
  },
};
