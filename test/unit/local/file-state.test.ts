import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import { emptyDomainState } from '../../../src/domain/state.js';
import { ConflictError, CorruptDataError, LockedError } from '../../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file state store', () => {
  it('saves with optimistic concurrency: of two writers from one version exactly one wins', async () => {
    const store = new FileStateStore({ dir });
    const v1 = await store.save(emptyDomainState('example.com'), undefined);
    const loaded = await store.load('example.com');
    expect(loaded?.version).toBe(v1);
    const results = await Promise.allSettled([
      store.save({ ...emptyDomainState('example.com'), history: [] }, v1),
      store.save({ ...emptyDomainState('example.com'), history: [] }, v1),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ConflictError);
    await expect(store.save(emptyDomainState('example.com'), undefined)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await store.listDomains()).toEqual(['example.com']);
  });

  it('reports a corrupt state file clearly and leaves it untouched', async () => {
    const store = new FileStateStore({ dir });
    await writeFile(
      join(dir, 'example.com.json'),
      '{"version": 1, "state": {"schema": 1, "domain": "example.com", "keys": [{"selector": 5}]}}',
    );
    const error = await store.load('example.com').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptDataError);
    expect((error as Error).message).toContain('example.com.json');
    expect(await readFile(join(dir, 'example.com.json'), 'utf8')).toContain('"selector": 5');
    await expect(store.save(emptyDomainState('example.com'), '1')).rejects.toBeInstanceOf(CorruptDataError);
  });

  it('gives the lease to one owner at a time and lets an expired lease be taken over', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const store = new FileStateStore({ dir, now: () => now });
    const a = await store.acquireLease('example.com', 'a', 60_000);
    await expect(store.acquireLease('example.com', 'b', 60_000)).rejects.toBeInstanceOf(LockedError);
    now = new Date('2026-01-01T00:02:00Z');
    const b = await store.acquireLease('example.com', 'b', 60_000);
    await a.release(); // no longer a's: must not remove b's lease
    await expect(store.acquireLease('example.com', 'c', 60_000)).rejects.toBeInstanceOf(LockedError);
    await b.release();
    const c = await store.acquireLease('example.com', 'c', 60_000);
    await c.release();
  });

  it('recovers a lease left behind by a dead process', async () => {
    const store = new FileStateStore({ dir });
    await writeFile(
      join(dir, 'example.com.lease'),
      JSON.stringify({
        owner: 'ghost',
        token: 't',
        host: (await import('node:os')).hostname(),
        pid: 2 ** 22 + 17,
        expiresAt: '2999-01-01T00:00:00Z',
      }),
    );
    const lease = await store.acquireLease('example.com', 'me', 60_000);
    expect(lease.owner).toBe('me');
    await lease.release();
  });
});
