import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeyVault } from '../../../src/adapters/local/file-vault.js';
import { AlreadyExistsError, CorruptDataError } from '../../../src/errors.js';
import { testKey } from '../../support/keys.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file key vault', () => {
  it('stores in the seed layout with private permissions and reads the same key back', async () => {
    const vault = new FileKeyVault({ dir });
    const key = await testKey('v1');
    const ref = await vault.put('goo.ne.jp', 'gooid-21-pro-20250917-3', key);
    expect(ref).toBe(join(dir, 'goo.ne.jp', 'gooid-21-pro-20250917-3', 'private_key.pem'));
    expect((await stat(ref)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'goo.ne.jp'))).mode & 0o777).toBe(0o700);
    expect((await vault.get('goo.ne.jp', 'gooid-21-pro-20250917-3'))?.samePair(key)).toBe(true);
    expect(await vault.list('goo.ne.jp')).toEqual(['gooid-21-pro-20250917-3']);
  });

  it('never overwrites: a second key under the same selector fails and the first stays intact', async () => {
    const vault = new FileKeyVault({ dir });
    const first = await testKey('v1');
    const ref = await vault.put('example.com', 's1', first);
    const before = await readFile(ref, 'utf8');
    await expect(vault.put('example.com', 's1', await testKey('v2'))).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    expect(await readFile(ref, 'utf8')).toBe(before);
  });

  it('reports a corrupt key file clearly and leaves it untouched', async () => {
    const vault = new FileKeyVault({ dir });
    const ref = await vault.put('example.com', 's1', await testKey('v1'));
    await writeFile(ref, 'garbage');
    const error = await vault.get('example.com', 's1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptDataError);
    expect((error as Error).message).toContain(ref);
    expect(await readFile(ref, 'utf8')).toBe('garbage');
  });

  it('deletes or archives retired keys, idempotently', async () => {
    const deleting = new FileKeyVault({ dir });
    await deleting.put('example.com', 's1', await testKey('v1'));
    await deleting.retire('example.com', 's1');
    await deleting.retire('example.com', 's1');
    expect(await deleting.get('example.com', 's1')).toBeUndefined();

    const archiving = new FileKeyVault({
      dir,
      retired: 'archive',
      now: () => new Date('2026-01-02T03:04:05Z'),
    });
    await archiving.put('example.com', 's2', await testKey('v2'));
    await archiving.retire('example.com', 's2');
    expect(await archiving.list('example.com')).toEqual([]);
    const archived = await readFile(
      join(dir, '.archive', 'example.com', 's2-2026-01-02T030405000Z.pem'),
      'utf8',
    );
    expect(archived).toContain('PRIVATE KEY');
  });
});
