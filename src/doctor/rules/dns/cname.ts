import type { Rule } from '../../finding.js';
import { publishInstruction, roleSeverity, roleWords } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { recordFinding } from './common.js';

/**
 * A CNAME where BYODKIM needs a TXT record. Typical: the three Easy DKIM CNAMEs to
 * `dkim.amazonses.com` kept, or a selector CNAMEd somewhere by habit.
 *
 * Hook for delegated zones: when the domain is configured to delegate its selectors by
 * CNAME to a zone byodkim controls (`delegatedTo`), the CNAME is the design and this rule
 * stays silent; the delegated-zone checks (target inside that zone, TXT there) belong to
 * that feature.
 */
export const cnameInsteadOfTxt: Rule<RecordContext> = {
  id: 'dns-cname-instead-of-txt',
  codes: [
    {
      code: 'DNS_CNAME_INSTEAD_OF_TXT',
      severity: ['error', 'warning'],
      summary:
        'A CNAME at the selector name where a TXT record belongs (unless the domain delegates selectors).',
    },
  ],
  check(c) {
    if (c.delegatedTo !== undefined) return [];
    const cname = c.answer.cnames[0];
    if (c.answer.outcome !== 'answer' || cname === undefined) return [];
    const easyDkim = /\.dkim\.amazonses\.com$/i.test(cname.target);
    return [
      recordFinding(
        c,
        'DNS_CNAME_INSTEAD_OF_TXT',
        roleSeverity(c.record.role),
        `a CNAME to ${cname.target} (TTL ${cname.ttl})${easyDkim ? ', an Easy DKIM record' : ''} where the TXT record of ${roleWords(c.record)} belongs`,
        `remove the CNAME at ${c.record.name} (a name with a CNAME can hold nothing else) and ${publishInstruction(c.record, c.ttl)}`,
      ),
    ];
  },
};
