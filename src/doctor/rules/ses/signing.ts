import type { Rule } from '../../finding.js';
import type { SesContext } from '../context.js';
import { existingView } from './view.js';

/** DKIM signing is turned off: mail leaves without the domain's signature. */
export const sesSigningDisabled: Rule<SesContext> = {
  id: 'ses-signing-disabled',
  codes: [
    { code: 'SES_SIGNING_DISABLED', severity: 'error', summary: 'DkimAttributes.SigningEnabled is false.' },
  ],
  check(c) {
    const view = existingView(c);
    if (view === undefined || view.signingEnabled !== false) return [];
    return [
      {
        code: 'SES_SIGNING_DISABLED',
        severity: 'error',
        region: c.region,
        seen: `SigningEnabled false in ${c.region}: mail from ${c.domain} is not signed with the domain's key, so it cannot pass DMARC through DKIM`,
        fix: `run "byodkim apply --domain ${c.domain}" (it enables signing once the selector is verified), or "aws sesv2 put-email-identity-dkim-attributes --email-identity ${c.domain} --signing-enabled --region ${c.region}"`,
      },
    ];
  },
};
