import type { Rule } from '../../finding.js';
import type { SesContext } from '../context.js';
import { describeChecks, describeErrorType, fixForErrorType, sesRecordName } from './explain.js';
import { existingView } from './view.js';

/**
 * DKIM status is not SUCCESS: FAILED (SES gave up after 72 hours; mail is not signed with
 * the domain's key) or still PENDING / TEMPORARY_FAILURE.
 */
export const sesDkimStatus: Rule<SesContext> = {
  id: 'ses-dkim-status',
  codes: [
    {
      code: 'SES_DKIM_FAILED',
      severity: 'error',
      summary: 'DKIM status FAILED: SES stopped looking for the record; a new put restarts verification.',
    },
    {
      code: 'SES_DKIM_PENDING',
      severity: 'warning',
      summary:
        'DKIM status PENDING, NOT_STARTED or TEMPORARY_FAILURE: SES has not (or no longer) found the record.',
    },
  ],
  check(c) {
    const view = existingView(c);
    if (view === undefined || view.status === undefined || view.status === 'SUCCESS') return [];
    const selector = view.origin === 'EXTERNAL' ? view.tokens[0] : undefined;
    const where = selector === undefined ? '' : ` for selector ${selector}`;
    const seen = `DKIM status ${view.status}${where} in ${c.region}: ${describeErrorType(view.verificationError)}, ${describeChecks(view, c.now)}`;
    if (view.status === 'FAILED') {
      return [
        {
          code: 'SES_DKIM_FAILED',
          severity: 'error',
          region: c.region,
          ...(selector === undefined ? {} : { selector }),
          seen,
          fix: `${fixForErrorType(view)}; then run "byodkim apply --domain ${c.domain}" (it re-puts the key, which restarts SES's 72-hour verification, or rolls back to the previous selector)`,
        },
      ];
    }
    return [
      {
        code: 'SES_DKIM_PENDING',
        severity: 'warning',
        region: c.region,
        ...(selector === undefined ? {} : { selector }),
        seen,
        fix: `${fixForErrorType(view)}; SES keeps checking ${sesRecordName(view)} for up to 72 hours after the key was put`,
      },
    ];
  },
};
