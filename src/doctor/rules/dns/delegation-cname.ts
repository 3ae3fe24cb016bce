import type { Rule } from '../../finding.js';
import type { DelegationContext } from '../context.js';

/**
 * Delegated selectors: the mail domain must answer each ring name with a CNAME to the
 * byodkim-controlled zone. Missing or pointing elsewhere, a rotation to that selector
 * cannot verify, so byodkim will not switch SES to it.
 */
export const delegationCname: Rule<DelegationContext> = {
  id: 'delegation-cname',
  codes: [
    {
      code: 'DELEGATION_CNAME_MISSING',
      severity: ['error', 'warning'],
      summary:
        'A delegated selector name has no CNAME at the mail domain (error when its selector is in use).',
    },
    {
      code: 'DELEGATION_CNAME_WRONG',
      severity: ['error', 'warning'],
      summary: 'A delegated selector name CNAMEs somewhere other than the byodkim-controlled zone.',
    },
  ],
  check(c) {
    if (c.answer.outcome === 'failed') return [];
    const first = c.answer.cnames[0]?.target.toLowerCase().replace(/\.$/, '');
    if (first === c.cname.target) return [];
    const severity = c.inUse ? 'error' : 'warning';
    const fix = `add "${c.cname.name}. 3600 IN CNAME ${c.cname.target}." at the mail domain (byodkim delegation-records --domain ${c.domain} prints the whole set)`;
    return [
      first === undefined
        ? {
            code: 'DELEGATION_CNAME_MISSING',
            severity,
            selector: c.cname.selector,
            name: c.cname.name,
            nameserver: c.answer.nameserver,
            seen: `no CNAME at ${c.cname.name}${c.answer.txt.length > 0 ? ' (a TXT record instead)' : ''}`,
            fix,
          }
        : {
            code: 'DELEGATION_CNAME_WRONG',
            severity,
            selector: c.cname.selector,
            name: c.cname.name,
            nameserver: c.answer.nameserver,
            seen: `CNAME to ${first}, not ${c.cname.target}`,
            fix: `replace it: ${fix}`,
          },
    ];
  },
};
