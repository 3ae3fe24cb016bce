import type { Rule } from '../../finding.js';
import type { DmarcContext } from '../context.js';
import { dmarcFinding, effectiveDmarc } from './common.js';

/**
 * `adkim=s`: DKIM aligns only when the signing domain equals the From domain exactly. SES
 * signs with `d=<identity>`, so mail From a subdomain (or From the organizational domain
 * when the identity is a subdomain) does not pass DMARC through DKIM.
 */
export const dmarcAdkimStrict: Rule<DmarcContext> = {
  id: 'dmarc-adkim-strict',
  codes: [
    {
      code: 'DMARC_ADKIM_STRICT',
      severity: 'info',
      summary: 'adkim=s: the DKIM signing domain must equal the From domain exactly.',
    },
  ],
  check(c) {
    const found = effectiveDmarc(c);
    if (found === undefined || !found.record.parse.ok || found.record.parse.policy.adkim !== 's') return [];
    return [
      dmarcFinding(
        c,
        'DMARC_ADKIM_STRICT',
        'info',
        `adkim=s (strict DKIM alignment) at ${found.name}: SES signs with d=${c.domain}, so only mail whose From address is exactly @${c.domain} aligns; From a subdomain of it${found.inherited ? ` or from ${found.name.replace(/^_dmarc\./, '')}` : ''} does not pass DMARC through DKIM`,
        `send only From @${c.domain} through this identity, verify each other From domain as its own SES identity with its own key, or use adkim=r`,
        found.name,
      ),
    ];
  },
};
