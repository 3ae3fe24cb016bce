/**
 * Rule: which regions byodkim may act on in this pass. A region SES could not be read in,
 * an identity that does not exist (and may not be created), Easy DKIM that was not handed
 * over, or a selector byodkim did not set: reported, and left alone.
 */
import type { SesSeen } from '../state.js';
import { Reason } from '../vocabulary.js';
import { heldSelector, type Working } from './working.js';

export function checkRegions(w: Working): void {
  if (w.obs.sesNotRead !== undefined) return; // nothing that needs SES is decided in this pass
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

/** What SES said in this pass, remembered when every region could be read (reads.ts decides the next read from it). */
export function recordSesRead(w: Working): void {
  if (w.obs.sesHealth !== undefined) {
    recordHealthRead(w);
    return;
  }
  if (w.obs.sesNotRead !== undefined) return;
  const regions: SesSeen['regions'] = {};
  for (const region of w.spec.regions) {
    const o = w.obs.ses[region];
    if (!o?.ok) return;
    const selector = heldSelector(w, region);
    regions[region] = {
      exists: o.view.exists,
      ...(o.view.status ? { status: o.view.status } : {}),
      ...(selector ? { selector } : {}),
      ...(o.view.signingEnabled !== undefined ? { signingEnabled: o.view.signingEnabled } : {}),
    };
  }
  w.do({ kind: 'ses-seen', regions, reason: Reason.SesRead, message: 'SES read in every region', phase: 7 });
}

/**
 * The batched health read (SES v1) found every region healthy: the read is remembered with
 * the selectors the last full read saw, since v1 names none (gather reads v2 otherwise).
 */
function recordHealthRead(w: Working): void {
  const health = w.obs.sesHealth ?? {};
  const before = w.state.sesSeen?.regions ?? {};
  const regions: SesSeen['regions'] = {};
  for (const region of w.spec.regions) {
    const h = health[region];
    const last = before[region];
    if (!h || !last) return;
    regions[region] = {
      ...last,
      exists: h.exists,
      ...(h.status ? { status: h.status } : {}),
      ...(h.signingEnabled !== undefined ? { signingEnabled: h.signingEnabled } : {}),
    };
  }
  w.do({
    kind: 'ses-seen',
    regions,
    reason: Reason.SesRead,
    message: 'SES health read (v1, batched) in every region',
    phase: 7,
  });
}
