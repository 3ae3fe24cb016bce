import type { ResolvedDomain } from '../config/load.js';
import { generateDkimKey, type KeyBits } from '../domain/key.js';
import { DAY_MS } from '../domain/policy.js';
import { nextSelector } from '../domain/selector.js';
import type { Actor, DomainState, KeyEntry } from '../domain/state.js';
import type { KeyVault } from '../ports.js';

/**
 * Phase 3: make the next key, store it durably, and only then name it in the state. The
 * selector counts up past every selector the state or the vault has ever seen, so a key
 * is never overwritten even after a crash between the vault write and the state save.
 */
export async function stageNewKey(options: {
  domain: ResolvedDomain;
  state: DomainState;
  vault: KeyVault;
  now: Date;
  actor: Actor;
  bits?: KeyBits;
  reason: string;
}): Promise<{ state: DomainState; key: KeyEntry }> {
  const { domain, state, vault, now } = options;
  const existing = new Set([...state.keys.map((k) => k.selector), ...(await vault.list(domain.domain))]);
  const selector = nextSelector({
    template: domain.policy.selectorTemplate,
    prefix: domain.selectorPrefix,
    day: now,
    existing,
    where: domain.domain,
  });
  const privateKey = await generateDkimKey(options.bits ?? domain.policy.keyBits);
  const vaultRef = await vault.put(domain.domain, selector, privateKey);
  const at = now.toISOString();
  const key: KeyEntry = {
    selector,
    bits: privateKey.bits,
    publicKey: privateKey.publicKey,
    vaultRef,
    origin: 'generated',
    createdAt: at,
    notAfter: new Date(now.getTime() + domain.policy.validityDays * DAY_MS).toISOString(),
    status: 'staged',
    statusSince: at,
  };
  return {
    key,
    state: {
      ...state,
      keys: [...state.keys, key],
      history: [
        ...state.history,
        {
          at,
          selector,
          to: 'staged',
          reason: options.reason,
          message: `generated ${key.bits}-bit key ${selector}, stored in ${vault.description}`,
          actor: options.actor,
        },
      ],
    },
  };
}
