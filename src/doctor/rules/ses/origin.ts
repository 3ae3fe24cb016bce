import type { Rule } from '../../finding.js';
import type { SesContext } from '../context.js';
import { existingView } from './view.js';

/** The identity signs with Easy DKIM (or another origin), not with byodkim's keys. */
export const sesNotByodkim: Rule<SesContext> = {
  id: 'ses-not-byodkim',
  codes: [
    {
      code: 'SES_NOT_BYODKIM',
      severity: ['error', 'info'],
      summary:
        'SigningAttributesOrigin is not EXTERNAL (Easy DKIM); info while an `adopt --from-easy-dkim` takeover is under way.',
    },
  ],
  check(c) {
    const view = existingView(c);
    if (view === undefined || view.origin === undefined || view.origin === 'EXTERNAL') return [];
    const seen = `SigningAttributesOrigin ${view.origin} in ${c.region} (tokens ${view.tokens.join(', ') || 'none'}): SES signs with its own keys, not with byodkim's`;
    if (c.easyDkimTakeover) {
      return [
        {
          code: 'SES_NOT_BYODKIM',
          severity: 'info',
          region: c.region,
          seen: `${seen}; a takeover (adopt --from-easy-dkim) is under way`,
          fix: `nothing yet: "byodkim apply --domain ${c.domain}" moves SES to BYODKIM once the new key's record is verified on every nameserver`,
        },
      ];
    }
    return [
      {
        code: 'SES_NOT_BYODKIM',
        severity: 'error',
        region: c.region,
        seen,
        fix: `run "byodkim adopt --domain ${c.domain} --from-easy-dkim" then "byodkim apply --domain ${c.domain}" (DNS is published and verified before SES switches; keep the Easy DKIM CNAMEs until then)`,
      },
    ];
  },
};
