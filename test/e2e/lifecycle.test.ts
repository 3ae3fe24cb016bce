import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eWorld } from '../support/e2e-world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface StatusRow {
  domain: string;
  active?: string;
  ses: Record<string, string>;
}

describe('lifecycle through the CLI: SES emulator + authoritative DNS (RFC 2136 + TSIG)', () => {
  let world: E2eWorld;
  beforeAll(async () => {
    world = await E2eWorld.start();
  });
  afterAll(async () => {
    await world?.stop();
  });

  /** Every region's sample must verify once a key is active: the no-signing-gap check. */
  async function expectVerifies(label: string) {
    const samples = await world.samples();
    for (const [region, verdict] of Object.entries(samples))
      expect(verdict.pass, `${label}: ${region} ${JSON.stringify(verdict.signatures)}`).toBe(true);
    return samples;
  }

  async function applyUntilSettled(label: string, checkSamples: boolean, max = 8) {
    for (let i = 0; i < max; i++) {
      const result = await world.cli('apply');
      expect([0, 3], `${label}: ${result.stderr}${result.stdout}`).toContain(result.code);
      if (checkSamples) await expectVerifies(`${label}, pass ${i + 1}`);
      if (result.code === 0) return;
      world.clock.advance(HOUR);
    }
    throw new Error(`${label}: not settled after ${max} passes`);
  }

  async function status(): Promise<StatusRow> {
    const result = await world.cli('status', '--output', 'json');
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as StatusRow[])[0] as StatusRow;
  }

  it('onboards a fresh identity in two regions through phases 3–7', async () => {
    await applyUntilSettled('onboarding', false);
    const row = await status();
    expect(row.active).toBe('mail-20260101-1');
    expect(row.ses).toEqual({ 'us-east-1': 'SUCCESS', 'ap-northeast-1': 'SUCCESS' });
    const samples = await expectVerifies('after onboarding');
    expect(Object.values(samples).map((s) => s.selector)).toEqual(['mail-20260101-1', 'mail-20260101-1']);
  });

  it('rotates twice by moving --now, with mail verifying at every step', async () => {
    for (const rotation of [1, 2]) {
      const old = (await status()).active as string;
      world.clock.advance(336 * DAY);
      await applyUntilSettled(`rotation ${rotation}`, true);
      const row = await status();
      expect(row.active).not.toBe(old);
      expect(row.ses).toEqual({ 'us-east-1': 'SUCCESS', 'ap-northeast-1': 'SUCCESS' });
      // The old selector stays published through the grace period, then goes.
      const oldName = `${old}._domainkey.example.com`;
      expect(world.dns.store.getTxt(oldName).length).toBe(1);
      world.clock.advance(8 * DAY);
      await applyUntilSettled(`retire after rotation ${rotation}`, true);
      expect(world.dns.store.getTxt(oldName)).toEqual([]);
      const history = await world.cli('history', '--domain', 'example.com', '--output', 'json');
      const entries = JSON.parse(history.stdout) as Array<{ selector?: string; to?: string }>;
      expect(
        entries.some((h) => h.selector === old && h.to === 'retired'),
        JSON.stringify(entries.filter((h) => h.selector === old)),
      ).toBe(true);
      await expect(
        readFile(join(world.dir, '.byodkim', 'keys', 'example.com', old, 'private_key.pem')),
      ).rejects.toThrow(/ENOENT/);
    }
  });

  it('shows the audit trail with actors and reasons', async () => {
    const history = await world.cli('history', '--domain', 'example.com');
    expect(history.code).toBe(0);
    expect(history.stdout).toContain('published → verified');
    expect(history.stdout).toContain('SigningVerified');
    expect(history.stdout).toMatch(/cli(:\w+)?/);
  });
});

describe('manual DNS hand-off through the CLI', () => {
  let world: E2eWorld;
  beforeAll(async () => {
    world = await E2eWorld.start({ dns: 'manual', regions: ['eu-west-1'] });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('stops with exit 3 and a hand-off, then resumes once the record appears', async () => {
    const first = await world.cli('apply');
    expect(first.code, first.stderr).toBe(3);
    const json = await readFile(
      join(
        world.dir,
        'dns-requests',
        (await import('node:fs'))
          .readdirSync(join(world.dir, 'dns-requests'))
          .find((f) => f.endsWith('.json')) ?? '',
      ),
      'utf8',
    );
    const records = JSON.parse(json) as Array<{ name: string; value: string; action: string }>;
    expect(records).toHaveLength(1);
    world.clock.advance(HOUR);
    expect((await world.cli('apply')).code).toBe(3);
    // The DNS team applies it.
    for (const r of records) world.dns.store.setTxt(r.name, r.value);
    let code = 3;
    for (let i = 0; i < 6 && code !== 0; i++) {
      world.clock.advance(HOUR);
      code = (await world.cli('apply')).code;
    }
    expect(code).toBe(0);
    const samples = await world.samples();
    expect(samples['eu-west-1']?.pass).toBe(true);
  });
});

describe('operator requests and concurrency through the CLI', () => {
  let world: E2eWorld;
  beforeAll(async () => {
    world = await E2eWorld.start({ regions: ['us-east-1'] });
  });
  afterAll(async () => {
    await world?.stop();
  });

  async function stateFile(): Promise<string> {
    return readFile(join(world.dir, '.byodkim', 'state', 'example.com.json'), 'utf8');
  }

  it('two apply processes started together make exactly one key', async () => {
    const [a, b] = await Promise.all([world.cli('apply'), world.cli('apply')]);
    expect([a.code, b.code].sort()).toEqual([3, 3]);
    const state = JSON.parse(await stateFile()) as { state: { keys: unknown[] } };
    expect(state.state.keys).toHaveLength(1);
    // Whether the runs overlapped (one is refused the lease) or ran one after the other
    // (the second sees the staged key), the vault holds one key.
    const keys = (await import('node:fs')).readdirSync(join(world.dir, '.byodkim', 'keys', 'example.com'));
    expect(keys).toHaveLength(1);
  });

  it.each([
    [
      'rotate for an unknown domain',
      ['rotate', '--domain', 'unknown.example'],
      '"unknown.example" is not configured',
    ],
    ['rotate before there is an active key', ['rotate', '--domain', 'example.com'], 'has no active key yet'],
    [
      'rollback with nothing to roll back to',
      ['rollback', '--domain', 'example.com'],
      'nothing to roll back to',
    ],
    [
      'history for an unknown domain',
      ['history', '--domain', 'nope.example'],
      '"nope.example" is not configured',
    ],
  ])('refuses %s: exit 2, clear error, state unchanged', async (_, args, message) => {
    const before = await stateFile();
    const result = await world.cli(...args);
    expect(result.code, result.stdout).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await stateFile()).toBe(before);
  });

  it('refuses a second rotation while one is in progress', async () => {
    for (let i = 0; i < 6; i++) {
      world.clock.advance(HOUR);
      if ((await world.cli('apply')).code === 0) break;
    }
    const first = await world.cli('rotate', '--domain', 'example.com');
    expect([0, 3]).toContain(first.code);
    const before = await stateFile();
    const second = await world.cli('rotate', '--domain', 'example.com');
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('already in progress');
    expect(await stateFile()).toBe(before);
  });
});
