import type { Rule } from '../../finding.js';
import type { SesContext } from '../context.js';
import { describeChecks, describeErrorType, fixForErrorType } from './explain.js';
import { existingView } from './view.js';

/**
 * VerifiedForSendingStatus is false: SES refuses to send from the domain. For a domain
 * identity SES verifies through DKIM, so the cause is in DNS (VerificationInfo says which).
 */
export const sesNotVerifiedForSending: Rule<SesContext> = {
  id: 'ses-not-verified-for-sending',
  codes: [
    {
      code: 'SES_NOT_VERIFIED_FOR_SENDING',
      severity: 'error',
      summary: 'VerifiedForSendingStatus is false; VerificationStatus and VerificationInfo say why.',
    },
  ],
  check(c) {
    const view = existingView(c);
    if (view === undefined || view.verifiedForSending !== false) return [];
    return [
      {
        code: 'SES_NOT_VERIFIED_FOR_SENDING',
        severity: 'error',
        region: c.region,
        seen: `VerifiedForSendingStatus false in ${c.region}: VerificationStatus ${view.verificationStatus ?? 'unknown'}, ${describeErrorType(view.verificationError)}, ${describeChecks(view, c.now)}`,
        fix: fixForErrorType(view),
      },
    ];
  },
};
