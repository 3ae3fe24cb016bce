import { abbreviateValue, SES_CONSOLE_PLACEHOLDER } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/** The SES console's CSV placeholder `p=customerProvidedPublicKey` published as is. */
export const placeholderKey: Rule<RecordContext> = {
  id: 'dns-placeholder-key',
  codes: [
    {
      code: 'DNS_PLACEHOLDER_KEY',
      severity: ['error', 'warning'],
      summary: `The record holds the SES console's CSV placeholder p=${SES_CONSOLE_PLACEHOLDER} instead of the key.`,
    },
  ],
  check(c) {
    return judgedValues(c)
      .filter((a) => a.placeholder)
      .map((a) =>
        recordFinding(
          c,
          'DNS_PLACEHOLDER_KEY',
          roleSeverity(c.record.role),
          `serves ${abbreviateValue(a.value, 80)}: the placeholder from the SES console's CSV download, not a key`,
          `${replaceInstruction(c)} (the console never shows a BYODKIM public key; "byodkim dns-records --domain ${c.domain}" prints the real record)`,
        ),
      );
  },
};
