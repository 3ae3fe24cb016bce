import { spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { udpExchange } from '../../../emulator/dns/client.js';
import { addRecord, deleteRRset, encodeUpdate } from '../../../emulator/dns/update.js';
import { decodeMessage, Rcode, txtRdata } from '../../../emulator/dns/wire.js';
import { signMessage, verifyMessage } from '../../../src/adapters/dns/tsig.js';
import { type BindPair, type BindServerAddress, bindSkipReason, startBindPair } from '../../support/bind.js';

const skipReason = bindSkipReason();
if (skipReason !== undefined) console.warn(`skipping BIND harness tests: ${skipReason}`);

const ZONE = 'harness.example';
const SELECTOR = `s1._domainkey.${ZONE}`;

function resolverFor(server: BindServerAddress): Resolver {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`${server.host}:${server.port}`]);
  return resolver;
}

async function txt(server: BindServerAddress, name: string): Promise<string[]> {
  try {
    return (await resolverFor(server).resolveTxt(name)).map((strings) => strings.join(''));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND') return [];
    throw error;
  }
}

async function publish(pair: BindPair, name: string, value: string): Promise<void> {
  const { wire, mac } = signMessage(
    encodeUpdate(ZONE, {
      updates: [deleteRRset(name, 'TXT'), addRecord(name, 'TXT', txtRdata([value]), 30)],
    }),
    pair.tsig,
  );
  const answer = await udpExchange(pair.primary.host, pair.primary.port, wire);
  const { message } = verifyMessage(answer, pair.tsig, { requestMac: mac });
  expect(decodeMessage(message).rcode).toBe(Rcode.NOERROR);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skipReason !== undefined)('BIND 9 primary/secondary harness', () => {
  let pair: BindPair;

  beforeAll(async () => {
    pair = await startBindPair({
      zones: [{ origin: ZONE, records: ['s1._domainkey IN TXT "v=DKIM1; p=initial"'] }],
    });
  });

  afterAll(async () => {
    await pair?.stop();
  });

  it('serves the zone from both servers, with a generated TSIG key', async () => {
    expect(pair.primary.port).not.toBe(pair.secondary.port);
    expect(pair.tsig.secret.length).toBeGreaterThan(20);
    expect(await txt(pair.primary, SELECTOR)).toEqual(['v=DKIM1; p=initial']);
    expect(await txt(pair.secondary, SELECTOR)).toEqual(['v=DKIM1; p=initial']);
  });

  it('a dynamic update on the primary reaches the secondary (NOTIFY + IXFR)', async () => {
    const before = await pair.serial('primary', ZONE);

    await publish(pair, SELECTOR, 'v=DKIM1; p=second');
    await pair.waitForSync(ZONE);

    expect(await pair.serial('secondary', ZONE)).toBeGreaterThan(before ?? 0);
    expect(await txt(pair.secondary, SELECTOR)).toEqual(['v=DKIM1; p=second']);
  });

  it('a held-back secondary keeps serving the old answer until released', async () => {
    await pair.holdSecondary();
    await publish(pair, SELECTOR, 'v=DKIM1; p=third');
    // NOTIFY is sent at once (notify-delay 0); give a transfer ample time to (not) happen.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(await txt(pair.primary, SELECTOR)).toEqual(['v=DKIM1; p=third']);
    expect(await txt(pair.secondary, SELECTOR)).toEqual(['v=DKIM1; p=second']);
    expect(await pair.serial('secondary', ZONE)).toBeLessThan((await pair.serial('primary', ZONE)) ?? 0);

    await pair.releaseSecondary();

    expect(await txt(pair.secondary, SELECTOR)).toEqual(['v=DKIM1; p=third']);
    expect(await pair.serial('secondary', ZONE)).toBe(await pair.serial('primary', ZONE));
  });

  it('a stopped secondary does not answer; restarted, it serves its stale copy until told to catch up', async () => {
    await pair.stopSecondary();
    expect(pair.processIds().secondary).toBeUndefined();
    await expect(resolverFor(pair.secondary).resolveTxt(SELECTOR)).rejects.toMatchObject({
      code: expect.stringMatching(/ETIMEOUT|ECONNREFUSED|EREFUSED/),
    });
    await publish(pair, SELECTOR, 'v=DKIM1; p=fourth');

    await pair.startSecondary();
    // BIND reloads its saved copy and only checks the primary at its refresh timer.
    expect(await txt(pair.secondary, SELECTOR)).toEqual(['v=DKIM1; p=third']);
    await pair.releaseSecondary();

    expect(await txt(pair.secondary, SELECTOR)).toEqual(['v=DKIM1; p=fourth']);
  });

  it('rndc reaches each server on its own control channel', async () => {
    expect(await pair.rndc('primary', 'status')).toMatch(/server is up and running/);
    expect(await pair.rndc('secondary', 'zonestatus', ZONE)).toMatch(/type: secondary/);
  });
});

describe.skipIf(skipReason !== undefined)('BIND 9 harness lifecycle', () => {
  it('stops cleanly: no process left, temp directories removed', async () => {
    const pair = await startBindPair({ zones: [{ origin: 'a.example' }, { origin: 'b.example' }] });
    const pids = pair.processIds();
    const dirs = Object.values(pair.directories);
    expect(pids.primary).toBeDefined();
    expect(pids.secondary).toBeDefined();
    expect(dirs.every((d) => existsSync(d))).toBe(true);

    await pair.stop();
    await pair.stop(); // idempotent

    expect(isAlive(pids.primary ?? -1)).toBe(false);
    expect(isAlive(pids.secondary ?? -1)).toBe(false);
    expect(dirs.some((d) => existsSync(d))).toBe(false);
  });

  it('named dies with the test process even when stop() never runs (killed runner)', async () => {
    // Prepare: a separate Node process starts a pair, reports the pids, then is SIGKILLed.
    const dir = mkdtempSync(join(tmpdir(), 'byodkim-orphan-'));
    const script = join(dir, 'orphan.mts');
    const harness = pathToFileURL(fileURLToPath(new URL('../../support/bind.ts', import.meta.url))).href;
    writeFileSync(
      script,
      `import { startBindPair } from ${JSON.stringify(harness)};\n` +
        "const pair = await startBindPair({ zones: [{ origin: 'orphan.example' }] });\n" +
        'process.stdout.write(JSON.stringify({ ...pair.processIds(), dirs: pair.directories }) + "\\n");\n' +
        'setInterval(() => {}, 1000);\n',
    );
    const orphanDirs: string[] = [];
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
        });
        child.once('exit', (code) => reject(new Error(`orphan script exited early (${code})`)));
      });
      const started = JSON.parse(line) as {
        primary: number;
        secondary: number;
        dirs: Record<string, string>;
      };
      orphanDirs.push(...Object.values(started.dirs));
      expect(isAlive(started.primary)).toBe(true);

      // Act
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 5000;
      while ((isAlive(started.primary) || isAlive(started.secondary)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      // Assess
      expect(isAlive(started.primary)).toBe(false);
      expect(isAlive(started.secondary)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      for (const d of [dir, ...orphanDirs]) rmSync(d, { recursive: true, force: true });
    }
  });

  it('a zone BIND cannot load fails the start with named’s log, and leaves nothing behind', async () => {
    const ours = (): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith('byodkim-bind-'));
    const before = ours();

    const attempt = startBindPair({ zones: [{ origin: 'broken.example', records: ['bad IN CNAME'] }] });

    await expect(attempt).rejects.toThrow(
      /did not serve broken\.example[\s\S]*Log tail[\s\S]*not loaded due to errors/,
    );
    expect(ours()).toEqual(before);
  });
});
