/**
 * Issue 21 through the real CLI: what a cron job or a fault tester trips on — bad flags and
 * configs accepted, AWS set-up failures passed off as "waiting", endpoints that hang a run,
 * leases that outlive their holder, disk errors without a path, dns-records that lists what
 * is not needed. Each test names the behaviour it pins.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LEASE_MS } from '../../../src/domain/lease.js';
import type { DomainState, KeyEntry, KeyStatus } from '../../../src/domain/state.js';
import { type CliResult, runCli } from '../../support/cli.js';
import { testKey } from '../../support/keys.js';

const DOMAIN = 'example.com';
const FAKE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIDHARDENING',
  AWS_SECRET_ACCESS_KEY: 'hardening-not-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const base = (extra: string[] = []) =>
  ['version: 1', ...extra, 'domains:', `  - { domain: ${DOMAIN}, regions: [us-east-1] }`, ''].join('\n');

let root: string;
/** Accepts connections and never answers: an endpoint that stalls. */
let stalled: Server;
let stalledUrl: string;
const held: Socket[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hardening-'));
  stalled = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  const address = stalled.address();
  stalledUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => stalled.close(resolve));
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
async function workDir(config: string): Promise<string> {
  const dir = join(root, `case-${++dirs}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'byodkim.config.yaml'), config);
  return dir;
}

/** Every file under `dir`, recursively (relative paths). */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

function noStackTrace(result: CliResult): void {
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr).not.toContain('unexpected error');
}

describe('arguments: --concurrency abc, 0 or -3 is refused, not a run over no domain', () => {
  // One run through the CLI; the bounds themselves are unit-tested (test/unit/cli/options.test.ts).
  it('apply --concurrency abc exits 2 naming the value', async () => {
    const value = 'abc';
    const dir = await workDir(base());
    const result = await runCli(['apply', `--concurrency=${value}`], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--concurrency: "${value}"`);
    expect(await files(dir)).toEqual(['byodkim.config.yaml']);
  });
});

describe('config: every hole closed with exit 2, naming the place and the value', () => {
  it('refuses out-of-range numbers, selector templates SES would refuse, empty server lists, wrong URL schemes', async () => {
    const dir = await workDir(
      base([
        'policy: { graceDays: 1e308, selectorTemplate: "{prefix}.{n}" }',
        'probe: { nameservers: [] }',
        'aws: { endpoints: { sesv2: "file:///etc/passwd" } }',
        'notify: [{ type: webhook, url: "ftp://hooks.example.com/x" }]',
      ]),
    );
    const result = await runCli(['plan'], { cwd: dir });
    expect(result.code).toBe(2);
    for (const named of [
      'policy.graceDays: 1e+308',
      'policy.selectorTemplate: "{prefix}.{n}" makes selectors like "mail.1"',
      'probe.nameservers: [] — lists no server',
      'aws.endpoints.sesv2: "file:///etc/passwd" must be a https:// or http:// URL',
      'notify[0].url: "ftp://hooks.example.com/x" must be a https:// or http:// URL',
    ])
      expect(result.stderr).toContain(named);
    noStackTrace(result);
  });

  // One run through keygen; every kind of bad template is unit-tested (test/unit/domain/selector.test.ts).
  it('refuses a selectorTemplate of 100 characters at load, before any key is made', async () => {
    const template = `${'x'.repeat(100)}-{n}`;
    const dir = await workDir(base([`policy: { selectorTemplate: ${JSON.stringify(template)} }`]));
    const result = await runCli(['keygen', '--domain', DOMAIN], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(102 characters), which SES refuses');
    expect(await files(dir)).toEqual(['byodkim.config.yaml']);
  });

  it('refuses an empty domain list and a YAML alias bomb', async () => {
    const empty = await runCli(['apply'], { cwd: await workDir('version: 1\ndomains: []\n') });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('domains: [] — lists no domain');
    const level = (n: number) =>
      `l${n}: &l${n} [${Array(9)
        .fill(`*l${n - 1}`)
        .join(', ')}]`;
    const bomb = ['l0: &l0 [x, x, x, x, x, x, x, x, x]', ...[1, 2, 3, 4, 5, 6].map(level), base()].join('\n');
    const aliases = await runCli(['plan'], { cwd: await workDir(bomb) });
    expect(aliases.code).toBe(2);
    expect(aliases.stderr).toContain('YAML aliases expand too far');
    noStackTrace(aliases);
  });

  it('names a state file that is a directory (exit 1), and a state.dir that is a file (exit 2)', async () => {
    const dir = await workDir(base());
    await mkdir(join(dir, '.byodkim', 'state', `${DOMAIN}.json`), { recursive: true });
    const rotate = await runCli(['rotate', '--domain', DOMAIN], { cwd: dir });
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain(
      `cannot read ${join(dir, '.byodkim', 'state', `${DOMAIN}.json`)}: EISDIR`,
    );
    noStackTrace(rotate);
    const fileDir = await workDir(base(['state: { type: file, dir: not-a-dir }']));
    await writeFile(join(fileDir, 'not-a-dir'), 'x');
    const keygen = await runCli(['keygen', '--domain', DOMAIN], { cwd: fileDir });
    expect(keygen.code).toBe(2);
    expect(keygen.stderr).toContain('state.dir:');
    expect(keygen.stderr).toContain('exists and is not a directory');
  });
});

describe('AWS set-up failures: exit 1 before any side effect, naming what to fix', () => {
  const noCredentials = {
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };

  it('with no credentials, plan, status and apply exit 1 and apply publishes nothing', async () => {
    const dir = await workDir(base());
    const env = {
      ...noCredentials,
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    };
    for (const command of ['plan', 'status', 'apply']) {
      const result = await runCli([command], { cwd: dir, env });
      expect(result.code, `${command}: ${result.stdout}${result.stderr}`).toBe(1);
      expect(result.stderr).toContain('no AWS credentials were found');
    }
    // No key generated, no DNS request written: the run failed before its first side effect.
    expect((await files(dir)).filter((f) => !f.endsWith('.lease'))).toEqual(['byodkim.config.yaml']);
  });

  it('--profile names the profile it could not use', async () => {
    const dir = await workDir(base());
    const env = {
      ...noCredentials,
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    };
    const result = await runCli(['--profile', 'nosuchprofile', 'plan'], { cwd: dir, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('AWS profile "nosuchprofile" (from --profile or AWS_PROFILE)');
  });

  it('an unreachable AWS_ENDPOINT_URL_SESV2 is named as the source', async () => {
    const dir = await workDir(base(['aws: { maxAttempts: 1 }']));
    const result = await runCli(['apply', '--output', 'json'], {
      cwd: dir,
      env: { ...FAKE_CREDENTIALS, AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:9' },
    });
    expect(result.code).toBe(1);
    const [domain] = JSON.parse(result.stdout) as Array<{
      outcome: string;
      errors: string[];
      steps: unknown[];
    }>;
    expect(domain?.outcome).toBe('failed');
    expect(domain?.steps).toEqual([]);
    expect(domain?.errors[0]).toContain('endpoint http://127.0.0.1:9 (from AWS_ENDPOINT_URL_SESV2)');
  });
});

describe('stalled endpoints: every AWS call ends within its timeout', () => {
  it('a stalled S3 endpoint fails keygen (exit 1, naming the endpoint) instead of hanging', async () => {
    const dir = await workDir(
      base([
        'keys: { type: s3, bucket: dkim-keys-bucket, region: us-east-1 }',
        `aws: { endpoints: { s3: "${stalledUrl}" }, maxAttempts: 1, requestTimeoutMs: 1000 }`,
      ]),
    );
    const result = await runCli(['keygen', '--domain', DOMAIN], {
      cwd: dir,
      env: FAKE_CREDENTIALS,
      timeoutMs: 20_000,
    });
    expect(result.timedOut).toBeUndefined();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`endpoint ${stalledUrl} (from aws.endpoints.s3`);
  });

  it('a stalled Secrets Manager endpoint fails status (exit 1) instead of hanging', async () => {
    const dir = await workDir(
      base([
        'state: { type: secrets-manager, region: us-east-1 }',
        `aws: { endpoints: { secretsmanager: "${stalledUrl}", sesv2: "http://127.0.0.1:9" }, maxAttempts: 1, requestTimeoutMs: 1000 }`,
      ]),
    );
    const result = await runCli(['status'], { cwd: dir, env: FAKE_CREDENTIALS, timeoutMs: 20_000 });
    expect(result.timedOut).toBeUndefined();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TimeoutError');
  });
});

describe('leases follow the real clock and never count for more than the longest lease', () => {
  it('a lease another host wrote with a clock in 2030 does not block the domain', async () => {
    const dir = await workDir(base());
    await mkdir(join(dir, '.byodkim', 'state'), { recursive: true });
    await writeFile(
      join(dir, '.byodkim', 'state', `${DOMAIN}.lease`),
      JSON.stringify({
        owner: 'cli:skewed-host:42',
        token: 'skewed',
        host: 'skewed-host.example',
        pid: 42,
        expiresAt: '2030-01-01T00:05:00.000Z',
      }),
    );
    const result = await runCli(['keygen', '--domain', DOMAIN, '--bits', '1024'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
  });

  it('a run with --now 2030 takes its lease by the real clock', async () => {
    const dir = await workDir(
      base([
        'keys: { type: s3, bucket: dkim-keys-bucket, region: us-east-1 }',
        `aws: { endpoints: { s3: "${stalledUrl}" }, maxAttempts: 1, requestTimeoutMs: 3000 }`,
      ]),
    );
    const lease = join(dir, '.byodkim', 'state', `${DOMAIN}.lease`);
    const started = Date.now();
    const run = runCli(['keygen', '--domain', DOMAIN, '--now', '2030-01-01T00:00:00Z'], {
      cwd: dir,
      env: FAKE_CREDENTIALS,
      timeoutMs: 20_000,
    });
    let finished = false;
    void run.then(() => {
      finished = true;
    });
    // While keygen waits on the stalled vault, its lease is on disk.
    let body: { expiresAt: string } | undefined;
    while (body === undefined && !finished) {
      body = await readFile(lease, 'utf8').then(
        (text) => JSON.parse(text) as { expiresAt: string },
        () => undefined,
      );
      if (body === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await run;
    expect(body).toBeDefined();
    expect(Date.parse(body?.expiresAt ?? '')).toBeLessThanOrEqual(Date.now() + MAX_LEASE_MS);
    expect(Date.parse(body?.expiresAt ?? '')).toBeGreaterThan(started);
  });
});

describe('disk errors: named with path and operation, no temp file left behind', () => {
  // Table mode here; JSON mode through apply in test/e2e/hardening.test.ts.
  it('keygen on a disk that takes no more than 1 KiB a file', async () => {
    const dir = await workDir(base());
    // A fresh temp dir for tsx's cache, which the file size limit would otherwise cut short.
    const cache = await mkdtemp(join(root, 'tsx-cache-'));
    const result = await runCli(['keygen', '--domain', DOMAIN], {
      cwd: dir,
      env: { TMPDIR: cache },
      shellSetup: 'ulimit -f 1',
    });
    expect(result.code).toBe(1);
    const message = `cannot write ${join(dir, '.byodkim', 'keys', DOMAIN)}`;
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('EFBIG');
    expect((await files(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    noStackTrace(result);
  });
});

describe('dns-records: what the DNS team must do now, per record', () => {
  function entry(
    selector: string,
    publicKey: string,
    status: KeyStatus,
    extra: Partial<KeyEntry> = {},
  ): KeyEntry {
    return {
      selector,
      bits: 1024,
      publicKey,
      vaultRef: `file:${selector}`,
      origin: 'generated',
      createdAt: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      status,
      statusSince: '2026-06-01T00:00:00.000Z',
      ...extra,
    };
  }

  it('says add, keep or remove by the shared rule, and exit 1 names the keys missing from the vault', async () => {
    const [a, b] = [
      (await testKey('records-a', 1024)).publicKey,
      (await testKey('records-b', 1024)).publicKey,
    ];
    const dir = await workDir(base());
    const state: DomainState = {
      schema: 1,
      domain: DOMAIN,
      keys: [
        entry('next-3', b, 'published'),
        entry('cur-2', a, 'active'),
        entry('old-1', b, 'retiring', { retiringSince: '2026-06-01T00:00:00.000Z' }),
        entry('gone-0', a, 'retiring', {
          retiringSince: '2026-05-01T00:00:00.000Z',
          removalRequestedAt: '2026-05-08T00:00:00.000Z',
        }),
        entry('bad-4', b, 'failed', { retiringSince: '2026-06-01T00:00:00.000Z' }),
        entry('dead-5', a, 'retired', { destroyedAt: '2026-04-01T00:00:00.000Z' }),
      ],
      history: [],
    };
    await mkdir(join(dir, '.byodkim', 'state'), { recursive: true });
    await writeFile(join(dir, '.byodkim', 'state', `${DOMAIN}.json`), JSON.stringify({ version: 1, state }));
    // No key directory at all: the records are still what DNS needs; the missing keys are named.
    const result = await runCli(['dns-records', '--format', 'csv'], { cwd: dir });
    const rows = result.stdout
      .trim()
      .split(/\r\n/)
      .slice(1)
      .map((line) => line.split(','));
    expect(rows.map((r) => [r[0], r[7]])).toEqual([
      ['add', 'next-3'],
      ['keep', 'cur-2'],
      ['keep', 'old-1'],
      ['remove', 'gone-0'],
      ['keep', 'bad-4'],
    ]);
    expect(rows.find((r) => r[7] === 'gone-0')?.[8]).toBe('2026-05-08T00:00:00.000Z');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('has no private key for next-3 (published)');
    expect(result.stderr).toContain('has no private key for cur-2 (active)');
  });
});
