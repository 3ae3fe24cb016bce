import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import { emptyDomainState } from '../../../src/domain/state.js';
import { CorruptDataError } from '../../../src/errors.js';
import { describeStateStoreContract } from '../../contract/state-store.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'state-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeStateStoreContract(
  'FileStateStore',
  async ({ now }) => new FileStateStore({ dir: await freshDir(), now }),
);

describe('file state store', () => {
  it('reports a corrupt state file clearly and leaves it untouched', async () => {
    const dir = await freshDir();
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

  it('recovers a lease left behind by a dead process', async () => {
    const dir = await freshDir();
    const store = new FileStateStore({ dir });
    await writeFile(
      join(dir, 'example.com.lease'),
      JSON.stringify({
        owner: 'ghost',
        token: 't',
        host: hostname(),
        pid: 2 ** 22 + 17,
        expiresAt: '2999-01-01T00:00:00Z',
      }),
    );
    const lease = await store.acquireLease('example.com', 'me', 60_000);
    expect(lease.owner).toBe('me');
    await lease.release();
  });
});
