import { buildDkimRecordValue } from '../../../domain/record.js';
import type { Rule } from '../../finding.js';
import { zoneLine } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding } from './common.js';

/**
 * `t=y` left on: the domain says it is testing DKIM, and receivers may treat signatures
 * that fail as if the message were unsigned (RFC 6376 §3.6.1), which hides real failures.
 */
export const testingFlag: Rule<RecordContext> = {
  id: 'dns-testing-flag',
  codes: [
    { code: 'DNS_TESTING_FLAG', severity: 'warning', summary: 'The record carries t=y (DKIM testing mode).' },
  ],
  check(c) {
    return judgedValues(c)
      .filter((a) => a.testing)
      .map((a) =>
        recordFinding(
          c,
          'DNS_TESTING_FLAG',
          'warning',
          `the record carries t=${a.parse.ok ? a.parse.record.tags.t : 'y'}: receivers may ignore DKIM failures for this selector (testing mode)`,
          c.record.publicKey === undefined
            ? `remove "t=y" from the record at ${c.record.name}`
            : `remove "t=y": replace the record at ${c.record.name} with \`${zoneLine(c.record.name, buildDkimRecordValue(c.record.publicKey), c.ttl)}\``,
        ),
      );
  },
};
