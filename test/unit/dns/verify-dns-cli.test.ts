import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import { buildDkimRecordValue, REVOKED_RECORD_VALUE } from '../../../src/domain/record.js';
import type { DomainState, KeyEntry, KeyStatus } from '../../../src/domain/state.js';
import { runCli } from '../../support/cli.js';
import { testKey } from '../../support/keys.js';
import { newStore } from './support.js';

const DOMAIN = 'verify.example';

let dir: string;
let server: EmbeddedDnsServer;
let activeKey: string;
let nextKey: string;
let strangerKey: string;

function entry(selector: string, publicKey: string, status: KeyStatus): KeyEntry {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    selector,
    bits: 2048,
    publicKey,
    vaultRef: `file:${selector}`,
    origin: 'generated',
    createdAt: at,
    notAfter: '2027-01-01T00:00:00.000Z',
    status,
    statusSince: at,
  };
}

function name(selector: string): string {
  return `${selector}._domainkey.${DOMAIN}`;
}

beforeAll(async () => {
  activeKey = (await testKey('verify-active')).publicKey;
  nextKey = (await testKey('verify-next')).publicKey;
  strangerKey = (await testKey('verify-stranger')).publicKey;
  dir = await mkdtemp(join(tmpdir(), 'verify-dns-'));
  const store = newStore();
  store.addZone(DOMAIN);
  server = await EmbeddedDnsServer.start({ store });
  await writeFile(
    join(dir, 'byodkim.config.yaml'),
    [
      'probe:',
      `  nameservers: ["127.0.0.1:${server.port}"]`,
      '  timeoutMs: 300',
      'domains:',
      `  - domain: ${DOMAIN}`,
      '    regions: [us-east-1]',
      '  - domain: empty.example',
      '    regions: [us-east-1]',
      '',
    ].join('\n'),
  );
  const state: DomainState = {
    schema: 1,
    domain: DOMAIN,
    keys: [
      entry('active-1', activeKey, 'active'),
      entry('next-2', nextKey, 'published'),
      entry('old-0', activeKey, 'retired'),
      entry('bad-9', nextKey, 'revoked'),
    ],
    history: [],
  };
  await new FileStateStore({ dir: join(dir, '.byodkim', 'state') }).save(state, undefined);
});

afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

interface JsonOutput {
  domain: string;
  propagated: boolean;
  selectors: Array<{
    selector: string;
    expect: string;
    propagated: boolean;
    answers: Array<{ nameserver: string; outcome: string }>;
  }>;
}

describe('byodkim verify-dns', () => {
  it('exits 3 and names the selector that is not served yet, then 0 once every selector is served', async () => {
    // Prepare: only the active key is served.
    server.store.setTxt(name('active-1'), buildDkimRecordValue(activeKey));

    // Act
    const waiting = await runCli(['verify-dns', '--domain', DOMAIN], { cwd: dir });
    server.store.setTxt(name('next-2'), buildDkimRecordValue(nextKey));
    const done = await runCli(['verify-dns', '--domain', DOMAIN], { cwd: dir });

    // Assess
    expect(waiting.stderr).toBe('');
    expect(waiting.code).toBe(3);
    expect(waiting.stdout).toMatch(/selector\s+nameserver\s+address\s+outcome\s+detail/);
    expect(waiting.stdout).toMatch(/next-2\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+\s+missing/);
    expect(waiting.stdout).toContain('next-2: not yet');
    expect(waiting.stdout).toContain('active-1: propagated');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('next-2: propagated');
    // A retired selector is not checked unless asked for; a revoked one is, as a revocation
    // (its empty p=, or nothing) is what DNS must keep serving (src/domain/dns-duty.ts).
    expect(done.stdout).not.toContain('old-0');
    expect(done.stdout).toContain('bad-9: propagated');
  });

  it('prints JSON with one answer per nameserver and the expectation per selector', async () => {
    server.store.setTxt(name('active-1'), buildDkimRecordValue(activeKey));
    server.store.setTxt(name('next-2'), buildDkimRecordValue(strangerKey));

    const result = await runCli(['verify-dns', '--domain', DOMAIN, '--output', 'json'], { cwd: dir });

    expect(result.code).toBe(3);
    const out = JSON.parse(result.stdout) as JsonOutput;
    expect(out.propagated).toBe(false);
    expect(
      out.selectors.map((s) => [s.selector, s.expect, s.propagated, s.answers.map((a) => a.outcome)]),
    ).toEqual([
      ['active-1', 'key', true, ['match']],
      ['next-2', 'key', false, ['other-key']],
      ['bad-9', 'revoked', true, ['missing']],
    ]);
  });

  it('checks named selectors: a retired one must be gone, a revoked one revoked, an unknown one is reported', async () => {
    server.store.setTxt(name('old-0'), buildDkimRecordValue(activeKey));
    server.store.setTxt(name('bad-9'), REVOKED_RECORD_VALUE);
    server.store.setTxt(name('stranger'), buildDkimRecordValue(strangerKey));

    const stillThere = await runCli(
      ['verify-dns', '--domain', DOMAIN, '--selector', 'old-0', 'bad-9', 'stranger', '-o', 'json'],
      { cwd: dir },
    );
    server.store.removeTxt(name('old-0'));
    const removed = await runCli(
      ['verify-dns', '--domain', DOMAIN, '--selector', 'old-0', 'bad-9', 'stranger', '-o', 'json'],
      { cwd: dir },
    );

    expect(stillThere.code).toBe(3);
    const before = JSON.parse(stillThere.stdout) as JsonOutput;
    expect(before.selectors.map((s) => [s.selector, s.expect, s.propagated])).toEqual([
      ['old-0', 'gone', false],
      ['bad-9', 'revoked', true],
      ['stranger', 'report', true],
    ]);
    expect(removed.code).toBe(0);
  });

  it('exits 3 when a nameserver fails (SERVFAIL), and says so', async () => {
    server.store.setTxt(name('active-1'), buildDkimRecordValue(activeKey));
    server.setFault(name('active-1'), 'servfail');
    try {
      const result = await runCli(['verify-dns', '--domain', DOMAIN, '--selector', 'active-1'], { cwd: dir });
      expect(result.code).toBe(3);
      expect(result.stdout).toMatch(/active-1\s+\S+\s+\S+\s+servfail/);
    } finally {
      server.setFault(name('active-1'), undefined);
    }
  });

  it('exits 2 for bad input: unknown domain, missing --domain, bad selector, nothing to verify', async () => {
    const unknown = await runCli(['verify-dns', '--domain', 'nope.example'], { cwd: dir });
    const missing = await runCli(['verify-dns'], { cwd: dir });
    const badSelector = await runCli(['verify-dns', '--domain', DOMAIN, '--selector', '-bad-'], { cwd: dir });
    const nothing = await runCli(['verify-dns', '--domain', 'empty.example'], { cwd: dir });

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('nope.example');
    expect(missing.code).toBe(2);
    expect(badSelector.code).toBe(2);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('--selector');
  });
});
