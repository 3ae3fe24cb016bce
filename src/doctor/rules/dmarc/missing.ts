import type { Rule } from '../../finding.js';
import type { DmarcContext } from '../context.js';
import { dmarcFinding, dmarcRecords, effectiveDmarc, suggestedDmarcLine } from './common.js';

/** No DMARC record for the domain (nor for its organizational domain). */
export const dmarcMissing: Rule<DmarcContext> = {
  id: 'dmarc-missing',
  codes: [
    {
      code: 'DMARC_MISSING',
      severity: 'warning',
      summary: 'No DMARC record at _dmarc.<domain> (nor at the organizational domain).',
    },
  ],
  check(c) {
    if (c.answer.outcome === 'failed') return [];
    if (dmarcRecords(c.answer).length > 0 || dmarcRecords(c.inherited).length > 0) return [];
    if (effectiveDmarc(c) !== undefined) return [];
    const where = c.inherited === undefined ? c.answer.name : `${c.answer.name} nor at ${c.inherited.name}`;
    return [
      dmarcFinding(
        c,
        'DMARC_MISSING',
        'warning',
        `no DMARC record at ${where}: receivers apply no policy, send no reports, and bulk-sender rules (Gmail, Yahoo) expect one`,
        `publish \`${suggestedDmarcLine(c.domain, c.ttl)}\` at ${c.answer.name}, read the reports, then move to p=quarantine and p=reject`,
      ),
    ];
  },
};
