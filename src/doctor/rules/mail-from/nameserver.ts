import type { Rule } from '../../finding.js';
import { gapSeverity } from '../../mail-from.js';
import type { MailFromMxContext } from '../context.js';

/** A nameserver of the MAIL FROM domain that does not answer for it (SES then reports TEMPORARY_FAILURE). */
export const mailFromDnsFailed: Rule<MailFromMxContext> = {
  id: 'mail-from-dns-failed',
  codes: [
    {
      code: 'MAIL_FROM_DNS_FAILED',
      severity: ['warning', 'error'],
      summary:
        'A nameserver of the MAIL FROM domain did not answer (SERVFAIL, REFUSED, lame, timeout) or none was found; error while SES does not sign with the domain key there now.',
    },
  ],
  check(c) {
    if (c.answer.outcome !== 'failed') return [];
    const failure = c.answer.failure;
    return [
      {
        code: 'MAIL_FROM_DNS_FAILED',
        severity: gapSeverity([c.use]),
        name: c.use.mailFromDomain,
        nameserver: c.answer.nameserver,
        seen: `MX? ${c.use.mailFromDomain} failed: ${failure?.detail ?? 'no answer'}; SES reports a DNS failure as TEMPORARY_FAILURE and cannot verify the MAIL FROM meanwhile`,
        fix:
          failure?.kind === 'discovery'
            ? `make ${c.use.mailFromDomain} resolvable: check the delegation of its zone, or list probe.nameservers`
            : `make this nameserver serve the zone of ${c.use.mailFromDomain} (loaded, transfers working, UDP and TCP 53), or remove it from the NS set`,
      },
    ];
  },
};
