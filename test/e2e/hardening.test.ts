/**
 * Issue 21 through the real CLI against the SES emulator and the embedded DNS: stdout is
 * one JSON document whatever the notifiers say, the DNS team's files are never
 * world-writable, checks that verify a record are minutes apart, and a full disk is named.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../support/cli.js';
import { E2eWorld } from '../support/e2e-world.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Exactly one JSON document on stdout, or the test fails with what was there instead. */
function oneJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}`);
  }
}

interface StatusRow {
  active?: string;
  ses: Record<string, string>;
}

describe('JSON mode: notifications go to stderr, stdout is one document', () => {
  let manual: E2eWorld;
  let automatic: E2eWorld;
  beforeAll(async () => {
    [manual, automatic] = await Promise.all([
      E2eWorld.start({ dns: 'manual', regions: ['us-east-1'], notify: '[{ type: stdout }]' }),
      E2eWorld.start({ regions: ['us-east-1'], notify: '[{ type: stdout }]' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([manual?.stop(), automatic?.stop()]);
  });

  it('apply: the DNS hand-off text, under umask 000: files for the DNS team not world-writable', async () => {
    const first = await manual.cliWith({ shellSetup: 'umask 000' }, 'apply', '--output', 'json');
    expect(first.code, first.stderr).toBe(3);
    expect(oneJson<Array<{ outcome: string }>>(first)[0]?.outcome).toBe('waiting');
    expect(first.stderr).toContain('DNS hand-off for example.com: please publish 1 TXT record.');
    const dir = join(manual.dir, 'dns-requests');
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
    for (const file of await readdir(dir)) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o644);
  });

  /** The active selector, from the state file. */
  async function active(): Promise<string | undefined> {
    const file = JSON.parse(
      await readFile(join(automatic.dir, '.byodkim', 'state', 'example.com.json'), 'utf8'),
    ) as { state: { keys: Array<{ selector: string; status: string }> } };
    return file.state.keys.find((k) => k.status === 'active')?.selector;
  }

  /** Hourly passes in JSON mode (each must print one document) until `done`; returns their stderr. */
  async function applyUntil(done: () => Promise<boolean>): Promise<string> {
    let stderr = '';
    for (let i = 0; i < 8; i++) {
      automatic.clock.advance(HOUR);
      const result = await automatic.cli('apply', '--output', 'json');
      oneJson(result);
      stderr += result.stderr;
      expect([0, 3], result.stderr).toContain(result.code);
      if (await done()) return stderr;
    }
    throw new Error(`not done after 8 passes:\n${stderr}`);
  }

  it('apply, rotate and rollback: the "now signs with" notification', async () => {
    const signsWith = /byodkim: example\.com: .*\(selector mail-[0-9-]+\)/;
    expect(oneJson(await automatic.cli('apply', '--output', 'json'))).toBeDefined();
    expect(await applyUntil(async () => (await active()) !== undefined)).toMatch(signsWith);
    const first = await active();

    const rotate = await automatic.cli('rotate', '--domain', 'example.com', '--output', 'json');
    expect(oneJson<{ domain: string }>(rotate).domain).toBe('example.com');
    expect(await applyUntil(async () => (await active()) !== first)).toMatch(signsWith);

    const rollback = await automatic.cli('rollback', '--domain', 'example.com', '--output', 'json');
    expect(oneJson<{ domain: string }>(rollback).domain).toBe('example.com');
    const back = rollback.stderr + (await applyUntil(async () => (await active()) === first));
    expect(back).toMatch(signsWith);
  });
});

describe('policy.verifyIntervalMinutes: checks that verify a record are at least that far apart', () => {
  let world: E2eWorld;
  beforeAll(async () => {
    world = await E2eWorld.start({ regions: ['us-east-1'] });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('three runs started together seconds after the publish do not switch SES', async () => {
    expect((await world.cli('apply')).code).toBe(3); // generate + publish (RFC 2136)
    world.clock.advance(7_000);
    const runs = await Promise.all([world.cli('apply'), world.cli('apply'), world.cli('apply')]);
    for (const run of runs) expect(run.code, run.stderr).toBe(3);
    const before = oneJson<StatusRow[]>(await world.cli('status', '--output', 'json'))[0];
    expect(before?.ses['us-east-1']).toBe('no identity');

    world.clock.advance(10 * MINUTE);
    const later = await world.cli('apply', '--output', 'json');
    const steps = oneJson<Array<{ steps: Array<{ kind: string }> }>>(later)[0]?.steps ?? [];
    expect(steps.map((s) => s.kind)).toContain('ses-create');
  });
});

describe('a full disk under apply --output json', () => {
  let world: E2eWorld;
  beforeAll(async () => {
    world = await E2eWorld.start({ regions: ['us-east-1'] });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('names the file it could not write in the JSON document, and leaves no temp file', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'tsx-cache-'));
    try {
      const result = await world.cliWith(
        { shellSetup: 'ulimit -f 1', env: { TMPDIR: cache } },
        'apply',
        '--output',
        'json',
      );
      expect(result.code).toBe(1);
      const [domain] = oneJson<Array<{ outcome: string; errors: string[] }>>(result);
      expect(domain?.outcome).toBe('failed');
      expect(domain?.errors.join('\n')).toContain(`cannot write ${join(world.dir, '.byodkim', 'keys')}`);
      const left = await readdir(join(world.dir, '.byodkim'), { recursive: true });
      expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
