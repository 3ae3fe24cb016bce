import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileKeyVault } from '../../../src/adapters/local/file-vault.js';
import { CorruptDataError } from '../../../src/errors.js';
import { describeKeyVaultContract } from '../../contract/key-vault.js';
import { testKey } from '../../support/keys.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vault-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeKeyVaultContract(
  'FileKeyVault (retired keys deleted)',
  async () => new FileKeyVault({ dir: await freshDir() }),
);
describeKeyVaultContract(
  'FileKeyVault (retired keys archived)',
  async () => new FileKeyVault({ dir: await freshDir(), retired: 'archive' }),
);

describe('file key vault', () => {
  it('stores in the seed layout with private permissions', async () => {
    const dir = await freshDir();
    const vault = new FileKeyVault({ dir });
    const ref = await vault.put('goo.ne.jp', 'gooid-21-pro-20250917-3', await testKey('v1'));
    expect(ref).toBe(join(dir, 'goo.ne.jp', 'gooid-21-pro-20250917-3', 'private_key.pem'));
    expect((await stat(ref)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'goo.ne.jp'))).mode & 0o777).toBe(0o700);
  });

  it('reports a corrupt key file clearly and leaves it untouched', async () => {
    const vault = new FileKeyVault({ dir: await freshDir() });
    const ref = await vault.put('example.com', 's1', await testKey('v1'));
    await writeFile(ref, 'garbage');
    const error = await vault.get('example.com', 's1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptDataError);
    expect((error as Error).message).toContain(ref);
    expect(await readFile(ref, 'utf8')).toBe('garbage');
  });

  it('archives a retired key under .archive/ with the time in its name', async () => {
    const dir = await freshDir();
    const archiving = new FileKeyVault({
      dir,
      retired: 'archive',
      now: () => new Date('2026-01-02T03:04:05Z'),
    });
    const key = await testKey('v2');
    await archiving.put('example.com', 's2', key);
    await archiving.retire('example.com', 's2');
    const archived = await readFile(
      join(dir, '.archive', 'example.com', 's2-2026-01-02T030405000Z.pem'),
      'utf8',
    );
    expect(archived).toBe(key.toPem());
  });
});
