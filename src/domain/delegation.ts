import { DAY_MS } from './policy.js';
import { dkimRecordName } from './record.js';
import { assertValidSelector } from './selector.js';
import type { KeyEntry } from './state.js';

/**
 * Delegated DKIM (as Debian's dkim-rotate does it): the mail domain publishes, once,
 *
 *   <prefix>-a._domainkey.example.com  CNAME  <prefix>-a.<zone>
 *   <prefix>-b._domainkey.example.com  CNAME  <prefix>-b.<zone>   ...
 *
 * and byodkim rotates keys inside `<zone>` on its own. The selector names form a fixed
 * ring; a name is reused only once the key that last used it is retired (grace over,
 * record removed, key destroyed) and a cool-down has passed, so no resolver still holds
 * the old record and no signature made with the old key can still be checked against it.
 */
export interface Delegation {
  zone: string;
  selectors: number;
  coolDownDays: number;
}

export function ringSelectors(prefix: string, size: number): string[] {
  return Array.from({ length: size }, (_, i) => {
    const selector = `${prefix}-${String.fromCharCode(97 + i)}`;
    assertValidSelector(selector, `delegation selector ${i + 1}`);
    return selector;
  });
}

/** Where the TXT record lives: in the delegated zone, or at the mail domain itself. */
export function publishedRecordName(
  domain: { domain: string; delegation?: Delegation | undefined },
  selector: string,
): string {
  return domain.delegation
    ? `${selector}.${domain.delegation.zone}`
    : dkimRecordName(selector, domain.domain);
}

/** The one-time CNAMEs the mail domain's DNS team adds. */
export function delegationCnames(
  domain: string,
  prefix: string,
  delegation: Delegation,
): Array<{ name: string; target: string; selector: string }> {
  return ringSelectors(prefix, delegation.selectors).map((selector) => ({
    selector,
    name: dkimRecordName(selector, domain),
    target: `${selector}.${delegation.zone}`,
  }));
}

/**
 * The first ring name free for a new key at `now`: no key uses it, and the last key that
 * did was destroyed at least the cool-down ago. Undefined when the whole ring is busy.
 */
export function freeRingSelector(
  prefix: string,
  delegation: Delegation,
  keys: readonly KeyEntry[],
  now: Date,
): string | undefined {
  return freeRingSelectors(prefix, delegation, keys, now)[0];
}

/** Free ring names, least recently used first (never-used names first), so reuse is as late as possible. */
export function freeRingSelectors(
  prefix: string,
  delegation: Delegation,
  keys: readonly KeyEntry[],
  now: Date,
): string[] {
  const lastUse = (selector: string): number =>
    Math.max(
      0,
      ...keys.filter((k) => k.selector === selector).map((k) => Date.parse(k.destroyedAt ?? k.createdAt)),
    );
  return ringSelectors(prefix, delegation.selectors)
    .filter((selector) => {
      const users = keys.filter((k) => k.selector === selector);
      return users.every(
        (k) =>
          k.destroyedAt !== undefined &&
          Date.parse(k.destroyedAt) + delegation.coolDownDays * DAY_MS <= now.getTime(),
      );
    })
    .sort((a, b) => lastUse(a) - lastUse(b));
}
