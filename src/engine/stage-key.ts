import type { ResolvedDomain } from '../config/load.js';
import { freeRingSelector } from '../domain/delegation.js';
import { generateDkimKey, type KeyBits } from '../domain/key.js';
import { DAY_MS } from '../domain/policy.js';
import { nextSelector } from '../domain/selector.js';
import type { Actor, DomainState, KeyEntry } from '../domain/state.js';
import { ByodkimError } from '../errors.js';
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
  let selector: string;
  let keys = state.keys;
  if (domain.delegation) {
    // A fixed ring of names: take a free one; the retired entry that last used it leaves
    // the key list (its story stays in the history), so selectors stay unique in the state.
    const free = freeRingSelector(domain.selectorPrefix, domain.delegation, state.keys, now);
    if (free === undefined) {
      throw new ByodkimError(
        'SELECTOR_RING_BUSY',
        `${domain.domain}: every delegated selector name is in use or cooling down`,
        {
          context: { domain: domain.domain },
        },
      );
    }
    selector = free;
    keys = state.keys.filter((k) => k.selector !== selector);
  } else {
    const existing = new Set([...state.keys.map((k) => k.selector), ...(await vault.list(domain.domain))]);
    selector = nextSelector({
      template: domain.policy.selectorTemplate,
      prefix: domain.selectorPrefix,
      day: now,
      existing,
      where: domain.domain,
    });
  }
  // A ring name whose key is still in the vault although the state does not name it: a
  // run stored it and died before saving. That key was read back; use it, never overwrite.
  const orphan = domain.delegation ? await vault.get(domain.domain, selector) : undefined;
  const privateKey = orphan ?? (await generateDkimKey(options.bits ?? domain.policy.keyBits));
  const vaultRef = orphan
    ? `${vault.description} (${selector})`
    : await vault.put(domain.domain, selector, privateKey);
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
      keys: [...keys, key],
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
