/**
 * Rule: which regions byodkim may act on in this pass. A region SES could not be read in,
 * an identity that does not exist (and may not be created), Easy DKIM that was not handed
 * over, or a selector byodkim did not set: reported, and left alone.
 */
import { Reason } from '../vocabulary.js';
import { heldSelector, type Working } from './working.js';

export function checkRegions(w: Working): void {
  const known = new Set(w.keys.map((k) => k.selector));
  for (const region of w.spec.regions) {
    const o = w.obs.ses[region];
    if (!o?.ok) {
      w.wait({
        reason: Reason.SesUnavailable,
        message: `SES in ${region} could not be read: ${o && !o.ok ? o.error : 'no answer'}; will retry`,
        outside: true,
        region,
      });
      continue;
    }
    const view = o.view;
    if (!view.exists) {
      if (w.spec.createIdentity) w.usable.add(region);
      else
        w.warn({
          code: Reason.IdentityMissing,
          message: `identity ${w.spec.domain} does not exist in SES ${region}; create it (DKIM off) or set createIdentity: true`,
          region,
        });
      continue;
    }
    if (
      view.origin !== 'EXTERNAL' &&
      view.signingEnabled &&
      view.status === 'SUCCESS' &&
      !w.state.easyDkimTakeover
    ) {
      w.warn({
        code: Reason.EasyDkimInUse,
        message: `SES ${region} signs ${w.spec.domain} with Easy DKIM; byodkim will not replace it unless adopted with --from-easy-dkim`,
        region,
      });
      continue;
    }
    const held = heldSelector(w, region);
    if (held !== undefined && !known.has(held)) {
      w.warn({
        code: Reason.UnknownSelectorInSes,
        message: `SES ${region} uses selector ${held}, which byodkim did not set; run "byodkim adopt" to take it over`,
        region,
        selector: held,
      });
      continue;
    }
    w.usable.add(region);
  }
}
