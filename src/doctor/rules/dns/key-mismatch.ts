import type { Rule } from '../../finding.js';
import { roleSeverity, roleWords } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/** A valid key, but not the one the selector's private key belongs to. */
export const keyMismatch: Rule<RecordContext> = {
  id: 'dns-key-mismatch',
  codes: [
    {
      code: 'DNS_KEY_MISMATCH',
      severity: ['error', 'warning'],
      summary: "The record holds a valid key, but not the selector's key.",
    },
  ],
  check(c) {
    // Another key next to the right one is DNS_MULTIPLE_TXT's finding (remove the stray record).
    if (c.analysis.dkim.some((a) => a.matchesExpected === true)) return [];
    return judgedValues(c)
      .filter((a) => a.usableKey && a.matchesExpected === false)
      .map((a) =>
        recordFinding(
          c,
          'DNS_KEY_MISMATCH',
          roleSeverity(c.record.role),
          `serves a valid key (p=${a.parse.ok ? a.parse.record.publicKey.slice(0, 24) : ''}…) that is not ${roleWords(c.record)} (expected p=${(c.record.publicKey ?? '').slice(0, 24)}…): signatures with this selector fail`,
          replaceInstruction(c),
        ),
      );
  },
};
