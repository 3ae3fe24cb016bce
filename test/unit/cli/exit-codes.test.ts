/**
 * The exit-code contract (docs/exit-codes.md), command by command, through the real CLI:
 * 0 done, 1 needs a person, 2 bad input (nothing changed), 3 waiting on something outside.
 * Every failure is named on stderr without a stack trace; with `--output json` stdout
 * carries exactly one JSON document, also when the command fails.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../../support/cli.js';

const DOMAIN = 'example.com';
const CONFIG = [
  'version: 1',
  // Nothing answers here: a command that reaches SES fails, and says where the endpoint came from.
  'aws: { endpoints: { sesv2: "http://127.0.0.1:9" }, maxAttempts: 1 }',
  'probe: { nameservers: ["127.0.0.1:9"], timeoutMs: 200 }',
  'domains:',
  `  - { domain: ${DOMAIN}, regions: [us-east-1] }`,
  '',
].join('\n');
const ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDEXITCODES',
  AWS_SECRET_ACCESS_KEY: 'exit-codes-not-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'exit-codes-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function workDir(name: string, config = CONFIG): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'byodkim.config.yaml'), config);
  return dir;
}

/** Every file under `dir` with its content: what a failed command must leave as it was. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path] = await readFile(path, 'utf8');
    }
  }
  return out;
}

function cli(dir: string, args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: dir, env: ENV });
}

function expectOneJsonError(result: CliResult, exitCode: number): { code: string; message: string } {
  const doc = JSON.parse(result.stdout) as { error: { code: string; message: string; exitCode: number } };
  expect(doc.error.exitCode).toBe(exitCode);
  return doc.error;
}

function expectNoStackTrace(result: CliResult): void {
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr).not.toContain('unexpected error');
  expectNoRuntimeWarning(result);
}

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
/** The AWS SDK's notice on Node < 22, which byodkim no longer supports (package.json engines). */
const SDK_OLD_NODE_NOTICE =
  /\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/;

/** No warning from Node or the AWS SDK in any command's output (on Node 22+, none at all). */
function expectNoRuntimeWarning(result: CliResult): void {
  const stderr = NODE_MAJOR < 22 ? result.stderr.replace(SDK_OLD_NODE_NOTICE, '') : result.stderr;
  expect(stderr).not.toMatch(/\(node:\d+\) \S*Warning|@smithy\/|NodeVersionSupportWarning/);
}

const D = ['--domain', DOMAIN];

describe('exit 2: bad input, named, nothing changed (every command)', () => {
  it.each([
    ['init', ['init', '--region', 'mars-north-1'], 'mars-north-1'],
    ['keygen', ['keygen', ...D], 'domains'],
    ['dns-records', ['dns-records'], 'domains'],
    ['verify-dns', ['verify-dns', ...D], 'domains'],
    ['doctor', ['doctor'], 'domains'],
    ['plan', ['plan'], 'domains'],
    ['apply', ['apply'], 'domains'],
    ['status', ['status'], 'domains'],
    ['rotate', ['rotate', ...D], 'domains'],
    ['rollback', ['rollback', ...D], 'domains'],
    ['history', ['history', ...D], 'domains'],
    ['adopt', ['adopt', ...D], 'domains'],
    ['delegation-records', ['delegation-records', ...D], 'domains'],
    ['sandbox', ['sandbox', '--dns-team-delay', '0'], '--dns-team-delay'],
  ])('%s', async (name, args, named) => {
    // An empty domain list is bad input for every command that reads the config.
    const dir = await workDir(`bad-${name}`, 'version: 1\ndomains: []\n');
    const before = await snapshot(dir);
    const result = await cli(dir, [...args, '--output', 'json']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(named);
    expect(expectOneJsonError(result, 2).message).toContain(named);
    expectNoStackTrace(result);
    expect(await snapshot(dir)).toEqual(before);
  });
});

describe('exit 1: stored state that cannot be read, naming the file', () => {
  let dir: string;
  let before: Record<string, string>;
  beforeAll(async () => {
    dir = await workDir('corrupt');
    await mkdir(join(dir, '.byodkim', 'state'), { recursive: true });
    await writeFile(join(dir, '.byodkim', 'state', `${DOMAIN}.json`), '{"version": 1, "state": {"keys": 7}}');
    before = await snapshot(dir);
  });

  it.each([
    ['keygen', ['keygen', ...D]],
    ['dns-records', ['dns-records']],
    ['verify-dns', ['verify-dns', ...D]],
    ['plan', ['plan']],
    ['apply', ['apply']],
    ['status', ['status']],
    ['rotate', ['rotate', ...D]],
    ['rollback', ['rollback', ...D]],
    ['history', ['history', ...D]],
    ['adopt', ['adopt', ...D]],
  ])('%s', async (_, args) => {
    const result = await cli(dir, args);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain(join('.byodkim', 'state', `${DOMAIN}.json`));
    expectNoStackTrace(result);
    expect(await snapshot(dir)).toEqual(before);
  });
});

describe('exit 3: another run holds the domain, the same for every command that changes it', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await workDir('locked');
    await mkdir(join(dir, '.byodkim', 'state'), { recursive: true });
    // A live run on this host: this test process, with a lease that has minutes to go.
    await writeFile(
      join(dir, '.byodkim', 'state', `${DOMAIN}.lease`),
      JSON.stringify({
        owner: 'cli:another-run',
        token: 'another-run',
        host: hostname(),
        pid: process.pid,
        expiresAt: new Date(Date.now() + 4 * 60_000).toISOString(),
      }),
    );
  });

  it.each([
    ['keygen', ['keygen', ...D]],
    ['apply', ['apply']],
    ['rotate', ['rotate', ...D]],
    ['rollback', ['rollback', ...D]],
    ['adopt', ['adopt', ...D]],
  ])('%s', async (_, args) => {
    const result = await cli(dir, [...args, '--output', 'json']);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(result.stderr).toContain('cli:another-run');
    expect(() => JSON.parse(result.stdout)).not.toThrow();
    expectNoRuntimeWarning(result);
    expect(await readdir(join(dir, '.byodkim'))).toEqual(['state']);
  });
});

describe('exit 1: SES cannot be reached (plan, status), with no runtime warning on Node 22+', () => {
  it('plan and status exit 1 when SES cannot be reached, naming the endpoint and where it was set', async () => {
    const dir = await workDir('unreachable');
    for (const command of ['plan', 'status']) {
      const result = await cli(dir, [command, '--output', 'json']);
      expect(result.code, result.stdout).toBe(1);
      expect(result.stdout).toContain('http://127.0.0.1:9 (from aws.endpoints.sesv2 in');
      expect(() => JSON.parse(result.stdout)).not.toThrow();
      expectNoRuntimeWarning(result);
    }
  });
});
