import type { Rule } from '../../finding.js';
import { gapSeverity, mxLine, nowClause, putMailFromCommand, refusesMail } from '../../mail-from.js';
import type { SesContext } from '../context.js';
import { sesMailFrom } from './common.js';

const MEANING: Record<string, string> = {
  PENDING: 'SES has not found the MX record yet (it looks for up to 72 hours after the MAIL FROM was set)',
  FAILED: 'SES could not find the MX record, or it no longer exists, and stopped looking',
  TEMPORARY_FAILURE: 'a DNS failure kept SES from reading the MX record (it keeps trying for 72 hours)',
};

/**
 * SES has not verified the MAIL FROM (PENDING, FAILED, TEMPORARY_FAILURE): it applies
 * BehaviorOnMxFailure, i.e. sends with its own amazonses.com MAIL FROM (SPF does not
 * align) or, with REJECT_MESSAGE, refuses to send at all.
 */
export const mailFromNotVerified: Rule<SesContext> = {
  id: 'mail-from-not-verified',
  codes: [
    {
      code: 'MAIL_FROM_NOT_VERIFIED',
      severity: ['warning', 'error'],
      summary:
        'MailFromDomainStatus is PENDING, FAILED or TEMPORARY_FAILURE: mail leaves with amazonses.com as MAIL FROM; error with REJECT_MESSAGE (SES refuses to send) or while SES does not sign with the domain key there now.',
    },
  ],
  check(c) {
    const use = sesMailFrom(c);
    const mailFrom = use?.mailFromDomain;
    if (use === undefined || mailFrom === undefined || use.status === 'SUCCESS') return [];
    const status = use.status ?? 'unknown';
    const meanwhile = refusesMail(use)
      ? `with BehaviorOnMxFailure REJECT_MESSAGE, SES refuses to send mail from ${c.domain} in ${c.region} (MailFromDomainNotVerified) until it is SUCCESS`
      : `meanwhile SES sends with its own amazonses.com MAIL FROM, so SPF does not align and DMARC fails during a switch gap${nowClause([use], c.domain)}`;
    const restart = `then restart SES's check: "${putMailFromCommand(c.domain, c.region, mailFrom, use.behaviorOnMxFailure)}"`;
    const fixes: Record<string, string> = {
      PENDING: `publish \`${mxLine(mailFrom, c.region)}\` (see the MAIL_FROM_MX findings); SES finds it at its next check`,
      FAILED: `publish \`${mxLine(mailFrom, c.region)}\`, ${restart}`,
      TEMPORARY_FAILURE: `make every nameserver of ${mailFrom} answer for it (SES keeps checking for 72 hours; past that, ${restart.replace(/^then /, '')})`,
    };
    return [
      {
        code: 'MAIL_FROM_NOT_VERIFIED',
        severity: gapSeverity([use], refusesMail(use)),
        region: c.region,
        name: mailFrom,
        seen: `MAIL FROM ${mailFrom} is ${status} in ${c.region}: ${MEANING[status] ?? 'SES does not report it verified'}; ${meanwhile}`,
        fix:
          (fixes[status] ?? `publish \`${mxLine(mailFrom, c.region)}\`, ${restart}`) +
          (refusesMail(use)
            ? `; to keep mail flowing until then, set --behavior-on-mx-failure USE_DEFAULT_VALUE`
            : ''),
      },
    ];
  },
};
