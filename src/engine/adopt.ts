import { type AdoptionFacts, adoptedSelector, planAdoption } from '../domain/adoption.js';
import { type DkimPrivateKey, importPrivateKey } from '../domain/key.js';
import type { DomainSpec } from '../domain/lifecycle/index.js';
import type { SesDkimView } from '../domain/observation.js';
import { dkimRecordName } from '../domain/record.js';
import type { Actor, DomainState } from '../domain/state.js';
import { describeError, ServiceError } from '../errors.js';
import { runPass } from './pass.js';
import type { EngineDeps } from './reconcile.js';

/** Where an existing key may be found when SES already signs with one byodkim did not make. */
export interface AdoptSources {
  /** A PEM or base64 DER file given by the operator (`--key-file`). */
  keyFile?: { path: string; read(path: string): Promise<string> };
  /** The seed system's secret and S3 object (`--seed-secret`). */
  seed?: () => Promise<
    { selector?: string; createdAt?: string; expiresAt?: string; key?: DkimPrivateKey } | undefined
  >;
}

export interface AdoptResult {
  state: DomainState;
  summary: string;
  warnings: string[];
}

/**
 * Adoption as the front ends run it: a pass under the domain's lease that gathers what SES,
 * DNS, the vault and the given sources show, lets the domain decide (planAdoption), and
 * carries the plan out with the interpreter — a key found outside the vault is stored and
 * read back before the state names it.
 */
export async function adoptNow(
  domain: DomainSpec,
  deps: EngineDeps,
  options: { fromEasyDkim: boolean; sources: AdoptSources; now?: Date; actor?: Actor },
): Promise<AdoptResult> {
  let outside: DkimPrivateKey | undefined;
  const pass = await runPass(domain.domain, deps, {
    purpose: 'adopt',
    keySource: async () => outside,
    planFor: async (state, now) => {
      const views: SesDkimView[] = [];
      for (const region of domain.regions) {
        try {
          views.push(await deps.signing.describe(domain.domain, region));
        } catch (error) {
          throw new ServiceError(
            'ADOPT_SES_UNREADABLE',
            `cannot read SES ${region} for ${domain.domain}: ${describeError(error)}`,
            { context: { domain: domain.domain, region }, cause: error },
          );
        }
      }
      const selector = adoptedSelector(state, domain, views, options.fromEasyDkim);
      const facts: AdoptionFacts = { spec: domain, now, actor: options.actor ?? deps.actor, selector };
      if (selector !== undefined) {
        const seed = await options.sources.seed?.();
        if (seed) {
          facts.seed = {
            ...(seed.createdAt ? { createdAt: seed.createdAt } : {}),
            ...(seed.expiresAt ? { expiresAt: seed.expiresAt } : {}),
          };
        }
        const inVault = await deps.vault.get(domain.domain, selector);
        if (inVault) {
          facts.found = {
            publicKey: inVault.publicKey,
            bits: inVault.bits,
            source: 'vault',
            vaultRef: `${deps.vault.description} (${selector})`,
          };
        } else if (options.sources.keyFile) {
          const { path, read } = options.sources.keyFile;
          outside = importPrivateKey(await read(path), path);
          facts.found = {
            publicKey: outside.publicKey,
            bits: outside.bits,
            source: 'key-file',
            vaultRef: '',
          };
        } else if (seed?.key && (seed.selector === undefined || seed.selector === selector)) {
          outside = seed.key;
          facts.found = { publicKey: outside.publicKey, bits: outside.bits, source: 'seed', vaultRef: '' };
        }
        facts.probe = await deps.probe.probe(dkimRecordName(selector, domain.domain), facts.found?.publicKey);
      }
      return { plan: planAdoption(facts) };
    },
  });
  const failed = pass.steps.find((s) => s.status === 'failed');
  if (failed) {
    throw new ServiceError('ADOPT_FAILED', `${domain.domain}: ${failed.error}`, {
      context: { domain: domain.domain },
    });
  }
  const adopted = pass.state.keys.find((k) => k.status === 'active');
  return {
    state: pass.state,
    summary: adopted
      ? `${domain.domain}: adopted selector ${adopted.selector}${adopted.vaultRef ? '' : ' (public key only; rotation requested)'}, valid until ${adopted.notAfter}`
      : `${domain.domain}: adopted from Easy DKIM; the next "byodkim apply" publishes a key and switches SES once DNS serves it`,
    warnings: pass.plan.warnings.map((w) => w.message),
  };
}
