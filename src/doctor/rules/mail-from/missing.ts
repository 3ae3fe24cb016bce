import type { Rule } from '../../finding.js';
import { gapConsequence, gapSeverity, nowClause, setUpInstruction } from '../../mail-from.js';
import type { SesContext } from '../context.js';
import { sesMailFrom } from './common.js';

/**
 * No custom MAIL FROM in a region: SES sends with its own amazonses.com envelope sender, so
 * SPF never aligns, and DMARC fails through every switch gap (SES-REALITY.md §2).
 */
export const mailFromMissing: Rule<SesContext> = {
  id: 'mail-from-missing',
  codes: [
    {
      code: 'MAIL_FROM_MISSING',
      severity: ['warning', 'error'],
      summary:
        'No custom MAIL FROM domain in a region: SPF never aligns, so DMARC fails during every switch gap; error while SES does not sign with the domain key there now.',
    },
  ],
  check(c) {
    const use = sesMailFrom(c);
    if (use === undefined || use.mailFromDomain !== undefined) return [];
    return [
      {
        code: 'MAIL_FROM_MISSING',
        severity: gapSeverity([use]),
        region: c.region,
        seen: `no custom MAIL FROM domain in ${c.region}: SES sends with its own envelope sender (a subdomain of amazonses.com), so SPF never aligns with ${c.domain}; ${gapConsequence(c.domain)}${nowClause([use], c.domain)}`,
        fix: setUpInstruction(c.domain, c.region),
      },
    ];
  },
};
