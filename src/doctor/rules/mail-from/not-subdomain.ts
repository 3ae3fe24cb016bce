import type { Rule } from '../../finding.js';
import { gapConsequence, gapSeverity, isSubdomainOf, nowClause, setUpInstruction } from '../../mail-from.js';
import type { SesContext } from '../context.js';
import { sesMailFrom } from './common.js';

/**
 * A MAIL FROM that is not below the mail domain (the domain itself, or another domain):
 * the SES API asks for a subdomain of the identity, and only a subdomain aligns with
 * From @<domain> under aspf=r through SES.
 */
export const mailFromNotSubdomain: Rule<SesContext> = {
  id: 'mail-from-not-subdomain',
  codes: [
    {
      code: 'MAIL_FROM_NOT_SUBDOMAIN',
      severity: ['warning', 'error'],
      summary:
        'The MAIL FROM domain is not a subdomain of the mail domain, so SPF does not align through it; error while SES does not sign with the domain key there now.',
    },
  ],
  check(c) {
    const use = sesMailFrom(c);
    const mailFrom = use?.mailFromDomain;
    if (use === undefined || mailFrom === undefined || isSubdomainOf(mailFrom, c.domain)) return [];
    const what =
      mailFrom === c.domain.toLowerCase() ? 'the mail domain itself' : `not a subdomain of ${c.domain}`;
    return [
      {
        code: 'MAIL_FROM_NOT_SUBDOMAIN',
        severity: gapSeverity([use]),
        region: c.region,
        name: mailFrom,
        seen: `MAIL FROM ${mailFrom} in ${c.region} is ${what}: SES wants a subdomain of the identity, and SPF through it does not align with From @${c.domain}; ${gapConsequence(c.domain)}${nowClause([use], c.domain)}`,
        fix: setUpInstruction(c.domain, c.region),
      },
    ];
  },
};
