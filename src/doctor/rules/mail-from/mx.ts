import type { Rule } from '../../finding.js';
import {
  feedbackHost,
  gapConsequence,
  gapSeverity,
  mxLine,
  nowClause,
  readMx,
  refusesMail,
} from '../../mail-from.js';
import type { MailFromMxContext } from '../context.js';

const OUTCOME_WORDS: Record<string, string> = {
  nxdomain: 'NXDOMAIN',
  nodata: 'NODATA',
  answer: `only a CNAME, to a name without MX`,
};

/**
 * The MX at a MAIL FROM domain, on one nameserver: SES verifies the MAIL FROM by finding
 * `feedback-smtp.<region>.amazonses.com` there (and sends bounces and complaints to it);
 * a domain that also receives mail (other exchanges) is not one SES accepts.
 */
export const mailFromMx: Rule<MailFromMxContext> = {
  id: 'mail-from-mx',
  codes: [
    {
      code: 'MAIL_FROM_MX_MISSING',
      severity: ['warning', 'error'],
      summary:
        'No MX record at the MAIL FROM domain: SES cannot verify it; error with REJECT_MESSAGE or while SES does not sign with the domain key there now.',
    },
    {
      code: 'MAIL_FROM_MX_WRONG',
      severity: ['warning', 'error'],
      summary:
        "An MX at the MAIL FROM domain other than the region's feedback-smtp.<region>.amazonses.com; error as for MAIL_FROM_MX_MISSING.",
    },
  ],
  check(c) {
    const { use, answer } = c;
    const reading = readMx(answer, use.region);
    if (reading.state === 'ok' || reading.state === 'failed') return [];
    const severity = gapSeverity([use], refusesMail(use));
    const consequence = refusesMail(use)
      ? `SES cannot verify the MAIL FROM, and with REJECT_MESSAGE refuses to send mail from ${c.domain} in ${use.region} then`
      : `SES cannot verify the MAIL FROM and sends with its own amazonses.com MAIL FROM, so SPF does not align; ${gapConsequence(c.domain)}${nowClause([use], c.domain)}`;
    const base = { severity, region: use.region, name: use.mailFromDomain, nameserver: answer.nameserver };
    if (reading.state === 'missing') {
      return [
        {
          ...base,
          code: 'MAIL_FROM_MX_MISSING',
          seen: `no MX record at ${use.mailFromDomain} (${OUTCOME_WORDS[answer.outcome] ?? answer.outcome}): ${consequence}`,
          fix: `publish \`${mxLine(use.mailFromDomain, use.region)}\``,
        },
      ];
    }
    const otherRegions = reading.foreign
      .map((host) => /^feedback-smtp\.([a-z0-9-]+)\.amazonses\.com$/.exec(host)?.[1])
      .filter((region): region is string => region !== undefined);
    return [
      {
        ...base,
        code: 'MAIL_FROM_MX_WRONG',
        seen: `MX ${reading.served.join(', ')} at ${use.mailFromDomain}; SES in ${use.region} wants ${feedbackHost(use.region)} as its only MX${otherRegions.length > 0 ? ` (${otherRegions.map((r) => `feedback-smtp.${r}.amazonses.com is SES in ${r}`).join(', ')})` : ' (a MAIL FROM domain must not receive mail)'}: ${consequence}`,
        fix:
          `replace the MX records at ${use.mailFromDomain} with \`${mxLine(use.mailFromDomain, use.region)}\`` +
          (otherRegions.length > 0
            ? `; when several regions share ${use.mailFromDomain}, give each region its own MAIL FROM subdomain with its own region's MX`
            : ''),
      },
    ];
  },
};
