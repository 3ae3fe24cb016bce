import type { Rule } from '../../finding.js';
import { gapConsequence, gapSeverity, isSubdomainOf, nowClause } from '../../mail-from.js';
import type { DmarcContext } from '../context.js';
import { dmarcFinding, effectiveDmarc } from './common.js';

/**
 * `aspf=s` with a custom MAIL FROM below the domain: strict SPF alignment wants the MAIL
 * FROM domain to equal the From domain, and SES only takes a subdomain of the identity, so
 * SPF never aligns and nothing covers DMARC during a switch gap.
 */
export const dmarcAspfStrict: Rule<DmarcContext> = {
  id: 'dmarc-aspf-strict',
  codes: [
    {
      code: 'DMARC_ASPF_STRICT',
      severity: ['warning', 'error'],
      summary:
        'aspf=s while SES sends with a MAIL FROM subdomain: SPF never aligns, so DMARC fails during every switch gap; error while SES does not sign with the domain key in a region using it now.',
    },
  ],
  check(c) {
    const found = effectiveDmarc(c);
    if (found === undefined || !found.record.parse.ok || found.record.parse.policy.aspf !== 's') return [];
    const users = c.mailFrom.filter(
      (u) => u.mailFromDomain !== undefined && isSubdomainOf(u.mailFromDomain, c.domain),
    );
    if (users.length === 0) return [];
    const mailFroms = [...new Set(users.map((u) => u.mailFromDomain))].join(', ');
    return [
      dmarcFinding(
        c,
        'DMARC_ASPF_STRICT',
        gapSeverity(users),
        `aspf=s (strict SPF alignment) at ${found.name}: SES sends with MAIL FROM ${mailFroms} (${users.map((u) => u.region).join(', ')}), a subdomain of ${c.domain}, which aligns only under aspf=r; ${gapConsequence(c.domain)}${nowClause(users, c.domain)}`,
        found.inherited
          ? `publish a DMARC record of ${c.domain}'s own at _dmarc.${c.domain} with aspf=r (or change aspf=s to aspf=r at ${found.name}, which covers its other subdomains too)`
          : `change aspf=s to aspf=r in the record at ${found.name} (or remove aspf=: r is the default)`,
        found.name,
      ),
    ];
  },
};
