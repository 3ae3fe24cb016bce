import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import { FileKeyVault } from '../../../src/adapters/local/file-vault.js';
import { scratchPathFor, sweepAbandoned } from '../../../src/adapters/local/fs-atomic.js';
import { LockFile } from '../../../src/adapters/local/lock-file.js';
import { testKey } from '../../support/keys.js';
import { killedHolder, killedWriter } from '../../support/killed-writer.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fs-atomic-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('files left by a writer killed mid-write', () => {
  it('are removed by a sweep; a live writer’s temp file and other files stay', async () => {
    const dir = await freshDir();
    killedWriter(join(dir, 'example.com.json'), '{"version":1}');
    const mine = scratchPathFor(join(dir, 'example.com.json'));
    await writeFile(mine, 'in progress');
    await writeFile(join(dir, 'example.com.json'), '{}');
    await writeFile(join(dir, '.hidden'), '');
    const before = await readdir(dir);
    expect(before.filter((f) => f.endsWith('.tmp'))).toHaveLength(2);

    const removed = await sweepAbandoned(dir);

    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^\.example\.com\.json\..*\.tmp$/);
    expect((await readdir(dir)).sort()).toEqual(
      ['.hidden', 'example.com.json', mine.split('/').at(-1) ?? ''].sort(),
    );
  });

  it('a vault put killed before its key appeared leaves no key material once the vault is listed', async () => {
    const dir = await freshDir();
    const vault = new FileKeyVault({ dir });
    const key = await testKey('v1');
    const path = vault.pathOf('example.com', 's1');
    await mkdir(join(dir, 'example.com', 's1'), { recursive: true });
    killedWriter(path, key.toPem());

    expect(await vault.list('example.com')).toEqual([]);
    expect(await readdir(join(dir, 'example.com'))).toEqual([]);
    // The selector can still be written whole afterwards.
    await vault.put('example.com', 's1', key);
    expect(await vault.list('example.com')).toEqual(['s1']);
  });

  it('a state save killed before its rename leaves no temp file once the next pass takes its lease', async () => {
    const dir = await freshDir();
    const store = new FileStateStore({ dir });
    await mkdir(dir, { recursive: true });
    killedWriter(join(dir, 'example.com.json'), '{"version":2}');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);

    const lease = await store.acquireLease('example.com', 'pass', 60_000);
    await lease.release();

    expect(await readdir(dir)).toEqual([]);
  });

  it('a save killed holding its lock leaves no lock once the next pass takes the lease; a live save’s lock stays', async () => {
    const dir = await freshDir();
    const store = new FileStateStore({ dir });
    killedHolder(join(dir, 'example.com.json.lock'), 30_000);
    const live = new LockFile(join(dir, 'other.example.json.lock'), 'save:live');
    await live.acquire(30_000, new Date());

    await (await store.acquireLease('example.com', 'pass', 60_000)).release();
    await (await store.acquireLease('other.example', 'pass', 60_000)).release();

    expect(await readdir(dir)).toEqual(['other.example.json.lock']);
    await live.release();
  });
});
