import type { Rule } from '../../finding.js';
import type { StrayNameContext } from '../context.js';
import { strayFinding, strayRecords } from './stray-name.js';

/**
 * The record was published under a doubled name, `<sel>._domainkey.example.com.example.com`:
 * a zone-file owner name written in full but without its final dot, so the origin was
 * appended again.
 */
export const doubledName: Rule<StrayNameContext> = {
  id: 'dns-name-doubled',
  codes: [
    {
      code: 'DNS_NAME_DOUBLED',
      severity: ['error', 'warning'],
      summary:
        'The record sits at <sel>._domainkey.<domain>.<zone> (zone-file owner name without its final dot); warning when the right name has its record too.',
    },
  ],
  check(c) {
    if (c.kind !== 'doubled') return [];
    const served = strayRecords(c);
    if (served === undefined) return [];
    return [
      strayFinding(
        c,
        'DNS_NAME_DOUBLED',
        `a DKIM record at the doubled name ${c.answer.name}: ${served}${c.rightNameServed ? '' : `, and nothing at ${c.record.name}`}`,
        `in a zone file, end a full owner name with a dot, "${c.record.name}.", or write it relative to the origin`,
      ),
    ];
  },
};
