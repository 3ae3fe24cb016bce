import type { Rule } from '../../finding.js';
import {
  gapConsequence,
  gapSeverity,
  nowClause,
  readSpf,
  SES_SPF_INCLUDE,
  spfLine,
} from '../../mail-from.js';
import type { MailFromSpfContext } from '../context.js';

/**
 * SPF at a MAIL FROM domain, on one nameserver: receivers check SPF against the envelope
 * sender (bounce@<MAIL FROM>), so the domain must authorize SES's servers with
 * `include:amazonses.com` for SPF to pass and, under aspf=r, align. SES's own status does
 * not look at SPF (its check is the MX), so SUCCESS in SES says nothing about it.
 */
export const mailFromSpf: Rule<MailFromSpfContext> = {
  id: 'mail-from-spf',
  codes: [
    {
      code: 'MAIL_FROM_SPF_MISSING',
      severity: ['warning', 'error'],
      summary:
        'No SPF record (v=spf1) at the MAIL FROM domain: SPF does not pass for mail SES sends; error while SES does not sign with the domain key in a region using it now.',
    },
    {
      code: 'MAIL_FROM_SPF_WRONG',
      severity: ['warning', 'error'],
      summary:
        'The SPF at the MAIL FROM domain does not authorize amazonses.com (no include:amazonses.com, after "all", qualified, or several v=spf1 records); error as for MAIL_FROM_SPF_MISSING.',
    },
  ],
  check(c) {
    const reading = readSpf(c.answer);
    if (reading.state === 'ok' || reading.state === 'failed') return [];
    const consequence = `mail SES sends with MAIL FROM @${c.mailFromDomain} does not pass SPF, so SPF cannot align; ${gapConsequence(c.domain)}${nowClause(c.users, c.domain)}`;
    const base = { severity: gapSeverity(c.users), name: c.mailFromDomain, nameserver: c.answer.nameserver };
    if (reading.state === 'missing') {
      return [
        {
          ...base,
          code: 'MAIL_FROM_SPF_MISSING',
          seen: `no SPF record (TXT "v=spf1 …") at ${c.mailFromDomain}: ${consequence}`,
          fix: `publish \`${spfLine(c.mailFromDomain)}\``,
        },
      ];
    }
    return [
      {
        ...base,
        code: 'MAIL_FROM_SPF_WRONG',
        seen: `${reading.records.map((r) => JSON.stringify(r)).join(', ')} at ${c.mailFromDomain}: ${reading.problem}; ${consequence}`,
        fix:
          reading.records.length > 1
            ? `keep exactly one SPF record at ${c.mailFromDomain}, with ${SES_SPF_INCLUDE} before "all": e.g. \`${spfLine(c.mailFromDomain)}\``
            : `put ${SES_SPF_INCLUDE} (unqualified) before "all" in the record at ${c.mailFromDomain}, e.g. \`${spfLine(c.mailFromDomain)}\``,
      },
    ];
  },
};
