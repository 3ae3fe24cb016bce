import type { ResolvedDomain } from '../config/load.js';
import { type DkimPrivateKey, importPrivateKey } from '../domain/key.js';
import { DAY_MS } from '../domain/policy.js';
import { isPropagated } from '../domain/propagation.js';
import { dkimRecordName, parseDkimRecord } from '../domain/record.js';
import type { Actor, DomainState, KeyEntry } from '../domain/state.js';
import { describeError, InputError, ServiceError } from '../errors.js';
import type { DnsProbe, KeyVault, SesDkimView, SigningService } from '../ports.js';
import { updateDomainState } from './operator.js';
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
 * Takes over an identity that already uses BYODKIM (or, with an explicit flag, Easy DKIM)
 * without changing SES or DNS: the current selector becomes byodkim's active key. If its
 * private key is found (vault, key file, seed S3 object) byodkim keeps it; otherwise it
 * records the public key only and asks for a rotation away from the unknown key.
 */
export async function adoptDomain(
  domain: ResolvedDomain,
  current: DomainState,
  ports: { vault: KeyVault; signing: SigningService; probe: DnsProbe },
  options: { fromEasyDkim: boolean; sources: AdoptSources; now: Date; actor: Actor },
): Promise<AdoptResult> {
  if (current.keys.length > 0) {
    throw new InputError(
      'ALREADY_MANAGED',
      `${domain.domain} is already managed by byodkim (${current.keys.length} key(s) in its state); nothing to adopt`,
      {
        context: { domain: domain.domain },
      },
    );
  }
  const views: SesDkimView[] = [];
  for (const region of domain.regions) {
    try {
      views.push(await ports.signing.describe(domain.domain, region));
    } catch (error) {
      throw new ServiceError(
        'ADOPT_SES_UNREADABLE',
        `cannot read SES ${region} for ${domain.domain}: ${describeError(error)}`,
        {
          context: { domain: domain.domain, region },
          cause: error,
        },
      );
    }
  }
  const present = views.filter((v) => v.exists);
  if (present.length === 0) {
    throw new InputError(
      'NOTHING_TO_ADOPT',
      `${domain.domain} does not exist in SES in ${domain.regions.join(', ')}; nothing to adopt (use "byodkim apply" with createIdentity: true to onboard it)`,
      {
        context: { domain: domain.domain },
      },
    );
  }
  const selectors = [
    ...new Set(present.filter((v) => v.origin === 'EXTERNAL').map((v) => v.tokens[0] ?? '')),
  ].filter(Boolean);
  const at = options.now.toISOString();
  const base = current;
  const warnings: string[] = [];

  if (selectors.length === 0) {
    if (!options.fromEasyDkim) {
      throw new InputError(
        'EASY_DKIM_NEEDS_FLAG',
        `${domain.domain} uses Easy DKIM in SES; moving it to BYODKIM changes how its mail is signed, so it needs --from-easy-dkim (DNS is published and verified before SES is switched)`,
        {
          context: { domain: domain.domain },
        },
      );
    }
    return {
      state: {
        ...base,
        easyDkimTakeover: true,
        history: [
          ...base.history,
          {
            at,
            reason: 'AdoptedEasyDkim',
            message: `adopted from Easy DKIM; byodkim will publish its own key before switching SES`,
            actor: options.actor,
          },
        ],
      },
      summary: `${domain.domain}: adopted from Easy DKIM; the next "byodkim apply" publishes a key and switches SES once DNS serves it`,
      warnings,
    };
  }
  if (selectors.length > 1) {
    const where = present.map((v) => `${v.region}: ${v.tokens[0] ?? v.origin}`).join(', ');
    throw new InputError(
      'ADOPT_SELECTORS_DIFFER',
      `${domain.domain} uses different selectors per region (${where}); byodkim manages one key for all regions — align them first or configure the regions separately`,
      {
        context: { domain: domain.domain },
      },
    );
  }
  const selector = selectors[0] as string;
  const seed = await options.sources.seed?.();
  let key = await ports.vault.get(domain.domain, selector);
  let vaultRef = key ? `${ports.vault.description} (${selector})` : '';
  if (!key && options.sources.keyFile) {
    const { path, read } = options.sources.keyFile;
    key = importPrivateKey(await read(path), path);
  }
  if (!key && seed?.key && (seed.selector === undefined || seed.selector === selector)) key = seed.key;
  if (key && !vaultRef) vaultRef = await ports.vault.put(domain.domain, selector, key);

  const probe = await ports.probe.probe(dkimRecordName(selector, domain.domain), key?.publicKey);
  let publicKey = key?.publicKey;
  if (!publicKey) {
    for (const answer of probe.answers) {
      for (const served of answer.served) {
        const parsed = parseDkimRecord(served);
        if (parsed.ok && !parsed.record.revoked) publicKey = parsed.record.publicKey;
      }
    }
  }
  if (!publicKey) {
    throw new InputError(
      'ADOPT_NO_KEY',
      `${domain.domain}: SES signs with ${selector}, but its private key was not found (vault, --key-file, --seed-secret) and DNS serves no usable record for it`,
      {
        context: { domain: domain.domain, selector },
      },
    );
  }
  if (key && !isPropagated(probe)) {
    warnings.push(
      `${selector}: not every authoritative nameserver serves the adopted key (${probe.answers.map((a) => `${a.nameserver}: ${a.outcome}`).join(', ')})`,
    );
  }
  const createdAt =
    seed?.createdAt && !Number.isNaN(Date.parse(seed.createdAt))
      ? new Date(seed.createdAt).toISOString()
      : at;
  const notAfter =
    seed?.expiresAt && !Number.isNaN(Date.parse(seed.expiresAt))
      ? new Date(seed.expiresAt).toISOString()
      : new Date(Date.parse(createdAt) + domain.policy.validityDays * DAY_MS).toISOString();
  const entry: KeyEntry = {
    selector,
    bits: key?.bits ?? 2048,
    publicKey,
    vaultRef,
    origin: 'adopted',
    createdAt,
    notAfter,
    status: 'active',
    statusSince: at,
    verifyStreak: domain.policy.verifyChecks,
  };
  const state: DomainState = {
    ...base,
    keys: [entry],
    history: [
      ...base.history,
      {
        at,
        selector,
        to: 'active',
        reason: 'Adopted',
        message: key
          ? `adopted ${selector} with its private key (${vaultRef})`
          : `adopted ${selector} without its private key; rotating away from it`,
        actor: options.actor,
      },
    ],
  };
  if (!key) {
    state.rotation = { kind: 'manual', requestedAt: at, actor: options.actor };
    warnings.push(`${selector}: private key not found; a rotation to a byodkim key was requested`);
  }
  return {
    state,
    summary: `${domain.domain}: adopted selector ${selector}${key ? '' : ' (public key only; rotation requested)'}, valid until ${notAfter}`,
    warnings,
  };
}

/** Adoption as the front ends run it: under the domain's lease, saved with a version check. */
export function adoptNow(
  domain: ResolvedDomain,
  deps: Pick<EngineDeps, 'state' | 'owner' | 'vault' | 'signing' | 'probe'>,
  options: { fromEasyDkim: boolean; sources: AdoptSources; now: Date; actor: Actor },
): Promise<AdoptResult> {
  return updateDomainState(domain, deps, 'adopt', async (state) => {
    const result = await adoptDomain(domain, state, deps, options);
    return { state: result.state, result };
  });
}
