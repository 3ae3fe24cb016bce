/**
 * The safety invariants of PRODUCT.md ("never broken, tested as properties") and the rule
 * that a crash leaves nothing behind, as plain checks over what an observer of the world
 * sees: which selector SES uses per region, what every authoritative nameserver serves,
 * what the vault holds, what the state names. Each check returns what is wrong (empty or
 * undefined when all is well) so that a caller can record it, throw it, or count it.
 *
 * Two observers share them: the in-memory ModelWorld of the property tests (checks at the
 * moment of each side effect, inside its ports) and the crash harness (test/crash), which
 * watches the real CLI from outside through the SES emulator and the embedded DNS.
 */
import { createHash } from 'node:crypto';
import { matchRecord, parseDkimRecord } from '../../src/domain/record.js';
import type { DomainState } from '../../src/domain/state.js';

export const DAY_MS = 86_400_000;

/** What one authoritative nameserver serves at one record name: each TXT record, joined. */
export interface ServedAt {
  nameserver: string;
  values: readonly string[];
}

/** A DKIM TXT value that still publishes a key (not revoked with an empty `p=`). */
export function isLiveKeyRecord(value: string): boolean {
  const parsed = parseDkimRecord(value);
  return parsed.ok && !parsed.record.revoked;
}

/** A DKIM TXT value that revokes its selector (`p=` empty). */
export function isRevocation(value: string): boolean {
  const parsed = parseDkimRecord(value);
  return parsed.record?.revoked === true;
}

/**
 * When SES last signed with each selector, per region: the start of the grace period of
 * invariants 2 and 3. Observers call `note` whenever they see (or cause) which selector a
 * region uses; `regionsUsing` and `lastUsed` answer from what was noted.
 */
export class SesUsage {
  readonly #current = new Map<string, string | undefined>();
  readonly #lastUsed = new Map<string, number>();

  /** Region `region` signs with `selector` (undefined: with no BYODKIM key) as of `atMs`. */
  note(region: string, selector: string | undefined, atMs: number): void {
    const previous = this.#current.get(region);
    // The previous selector was in use right up to this moment.
    if (previous !== undefined) this.#touch(previous, atMs);
    this.#current.set(region, selector);
    if (selector !== undefined) this.#touch(selector, atMs);
  }

  /** Every selector in use is still in use at `atMs` (time passed with no change). */
  stillInUse(atMs: number): void {
    for (const selector of this.#current.values()) if (selector !== undefined) this.#touch(selector, atMs);
  }

  regionsUsing(selector: string): string[] {
    return [...this.#current.entries()].filter(([, s]) => s === selector).map(([region]) => region);
  }

  lastUsed(selector: string): number | undefined {
    return this.#lastUsed.get(selector);
  }

  #touch(selector: string, atMs: number): void {
    this.#lastUsed.set(selector, Math.max(atMs, this.#lastUsed.get(selector) ?? atMs));
  }
}

/** Nameservers that do not serve `publicKey` (and only it) at the selector's record name. */
export function notServing(served: readonly ServedAt[], publicKey: string): string[] {
  return served
    .filter((ns) => ns.values.length === 0 || ns.values.some((v) => matchRecord(v, publicKey) !== 'match'))
    .map((ns) => `${ns.nameserver}: ${ns.values.length === 0 ? 'missing' : 'other value'}`);
}

/**
 * Invariant 1, at the moment SES in `region` is pointed at `selector` (a put or a create
 * with signing attributes): every authoritative nameserver serves exactly that key.
 * `servedBefore` (optional) is what the nameservers served before the actor's pass began;
 * a record the actor published in the same pass cannot have been verified by it.
 */
export function checkSwitch(args: {
  region: string;
  selector: string;
  publicKey: string;
  servedNow: readonly ServedAt[];
  servedBefore?: readonly ServedAt[];
}): string | undefined {
  const now = notServing(args.servedNow, args.publicKey);
  if (now.length > 0)
    return `invariant 1: SES ${args.region} pointed at ${args.selector} before every nameserver served it (${now.join(', ')})`;
  const before = args.servedBefore === undefined ? [] : notServing(args.servedBefore, args.publicKey);
  if (before.length > 0)
    return `invariant 1: SES ${args.region} pointed at ${args.selector} in the same pass that published it, before any check could verify it (${before.join(', ')} when the pass began)`;
  return undefined;
}

/**
 * Invariant 2, when a record is removed or revoked at `atMs` (for a removal handed to a DNS
 * team: the `notBefore` it carries): no region uses the selector, and the grace period
 * since SES last used it is over. An emergency (explicit operator request) may revoke or
 * remove early, but never while SES still uses the selector for a removal.
 */
export function checkRecordRemoval(args: {
  selector: string;
  revocation: boolean;
  atMs: number;
  usage: SesUsage;
  graceMs: number;
  emergency: boolean;
}): string | undefined {
  if (args.revocation) {
    return args.emergency ? undefined : `invariant 2: ${args.selector} revoked without an emergency request`;
  }
  const using = args.usage.regionsUsing(args.selector);
  if (using.length > 0)
    return `invariant 2: record of ${args.selector} removed while SES uses it in ${using.join(', ')}`;
  const last = args.usage.lastUsed(args.selector);
  // One millisecond of slack: grace is computed from ISO times with millisecond precision.
  if (!args.emergency && last !== undefined && args.atMs - last < args.graceMs - 1) {
    return `invariant 2: record of ${args.selector} removed within grace (last used ${new Date(last).toISOString()}, removal ${new Date(args.atMs).toISOString()})`;
  }
  return undefined;
}

/**
 * Invariant 3, when a private key is destroyed (or archived) at `nowMs`: no region uses
 * it, its grace period is over, and no nameserver still serves its record (the record goes
 * first, then the key; otherwise a verifier could still be sent to a key nobody holds).
 */
export function checkKeyDestroyed(args: {
  selector: string;
  nowMs: number;
  usage: SesUsage;
  graceMs: number;
  emergency: boolean;
  served: readonly ServedAt[];
}): string[] {
  const problems: string[] = [];
  const using = args.usage.regionsUsing(args.selector);
  if (using.length > 0)
    problems.push(`invariant 3: key ${args.selector} destroyed while SES uses it in ${using.join(', ')}`);
  const last = args.usage.lastUsed(args.selector);
  if (!args.emergency && last !== undefined && args.nowMs - last < args.graceMs - 1)
    problems.push(
      `invariant 3: key ${args.selector} destroyed within grace (last used ${new Date(last).toISOString()})`,
    );
  if (!args.emergency) {
    for (const ns of args.served) {
      if (ns.values.some(isLiveKeyRecord))
        problems.push(
          `invariant 3: key ${args.selector} destroyed while ${ns.nameserver} still serves its record`,
        );
    }
  }
  return problems;
}

/** Text as a leak scan reads it: no whitespace, no JSON `\n` escapes (PEM lines joined up again). */
function compact(text: string): string {
  return text.replace(/\\n|\s/g, '');
}

/** Whether `text` carries any of the fingerprints, also across line breaks and JSON `\n` escapes. */
export function leaks(text: string, fingerprints: readonly string[]): boolean {
  const compacted = compact(text);
  return fingerprints.some((f) => compacted.includes(f));
}

/**
 * The fingerprints of many keys, for scanning a lot of text: one pass over the text
 * whatever the number of keys (a sliding window looked up in a map).
 */
export class SecretIndex {
  #width: number | undefined;
  readonly #owners = new Map<string, string>();

  /** Remembers a key's fingerprints (all of one length, e.g. `secretSlices`) under `id`. */
  add(id: string, fingerprints: readonly string[]): void {
    for (const f of fingerprints) {
      this.#width ??= f.length;
      if (f.length !== this.#width) throw new RangeError(`fingerprints must all be ${this.#width} long`);
      this.#owners.set(f, id);
    }
  }

  /** The ids of the keys whose material appears in `text`. */
  find(text: string): string[] {
    const width = this.#width;
    if (width === undefined) return [];
    const compacted = compact(text);
    const found = new Set<string>();
    for (let i = 0; i + width <= compacted.length; i++) {
      const owner = this.#owners.get(compacted.slice(i, i + width));
      if (owner !== undefined) found.add(owner);
    }
    return [...found];
  }
}

/** A stable, printable id of a key for reports: never the key, a hash of its public half. */
export function keyId(publicKey: string): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 12);
}

export type OrphanKind = 'key' | 'record';

export interface Orphan {
  kind: OrphanKind;
  domain: string;
  selector: string;
  /** What the state says of the selector (absent: it never heard of it). */
  named: string;
}

/**
 * "A crash leaves nothing behind": every key in the vault and every DKIM record in DNS is
 * named by the domain's state as a key that still exists (not destroyed). `records` are
 * the selectors that have a TXT record under `_domainkey` (or the delegated zone).
 */
export function findOrphans(args: {
  domain: string;
  state: DomainState | undefined;
  vaultSelectors: readonly string[];
  recordSelectors: readonly string[];
}): Orphan[] {
  const keys = new Map((args.state?.keys ?? []).map((k) => [k.selector, k]));
  const named = (selector: string): string => {
    const key = keys.get(selector);
    if (key === undefined) return 'absent from the state';
    return key.destroyedAt === undefined ? '' : `${key.status}, key destroyed ${key.destroyedAt}`;
  };
  const orphans: Orphan[] = [];
  for (const selector of args.vaultSelectors) {
    const why = named(selector);
    if (why !== '') orphans.push({ kind: 'key', domain: args.domain, selector, named: why });
  }
  for (const selector of args.recordSelectors) {
    const why = named(selector);
    if (why !== '') orphans.push({ kind: 'record', domain: args.domain, selector, named: why });
  }
  return orphans;
}
