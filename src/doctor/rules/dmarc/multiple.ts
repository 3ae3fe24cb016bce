import type { Rule } from '../../finding.js';
import type { DmarcContext } from '../context.js';
import { dmarcFinding, dmarcRecords, strictRecords } from './common.js';

/** Several DMARC records: receivers then apply no DMARC at all (RFC 7489 §6.6.3). */
export const dmarcMultiple: Rule<DmarcContext> = {
  id: 'dmarc-multiple',
  codes: [
    {
      code: 'DMARC_MULTIPLE',
      severity: 'error',
      summary: 'Several v=DMARC1 records at _dmarc.<domain>: receivers apply none of them.',
    },
  ],
  check(c) {
    const records = strictRecords(dmarcRecords(c.answer));
    if (records.length < 2) return [];
    return [
      dmarcFinding(
        c,
        'DMARC_MULTIPLE',
        'error',
        `${records.length} DMARC records: ${records
          .map((r) => JSON.stringify(r.value))
          .sort()
          .join(', ')}; with more than one, receivers apply no DMARC policy at all`,
        `keep exactly one TXT record starting with v=DMARC1 at ${c.answer.name}: remove the others`,
      ),
    ];
  },
};
