import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDkimRecord } from '../../../src/domain/record.js';
import { runCli } from '../../support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fingerprint of every file under `root`, to prove a failed command changed nothing. */
async function snapshot(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else hash.update(p).update(await readFile(p));
    }
  };
  await walk(root);
  return hash.digest('hex');
}

describe('byodkim CLI (foundation commands)', () => {
  it('prints help and version', async () => {
    const help = await runCli(['--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('keygen');
    const version = await runCli(['--version'], { cwd: dir });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('init writes a commented config that the loader accepts, and will not replace it', async () => {
    const init = await runCli(
      [
        'init',
        '--domain',
        'goo.ne.jp',
        '--region',
        'ap-northeast-1',
        'us-east-1',
        '--selector-prefix',
        'gooid-21-pro',
      ],
      { cwd: dir },
    );
    expect(init.code).toBe(0);
    const text = await readFile(join(dir, 'byodkim.config.yaml'), 'utf8');
    expect(text).toContain('# byodkim configuration');
    expect(text).toContain('regions: [ap-northeast-1, us-east-1]');
    // New configs rotate every six months (M3AAWG) and roll back in hours, not at SES's 72 h.
    const { parseConfig } = await import('../../../src/config/load.js');
    const policy = parseConfig(text, join(dir, 'byodkim.config.yaml')).domains[0]?.policy;
    expect(policy).toMatchObject({ validityDays: 180, verificationWindowHours: 6 });
    const again = await runCli(['init', '--domain', 'other.example'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    expect(await readFile(join(dir, 'byodkim.config.yaml'), 'utf8')).toBe(text);
  });

  it('keygen stores the next key, prints its record and never the private key', async () => {
    const first = await runCli(
      ['keygen', '--domain', 'goo.ne.jp', '--now', '2025-09-17T01:00:00Z', '--output', 'json'],
      { cwd: dir },
    );
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout) as {
      selector: string;
      name: string;
      value: string;
      chunks: string[];
      vaultRef: string;
    };
    expect(out.selector).toBe('gooid-21-pro-20250917-1');
    expect(out.name).toBe('gooid-21-pro-20250917-1._domainkey.goo.ne.jp');
    expect(parseDkimRecord(out.chunks).ok).toBe(true);
    expect((await stat(out.vaultRef)).mode & 0o777).toBe(0o600);
    const pem = await readFile(out.vaultRef, 'utf8');
    const body = pem.split('\n')[5] ?? '';
    expect(body.length).toBeGreaterThan(40);
    expect(first.stdout + first.stderr).not.toContain(body);

    const second = await runCli(['keygen', '--domain', 'goo.ne.jp', '--now', '2025-09-17T02:00:00Z'], {
      cwd: dir,
    });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('gooid-21-pro-20250917-2');
    expect(second.stdout + second.stderr).not.toContain(body);
  });

  it('dns-records prints every vault key as CSV with the real key, zone lines and JSON', async () => {
    const csv = await runCli(['dns-records', '--format', 'csv'], { cwd: dir });
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toBe('action,type,name,ttl,value,value_chunked,domain,selector,not_before');
    expect(lines).toHaveLength(3);
    expect(csv.stdout).not.toContain('customerProvidedPublicKey');
    expect(csv.stdout).toMatch(/v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/]{300,}/);

    const zone = await runCli(['dns-records', '--format', 'zone', '--domain', 'goo.ne.jp'], { cwd: dir });
    const quoted = [...zone.stdout.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
    expect(quoted.length).toBeGreaterThanOrEqual(4);
    for (const chunk of quoted) expect(chunk.length).toBeLessThanOrEqual(255);

    const json = await runCli(['dns-records', '--format', 'json'], { cwd: dir });
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(2);
  });

  it.each([
    ['an unknown domain', ['keygen', '--domain', 'unknown.example'], '"unknown.example" is not configured'],
    [
      'a bad domain name',
      ['keygen', '--domain', 'bad..example'],
      '"bad..example" is not a valid domain name',
    ],
    ['key size 4096', ['keygen', '--domain', 'goo.ne.jp', '--bits', '4096'], "'4096' is invalid"],
    [
      'a bad --now',
      ['keygen', '--domain', 'goo.ne.jp', '--now', 'yesterday'],
      '--now: "yesterday" is not an ISO 8601 time',
    ],
    ['an unknown option', ['keygen', '--domain', 'goo.ne.jp', '--domian', 'x'], "unknown option '--domian'"],
    [
      'a missing config file',
      ['keygen', '--domain', 'goo.ne.jp', '--config', 'nope.yaml'],
      'nope.yaml does not exist',
    ],
  ])('rejects %s with exit 2, a message naming the value, and no change', async (_, args, message) => {
    const before = await snapshot(dir);
    const result = await runCli(args, { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await snapshot(dir)).toBe(before);
  });

  it.each([
    ['malformed YAML', 'domains: [\n', 'not valid YAML'],
    [
      'an unknown key',
      'domains:\n  - domain: goo.ne.jp\n    regions: [us-east-1]\n    colour: blue\n',
      'unknown key "colour"',
    ],
    [
      'a selector rule broken',
      'domains:\n  - domain: goo.ne.jp\n    regions: [us-east-1]\n    selectorPrefix: "gooid.21"\n',
      '"gooid.21" cannot start a selector',
    ],
    [
      'key size 4096',
      'policy:\n  keyBits: 4096\ndomains:\n  - domain: goo.ne.jp\n    regions: [us-east-1]\n',
      'policy.keyBits: 4096',
    ],
    [
      'a bad domain',
      'domains:\n  - domain: "goo_ne.jp"\n    regions: [us-east-1]\n',
      '"goo_ne.jp" is not a valid domain name',
    ],
  ])('rejects a config with %s: exit 2, message, no change', async (_, text, message) => {
    const config = join(dir, 'bad.yaml');
    await writeFile(config, text);
    const before = await snapshot(dir);
    const result = await runCli(['keygen', '--domain', 'goo.ne.jp', '--config', config], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await snapshot(dir)).toBe(before);
  });
});
