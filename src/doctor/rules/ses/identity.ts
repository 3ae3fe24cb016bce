import type { Rule } from '../../finding.js';
import type { SesContext } from '../context.js';

/** GetEmailIdentity failed: nothing else can be said about the region. */
export const sesReadFailed: Rule<SesContext> = {
  id: 'ses-read-failed',
  codes: [
    {
      code: 'SES_READ_FAILED',
      severity: 'error',
      summary: 'GetEmailIdentity failed (credentials, region, endpoint, throttling).',
    },
  ],
  check(c) {
    if (c.read.ok) return [];
    return [
      {
        code: 'SES_READ_FAILED',
        severity: 'error',
        region: c.region,
        seen: `GetEmailIdentity ${c.domain} in ${c.region} failed: ${c.read.error}`,
        fix: `check the credentials (--profile, AWS_PROFILE), the region, aws.endpoints.sesv2 if set, and that the caller may ses:GetEmailIdentity on identity/${c.domain}`,
      },
    ];
  },
};

/** The SES identity does not exist in a configured region. */
export const sesIdentityMissing: Rule<SesContext> = {
  id: 'ses-identity-missing',
  codes: [
    {
      code: 'SES_IDENTITY_MISSING',
      severity: 'error',
      summary: 'The SES identity does not exist in a configured region.',
    },
  ],
  check(c) {
    if (!c.read.ok || c.read.view.exists) return [];
    return [
      {
        code: 'SES_IDENTITY_MISSING',
        severity: 'error',
        region: c.region,
        seen: `SES has no identity ${c.domain} in ${c.region}`,
        fix: c.createIdentity
          ? `run "byodkim apply --domain ${c.domain}": createIdentity is on, so it creates the identity with BYODKIM once the key's record is verified`
          : `create the identity (the ByodkimSesIdentities construct, AWS::SES::EmailIdentity, or "aws sesv2 create-email-identity --email-identity ${c.domain} --region ${c.region}"), or set createIdentity: true for ${c.domain} and run "byodkim apply"`,
      },
    ];
  },
};
