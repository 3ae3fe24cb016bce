/**
 * The StateStore contract (src/ports.ts): what every state store must do, whatever it
 * keeps state in. A new store is proved by one call from a test file:
 *
 *   describeStateStoreContract('FileStateStore', ({ now }) => new FileStateStore({ dir, now }));
 *
 * The factory is called once per test, inside the test, so it may use resources that a
 * surrounding `beforeAll` started (moto, a table). Every test uses domains of its own, so
 * one backend can serve the whole suite without a reset.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DomainState } from '../../src/domain/state.js';
import { ConflictError, LockedError } from '../../src/errors.js';
import type { StateStore } from '../../src/ports.js';

export interface StateStoreContext {
  /** The clock the store must use for lease expiry. */
  now: () => Date;
}

export type StateStoreFactory = (context: StateStoreContext) => StateStore | Promise<StateStore>;

const START = Date.parse('2026-01-01T00:00:00.000Z');
const TTL = 60_000;

/** A domain no other test (or earlier run against the same backend) has used. */
export function freshDomain(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}.example`;
}

/** A state that exercises every field a store must keep as it is. */
export function fullState(domain: string, note = 'first'): DomainState {
  return {
    schema: 1,
    domain,
    keys: [
      {
        selector: 'mail-20260101-1',
        bits: 2048,
        publicKey: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAcontract',
        vaultRef: `file:/vault/${domain}/mail-20260101-1/private_key.pem`,
        origin: 'generated',
        createdAt: '2026-01-01T00:00:00.000Z',
        notAfter: '2027-01-01T00:00:00.000Z',
        status: 'active',
        statusSince: '2026-01-01T02:00:00.000Z',
        verifyStreak: 2,
        switchedAt: '2026-01-01T01:00:00.000Z',
        lastPublishedAt: '2026-01-01T00:00:00.000Z',
      },
      {
        selector: 'mail-20251201-1',
        bits: 1024,
        publicKey: 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCcontract',
        vaultRef: '',
        origin: 'adopted',
        createdAt: '2025-12-01T00:00:00.000Z',
        notAfter: '2026-12-01T00:00:00.000Z',
        status: 'retiring',
        statusSince: '2026-01-01T02:00:00.000Z',
        retiringSince: '2026-01-01T02:00:00.000Z',
        removalRequestedAt: '2026-01-08T02:00:00.000Z',
      },
    ],
    rotation: {
      kind: 'manual',
      requestedAt: '2026-01-01T00:00:00.000Z',
      actor: { kind: 'cli', user: 'ops' },
    },
    handOff: {
      sentAt: '2026-01-01T00:00:00.000Z',
      add: [{ name: `mail-20260101-1._domainkey.${domain}`, value: 'v=DKIM1; k=rsa; p=MIIB' }],
      remove: [],
    },
    history: [
      {
        at: '2026-01-01T02:00:00.000Z',
        selector: 'mail-20260101-1',
        from: 'verified',
        to: 'active',
        reason: 'SigningVerified',
        message: note,
        actor: { kind: 'test' },
      },
    ],
  };
}

export function describeStateStoreContract(name: string, factory: StateStoreFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    let nowMs: number;
    let store: StateStore;

    beforeEach(async () => {
      nowMs = START;
      store = await factory({ now: () => new Date(nowMs) });
    });

    describe('state with optimistic concurrency', () => {
      it('has no state for a domain never saved', async () => {
        const domain = freshDomain('unknown');
        expect(await store.load(domain)).toBeUndefined();
        expect(await store.listDomains()).not.toContain(domain);
      });

      it('round-trips every field of the state, with a version token', async () => {
        const domain = freshDomain('roundtrip');
        const state = fullState(domain);
        const version = await store.save(state, undefined);
        expect(version).toEqual(expect.any(String));
        expect(version).not.toBe('');
        expect(await store.load(domain)).toEqual({ value: state, version });
      });

      it('saves on top of the version it read, and the version changes', async () => {
        const domain = freshDomain('update');
        const v1 = await store.save(fullState(domain, 'first'), undefined);
        const v2 = await store.save(fullState(domain, 'second'), v1);
        expect(v2).not.toBe(v1);
        const loaded = await store.load(domain);
        expect(loaded?.version).toBe(v2);
        expect(loaded?.value.history[0]?.message).toBe('second');
      });

      it('refuses a writer holding an old version with ConflictError, and keeps the newer state', async () => {
        const domain = freshDomain('stale');
        const v1 = await store.save(fullState(domain, 'first'), undefined);
        const v2 = await store.save(fullState(domain, 'second'), v1);
        await expect(store.save(fullState(domain, 'stale'), v1)).rejects.toBeInstanceOf(ConflictError);
        expect(await store.load(domain)).toEqual({ value: fullState(domain, 'second'), version: v2 });
      });

      it('refuses to create state that exists, and to update state that does not', async () => {
        const domain = freshDomain('exists');
        const v1 = await store.save(fullState(domain), undefined);
        await expect(store.save(fullState(domain, 'again'), undefined)).rejects.toBeInstanceOf(ConflictError);
        await expect(store.save(fullState(freshDomain('absent')), v1)).rejects.toBeInstanceOf(ConflictError);
        expect((await store.load(domain))?.version).toBe(v1);
      });

      it('of two writers from one version exactly one wins; the other gets ConflictError', async () => {
        const domain = freshDomain('race');
        const v1 = await store.save(fullState(domain), undefined);
        const results = await Promise.allSettled([
          store.save(fullState(domain, 'a'), v1),
          store.save(fullState(domain, 'b'), v1),
        ]);
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, version: r.value }] : []));
        expect(won).toHaveLength(1);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(lost.reason).toBeInstanceOf(ConflictError);
        const winner = won[0] as { i: number; version: string };
        expect(await store.load(domain)).toEqual({
          value: fullState(domain, winner.i === 0 ? 'a' : 'b'),
          version: winner.version,
        });
      });

      it('of two creators exactly one wins', async () => {
        const domain = freshDomain('create');
        const results = await Promise.allSettled([
          store.save(fullState(domain, 'a'), undefined),
          store.save(fullState(domain, 'b'), undefined),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(
          ConflictError,
        );
      });

      it('lists the domains that have state, sorted, once each, and not those with only a lease', async () => {
        const [b, a] = [freshDomain('list-b'), freshDomain('list-a')];
        for (const domain of [b, a]) await store.save(fullState(domain), undefined);
        const leased = freshDomain('lease-only');
        const lease = await store.acquireLease(leased, 'lister', TTL);
        const domains = await store.listDomains();
        expect(domains).toEqual(expect.arrayContaining([a, b]));
        expect(domains).not.toContain(leased);
        expect(domains).toEqual([...domains].sort());
        expect(new Set(domains).size).toBe(domains.length);
        await lease.release();
      });

      it('keeps each domain to itself', async () => {
        const [one, two] = [freshDomain('one'), freshDomain('two')];
        const v1 = await store.save(fullState(one, 'one'), undefined);
        await store.save(fullState(two, 'two'), undefined);
        expect(await store.load(one)).toEqual({ value: fullState(one, 'one'), version: v1 });
      });
    });

    describe('leases', () => {
      it('hands out a lease that names its domain, owner and expiry (now + ttl by the store clock)', async () => {
        const domain = freshDomain('lease');
        const lease = await store.acquireLease(domain, 'a', TTL);
        expect(lease.domain).toBe(domain);
        expect(lease.owner).toBe('a');
        expect(lease.expiresAt.getTime()).toBe(START + TTL);
        await lease.release();
      });

      it('refuses a live lease to another owner with LockedError naming the holder', async () => {
        const domain = freshDomain('held');
        const a = await store.acquireLease(domain, 'holder-a', TTL);
        nowMs = START + TTL - 1_000;
        const error = await store.acquireLease(domain, 'b', TTL).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockedError);
        expect((error as Error).message).toContain('holder-a');
        await a.release();
      });

      it('lets the owner that holds a lease take it again (ports.ts: "held by someone else")', async () => {
        const domain = freshDomain('retake');
        const first = await store.acquireLease(domain, 'a', TTL);
        const again = await store.acquireLease(domain, 'a', TTL);
        expect(again.owner).toBe('a');
        await expect(store.acquireLease(domain, 'b', TTL)).rejects.toBeInstanceOf(LockedError);
        await again.release();
        await first.release();
      });

      it('renews from the store clock; a renewed lease stays refused past its first expiry', async () => {
        const domain = freshDomain('renew');
        const a = await store.acquireLease(domain, 'a', TTL);
        nowMs = START + 30_000;
        await a.renew();
        expect(a.expiresAt.getTime()).toBe(START + 30_000 + TTL);
        nowMs = START + TTL + 10_000;
        await expect(store.acquireLease(domain, 'b', TTL)).rejects.toBeInstanceOf(LockedError);
        await a.release();
      });

      it('lets another owner take an expired lease; the old holder can neither renew nor release it', async () => {
        const domain = freshDomain('expired');
        const a = await store.acquireLease(domain, 'a', TTL);
        nowMs = START + TTL + 1_000;
        const b = await store.acquireLease(domain, 'b', TTL);
        await expect(a.renew()).rejects.toBeInstanceOf(LockedError);
        await a.release();
        await expect(store.acquireLease(domain, 'c', TTL)).rejects.toBeInstanceOf(LockedError);
        await b.release();
      });

      it('frees a released lease for another owner at once', async () => {
        const domain = freshDomain('released');
        const a = await store.acquireLease(domain, 'a', TTL);
        await a.release();
        const b = await store.acquireLease(domain, 'b', TTL);
        expect(b.owner).toBe('b');
        await b.release();
      });

      it('of two owners racing for a free lease exactly one gets it', async () => {
        const domain = freshDomain('lease-race');
        const results = await Promise.allSettled([
          store.acquireLease(domain, 'x', TTL),
          store.acquireLease(domain, 'y', TTL),
        ]);
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        expect(won).toHaveLength(1);
        expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(
          LockedError,
        );
        await won[0]?.release();
      });

      it('leases one domain at a time: a lease on one does not hold another', async () => {
        const [one, two] = [freshDomain('lease-one'), freshDomain('lease-two')];
        const a = await store.acquireLease(one, 'a', TTL);
        const b = await store.acquireLease(two, 'b', TTL);
        expect(b.domain).toBe(two);
        await Promise.all([a.release(), b.release()]);
      });

      it('does not change the state version: taking, renewing and releasing a lease between load and save is fine', async () => {
        const domain = freshDomain('lease-version');
        const v1 = await store.save(fullState(domain), undefined);
        const lease = await store.acquireLease(domain, 'a', TTL);
        await lease.renew();
        await expect(store.save(fullState(domain, 'under lease'), v1)).resolves.toEqual(expect.any(String));
        await lease.release();
      });
    });
  });
}
