/**
 * The KeyVault contract (src/ports.ts): keys by domain and selector, stored and read back,
 * never overwritten, retired idempotently, listed per domain, and never echoed into a
 * location or an error. A new vault is proved by one call from a test file:
 *
 *   describeKeyVaultContract('FileKeyVault', () => new FileKeyVault({ dir }));
 *
 * The factory is called once per test, inside the test; every test uses domains of its
 * own, so one backend (a bucket) can serve the whole suite.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DkimPrivateKey } from '../../src/domain/key.js';
import { AlreadyExistsError, InputError } from '../../src/errors.js';
import type { KeyVault } from '../../src/ports.js';
import { leaks } from '../support/invariants.js';
import { secretSlices, testKey } from '../support/keys.js';
import { freshDomain } from './state-store.js';

export type KeyVaultFactory = () => KeyVault | Promise<KeyVault>;

/** Everything an error may carry that a person or a log could read. */
function visible(error: unknown): string {
  const e = error as { message?: string; context?: unknown; stack?: string };
  return `${e.message ?? ''} ${JSON.stringify(e.context ?? {})} ${e.stack ?? ''}`;
}

export function describeKeyVaultContract(name: string, factory: KeyVaultFactory): void {
  describe(`KeyVault contract: ${name}`, () => {
    let vault: KeyVault;
    let first: DkimPrivateKey;
    let second: DkimPrivateKey;

    beforeAll(async () => {
      first = await testKey('vault-contract-1', 1024);
      second = await testKey('vault-contract-2', 1024);
    });

    beforeEach(async () => {
      vault = await factory();
    });

    it('stores a key and reads the same key back; the location names the selector, never the key', async () => {
      const domain = freshDomain('put');
      const location = await vault.put(domain, 'mail-20260101-1', first);
      expect(location).toContain('mail-20260101-1');
      expect(leaks(location, secretSlices(first))).toBe(false);
      expect((await vault.get(domain, 'mail-20260101-1'))?.samePair(first)).toBe(true);
      expect(await vault.list(domain)).toEqual(['mail-20260101-1']);
      expect(vault.description).not.toBe('');
    });

    it('has nothing for a selector or a domain never stored', async () => {
      const domain = freshDomain('empty');
      expect(await vault.get(domain, 'mail-20260101-1')).toBeUndefined();
      expect(await vault.list(domain)).toEqual([]);
    });

    it('never overwrites: a second key for a selector fails with AlreadyExistsError and the first stays', async () => {
      const domain = freshDomain('overwrite');
      await vault.put(domain, 'sel1', first);
      const error = await vault.put(domain, 'sel1', second).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AlreadyExistsError);
      expect(leaks(visible(error), [...secretSlices(first), ...secretSlices(second)])).toBe(false);
      expect((await vault.get(domain, 'sel1'))?.samePair(first)).toBe(true);
    });

    it('of two writers racing on one selector exactly one wins, and its key is the one stored', async () => {
      const domain = freshDomain('race');
      const results = await Promise.allSettled([
        vault.put(domain, 'sel1', first),
        vault.put(domain, 'sel1', second),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(
        AlreadyExistsError,
      );
      const winner = results[0]?.status === 'fulfilled' ? first : second;
      expect((await vault.get(domain, 'sel1'))?.samePair(winner)).toBe(true);
    });

    it('retires a key (gone from get and list), leaves the others, and retiring again is fine', async () => {
      const domain = freshDomain('retire');
      await vault.put(domain, 'old', first);
      await vault.put(domain, 'new', second);
      await vault.retire(domain, 'old');
      expect(await vault.get(domain, 'old')).toBeUndefined();
      expect(await vault.list(domain)).toEqual(['new']);
      await expect(vault.retire(domain, 'old')).resolves.toBeUndefined();
      await expect(vault.retire(domain, 'never-stored')).resolves.toBeUndefined();
      expect((await vault.get(domain, 'new'))?.samePair(second)).toBe(true);
    });

    it('lists every selector of exactly this domain, sorted (not of domains that share a prefix)', async () => {
      const domain = freshDomain('list');
      for (const selector of ['sel-b', 'sel-a', 'sel-c']) await vault.put(domain, selector, first);
      await vault.put(`sub.${domain}`, 'sub-sel', first);
      await vault.put(`${domain}.org`, 'org-sel', first);
      await vault.put(`x${domain}`, 'x-sel', first);
      expect(await vault.list(domain)).toEqual(['sel-a', 'sel-b', 'sel-c']);
    });

    it('refuses a selector that is not a DNS label (it could escape the layout) with InputError, storing nothing', async () => {
      const domain = freshDomain('escape');
      for (const selector of ['../x', 'a/b', '']) {
        await expect(vault.put(domain, selector, first)).rejects.toBeInstanceOf(InputError);
      }
      expect(await vault.list(domain)).toEqual([]);
    });
  });
}
