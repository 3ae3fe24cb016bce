import type { Rule } from '../../finding.js';
import type { SesContext } from '../context.js';
import { existingView } from './view.js';

/**
 * The selector SES holds versus the one byodkim expects (state's active key). SES holds
 * exactly one selector per BYODKIM identity; during a switch it may already hold the next.
 */
export const sesSelector: Rule<SesContext> = {
  id: 'ses-selector',
  codes: [
    {
      code: 'SES_SELECTOR_MISMATCH',
      severity: 'error',
      summary: "SES signs with a selector that is not state's active key (nor one being switched to).",
    },
    {
      code: 'SES_SELECTOR_UNMANAGED',
      severity: 'warning',
      summary: 'SES signs with a BYODKIM selector but byodkim has no active key for the domain.',
    },
    {
      code: 'SES_SWITCHING',
      severity: 'info',
      summary: 'SES already holds the next key; the switch is under way.',
    },
  ],
  check(c) {
    const view = existingView(c);
    const held = view?.origin === 'EXTERNAL' ? view.tokens[0] : undefined;
    if (view === undefined || held === undefined || held === c.activeSelector) return [];
    if (c.switchingSelectors.includes(held)) {
      return [
        {
          code: 'SES_SWITCHING',
          severity: 'info',
          region: c.region,
          selector: held,
          seen: `SES in ${c.region} already holds ${held}, the key byodkim is switching to (state's active key: ${c.activeSelector ?? 'none'})`,
          fix: `nothing to do: "byodkim apply --domain ${c.domain}" promotes ${held} once SES reports SUCCESS in every region`,
        },
      ];
    }
    if (c.activeSelector === undefined) {
      return [
        {
          code: 'SES_SELECTOR_UNMANAGED',
          severity: 'warning',
          region: c.region,
          selector: held,
          seen: `SES in ${c.region} signs with selector ${held}, but byodkim has no active key for ${c.domain}${c.stateKnown ? '' : ' (no state at all)'}`,
          fix: `run "byodkim adopt --domain ${c.domain}" (with --key-file <pem> if the private key of ${held} is not in the vault) so byodkim rotates it; otherwise the next onboarding replaces it`,
        },
      ];
    }
    return [
      {
        code: 'SES_SELECTOR_MISMATCH',
        severity: 'error',
        region: c.region,
        selector: held,
        seen: `SES in ${c.region} signs with selector ${held}; byodkim's active key is ${c.activeSelector}`,
        fix: `if ${held} was put by hand, run "byodkim apply --domain ${c.domain}" to put ${c.activeSelector} back once its record is verified; if ${held} is the key you want, run "byodkim adopt --domain ${c.domain} --key-file <pem of ${held}>"`,
      },
    ];
  },
};
