import type { Rule } from '../../finding.js';
import type { StrayNameContext } from '../context.js';
import { strayFinding, strayRecords } from './stray-name.js';

/** The record was published at `<sel>.<domain>`, without the `_domainkey` label verifiers look under. */
export const noDomainkeyLabel: Rule<StrayNameContext> = {
  id: 'dns-name-without-domainkey',
  codes: [
    {
      code: 'DNS_NAME_WITHOUT_DOMAINKEY',
      severity: ['error', 'warning'],
      summary:
        'The record sits at <sel>.<domain>, without the _domainkey label; warning when the right name has its record too.',
    },
  ],
  check(c) {
    if (c.kind !== 'no-domainkey') return [];
    const served = strayRecords(c);
    if (served === undefined) return [];
    return [
      strayFinding(
        c,
        'DNS_NAME_WITHOUT_DOMAINKEY',
        `a DKIM record at ${c.answer.name}, without the "_domainkey" label: ${served}`,
        'DKIM keys live at <selector>._domainkey.<domain>',
      ),
    ];
  },
};
