import type { Rule } from '../../finding.js';
import type { DmarcContext } from '../context.js';
import { dmarcFinding, dmarcRecords, effectiveDmarc, suggestedDmarcLine } from './common.js';

/** A record meant as DMARC that receivers cannot use (not starting with v=DMARC1, bad p=, pct=, adkim=...). */
export const dmarcInvalid: Rule<DmarcContext> = {
  id: 'dmarc-invalid',
  codes: [
    {
      code: 'DMARC_INVALID',
      severity: ['error', 'warning'],
      summary:
        'A DMARC record that does not parse (v=DMARC1 first, p= none/quarantine/reject, pct 0-100, adkim/aspf r|s); warning when a valid record is in force anyway.',
    },
  ],
  check(c) {
    const inForce = effectiveDmarc(c) !== undefined;
    return dmarcRecords(c.answer).flatMap((r) => {
      if (r.parse.ok) return [];
      return [
        dmarcFinding(
          c,
          'DMARC_INVALID',
          inForce ? 'warning' : 'error',
          `${JSON.stringify(r.value)}: ${r.parse.problem}: ${r.parse.message}${inForce ? ' (receivers discard it; another record is in force)' : ''}`,
          inForce
            ? `remove the broken record at ${c.answer.name}`
            : `replace the record at ${c.answer.name} with a valid one, e.g. \`${suggestedDmarcLine(c.domain, c.ttl)}\``,
        ),
      ];
    });
  },
};
