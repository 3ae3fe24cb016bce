/**
 * Deciding an adoption: taking over an identity that already signs with BYODKIM (or, by
 * explicit choice, Easy DKIM) without changing SES or DNS. The current selector becomes
 * byodkim's active key; if its private key was found byodkim keeps it, otherwise it
 * records the public key only and asks for a rotation away from the unknown key.
 * Pure: the engine gathers the facts and carries out the plan.
 */
import { InputError } from '../errors.js';
import type { KeyBits } from './key.js';
import type { DomainSpec, Plan, StepOf } from './lifecycle/plan.js';
import type { ProbeResult, SesDkimView } from './observation.js';
import { DAY_MS } from './policy.js';
import { isPropagated } from './propagation.js';
import { parseDkimRecord } from './record.js';
import type { Actor, DomainState } from './state.js';
import { Reason } from './vocabulary.js';

/** The selector SES uses for BYODKIM across the configured regions (one, or a refusal). */
export function adoptedSelector(
  state: DomainState,
  spec: Pick<DomainSpec, 'domain' | 'regions'>,
  views: readonly SesDkimView[],
  fromEasyDkim: boolean,
): string | undefined {
  if (state.keys.length > 0) {
    throw new InputError(
      'ALREADY_MANAGED',
      `${spec.domain} is already managed by byodkim (${state.keys.length} key(s) in its state); nothing to adopt`,
      { context: { domain: spec.domain } },
    );
  }
  const present = views.filter((v) => v.exists);
  if (present.length === 0) {
    throw new InputError(
      'NOTHING_TO_ADOPT',
      `${spec.domain} does not exist in SES in ${spec.regions.join(', ')}; nothing to adopt (use "byodkim apply" with createIdentity: true to onboard it)`,
      { context: { domain: spec.domain } },
    );
  }
  const selectors = [
    ...new Set(present.filter((v) => v.origin === 'EXTERNAL').map((v) => v.tokens[0] ?? '')),
  ].filter(Boolean);
  if (selectors.length === 0) {
    if (!fromEasyDkim) {
      throw new InputError(
        'EASY_DKIM_NEEDS_FLAG',
        `${spec.domain} uses Easy DKIM in SES; moving it to BYODKIM changes how its mail is signed, so it needs --from-easy-dkim (DNS is published and verified before SES is switched)`,
        { context: { domain: spec.domain } },
      );
    }
    return undefined;
  }
  if (selectors.length > 1) {
    const where = present.map((v) => `${v.region}: ${v.tokens[0] ?? v.origin}`).join(', ');
    throw new InputError(
      'ADOPT_SELECTORS_DIFFER',
      `${spec.domain} uses different selectors per region (${where}); byodkim manages one key for all regions — align them first or configure the regions separately`,
      { context: { domain: spec.domain } },
    );
  }
  return selectors[0];
}

export interface AdoptionFacts {
  spec: Pick<DomainSpec, 'domain' | 'policy' | 'regions'>;
  now: Date;
  actor: Actor;
  selector: string | undefined;
  /** The private key found for the selector (its public half), and where. */
  found?: { publicKey: string; bits: KeyBits; source: 'vault' | 'key-file' | 'seed'; vaultRef: string };
  /** What the authoritative nameservers serve at the selector's record. */
  probe?: ProbeResult;
  /** The seed system's dates for the key, when it has them. */
  seed?: { createdAt?: string; expiresAt?: string };
}

export function planAdoption(facts: AdoptionFacts): Plan {
  const { spec, now, selector, found } = facts;
  const at = now.toISOString();
  const plan: Plan = { domain: spec.domain, steps: [], waits: [], warnings: [] };
  if (selector === undefined) {
    plan.steps.push({
      kind: 'adopt',
      reason: Reason.AdoptedEasyDkim,
      message: 'adopted from Easy DKIM; byodkim will publish its own key before switching SES',
      phase: 3,
    });
    return plan;
  }
  let publicKey = found?.publicKey;
  if (!publicKey) {
    for (const answer of facts.probe?.answers ?? []) {
      for (const served of answer.served) {
        const parsed = parseDkimRecord(served);
        if (parsed.ok && !parsed.record.revoked) publicKey = parsed.record.publicKey;
      }
    }
  }
  if (!publicKey) {
    throw new InputError(
      'ADOPT_NO_KEY',
      `${spec.domain}: SES signs with ${selector}, but its private key was not found (vault, --key-file, --seed-secret) and DNS serves no usable record for it`,
      { context: { domain: spec.domain, selector } },
    );
  }
  if (found && !isPropagated(facts.probe)) {
    plan.warnings.push({
      code: Reason.DnsPropagationPending,
      message: `${selector}: not every authoritative nameserver serves the adopted key (${(facts.probe?.answers ?? []).map((a) => `${a.nameserver}: ${a.outcome}`).join(', ')})`,
      selector,
    });
  }
  const validTime = (s: string | undefined) =>
    s && !Number.isNaN(Date.parse(s)) ? new Date(s).toISOString() : undefined;
  const createdAt = validTime(facts.seed?.createdAt) ?? at;
  const notAfter =
    validTime(facts.seed?.expiresAt) ??
    new Date(Date.parse(createdAt) + spec.policy.validityDays * DAY_MS).toISOString();
  const step: StepOf<'adopt'> = {
    kind: 'adopt',
    key: {
      selector,
      publicKey,
      bits: found?.bits ?? 2048,
      createdAt,
      notAfter,
      source: found?.source ?? 'none',
      vaultRef: found?.vaultRef ?? '',
      verifyStreak: spec.policy.verifyChecks,
    },
    reason: Reason.Adopted,
    message: found
      ? `adopted ${selector} with its private key (${found.source === 'vault' ? found.vaultRef : `from the ${found.source}`})`
      : `adopted ${selector} without its private key; rotating away from it`,
    phase: 7,
  };
  if (!found) {
    step.rotation = { kind: 'manual', requestedAt: at, actor: facts.actor };
    plan.warnings.push({
      code: Reason.RotationRequested,
      message: `${selector}: private key not found; a rotation to a byodkim key was requested`,
      selector,
    });
  }
  plan.steps.push(step);
  return plan;
}
