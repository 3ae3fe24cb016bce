import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainState } from '../../src/domain/state.js';
import { E2eWorld } from '../support/e2e-world.js';
import { secretSlices, testKey } from '../support/keys.js';

const HOUR = 3_600_000;

/**
 * Key custody through the real CLI: the key SES gets is the key DNS serves, and keys no
 * state names are taken in and retired instead of lingering in the vault.
 */
describe('key custody', () => {
  let world: E2eWorld;
  afterEach(async () => {
    await world?.stop();
  });

  const vaultPath = (selector: string) =>
    join(world.dir, '.byodkim', 'keys', 'example.com', selector, 'private_key.pem');
  const state = async (): Promise<DomainState> => {
    const file = join(world.dir, '.byodkim', 'state', 'example.com.json');
    return (JSON.parse(await readFile(file, 'utf8')) as { state: DomainState }).state;
  };
  const puts = () => world.ses.counters().PutEmailIdentityDkimSigningAttributes ?? 0;
  async function applyUntil(done: (s: DomainState) => boolean, max = 10): Promise<void> {
    for (let i = 0; i < max; i++) {
      if (done(await state().catch(() => ({ keys: [] }) as unknown as DomainState))) return;
      await world.cli('apply');
      world.clock.advance(HOUR);
    }
    throw new Error(
      `not reached: ${JSON.stringify((await state()).keys.map((k) => [k.selector, k.status]))}`,
    );
  }

  it('refuses to put a key swapped in the vault, names the selector only, and stages a fresh key', async () => {
    world = await E2eWorld.start({ policy: { keyBits: 1024 } });
    await applyUntil((s) => s.keys.some((k) => k.status === 'active'));
    const active = (await state()).keys.find((k) => k.status === 'active')?.selector as string;
    expect((await world.cli('rotate', '--domain', 'example.com')).code).toBe(3);
    const next = (await state()).keys.find((k) => k.status === 'published')?.selector as string;
    expect(next).toBeDefined();

    // Someone replaces the stored key with another valid one before the switch.
    const intruder = await testKey('intruder', 1024);
    await writeFile(vaultPath(next), intruder.toPem(), { mode: 0o600 });
    const putsBefore = puts();
    let refused: Awaited<ReturnType<E2eWorld['cli']>> | undefined;
    for (let i = 0; i < 4 && !refused; i++) {
      world.clock.advance(HOUR);
      const result = await world.cli('apply', '--output', 'json');
      if (result.code === 1) refused = result;
    }
    if (!refused) throw new Error('the swapped key was never refused');
    const output = refused.stdout + refused.stderr;
    expect(output).toContain('KeyMismatch');
    expect(output).toContain(next);
    for (const secret of secretSlices(intruder)) expect(output).not.toContain(secret);
    expect(JSON.parse(refused.stdout)[0].steps).toContainEqual(
      expect.objectContaining({ kind: 'ses-put', status: 'failed', selector: next }),
    );
    // No put reached SES, so SES never went PENDING because of it.
    expect(puts()).toBe(putsBefore);
    for (const region of world.options.regions) {
      const view = (await world.samples())[region];
      expect(view?.pass, region).toBe(true);
      expect(view?.selector).toBe(active);
    }

    // The next pass stages a fresh key; the rotation completes with it and the refused key is retired.
    world.clock.advance(HOUR);
    await world.cli('apply');
    const after = await state();
    expect(after.keys.find((k) => k.selector === next)).toMatchObject({
      status: 'failed',
      keyProblem: { code: 'KeyMismatch' },
    });
    const fresh = after.keys.find((k) => k.status === 'published' || k.status === 'staged');
    expect(fresh).toBeDefined();
    await applyUntil((s) => s.keys.find((k) => k.selector === fresh?.selector)?.status === 'active');
    const notices = await readFile(join(world.dir, 'notifications.jsonl'), 'utf8');
    expect(notices).toContain('KeyMismatch');
  });

  it('takes in a key the vault holds but no state names, and retires it (record and key gone)', async () => {
    world = await E2eWorld.start({ policy: { keyBits: 1024, graceDays: 1 } });
    await applyUntil((s) => s.keys.some((k) => k.status === 'active'));
    const stray = await testKey('stray', 1024);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(world.dir, '.byodkim', 'keys', 'example.com', 'stray-1'), {
      recursive: true,
      mode: 0o700,
    });
    await writeFile(vaultPath('stray-1'), stray.toPem(), { mode: 0o600 });
    await world.cli('apply');
    expect((await state()).keys.find((k) => k.selector === 'stray-1')).toMatchObject({ status: 'failed' });
    await applyUntil((s) => s.keys.find((k) => k.selector === 'stray-1')?.destroyedAt !== undefined);
    expect(await readdir(join(world.dir, '.byodkim', 'keys', 'example.com'))).not.toContain('stray-1');
  });
});
