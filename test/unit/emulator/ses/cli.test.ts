import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../../emulator/dns/server.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
// The emulator runs in one Node process (tsx as a loader, not its wrapper binary): killing the
// child then stops the emulator itself, never leaving it running after the test.
const node = process.execPath;
const emulatorCli = ['--import', 'tsx', 'emulator/cli.ts'];

let dns: EmbeddedDnsServer;
beforeAll(async () => {
  dns = await EmbeddedDnsServer.start();
  dns.store.addZone('example.com');
});
afterAll(async () => {
  await dns.stop();
});

function startCli(args: string[]): { child: ChildProcess; endpoint: Promise<string> } {
  const child = spawn(node, [...emulatorCli, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const endpoint = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code} before listening`)));
  });
  return { child, endpoint };
}

describe('standalone emulator (emulator/cli.ts)', () => {
  it('prints its endpoint, serves the SDK, is driven over /_emulator, and stops on SIGTERM', async () => {
    const { child, endpoint: started } = startCli([
      '--port',
      '0',
      '--dns',
      `${dns.host}:${dns.port}`,
      '--virtual-clock',
      '2025-09-17T00:00:00Z',
    ]);
    try {
      const endpoint = await started;
      const ses = new SESv2Client({
        endpoint,
        region: 'ap-northeast-1',
        credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'not-a-secret' },
        maxAttempts: 1,
      });
      await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'example.com' }));
      const identity = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.com' }));
      expect(identity.DkimAttributes?.Status).toBe('PENDING');
      ses.destroy();

      const clock = await fetch(`${endpoint}/_emulator/clock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ advanceMs: 60_000 }),
      });
      expect(await clock.json()).toEqual({ now: '2025-09-17T00:01:00.000Z' });

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('takes the budget, clock, key and account flags of SPEC §11', async () => {
    const { child, endpoint: started } = startCli([
      '--dns',
      `${dns.host}:${dns.port}`,
      '--virtual-clock',
      '2025-09-17T00:00:00Z',
      '--rate',
      '1',
      '--burst',
      '1',
      '--rate-clock',
      'emulator',
      '--throttling-exception-every',
      '0',
      '--verification-delay',
      '0',
      '--pending-interval',
      '0',
      '--unusable-key',
      'reject',
      '--external-tokens',
      'empty',
      '--account',
      'AKIDMEMBER=111111111111',
    ]);
    try {
      const endpoint = await started;
      const ses = new SESv2Client({
        endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDMEMBER', secretAccessKey: 'not-a-secret' },
        maxAttempts: 1,
      });
      await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'example.com' }));
      // Burst 1 on the standing virtual clock: the next call is throttled, as a 429.
      await expect(
        ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.com' })),
      ).rejects.toMatchObject({
        name: 'TooManyRequestsException',
      });
      ses.destroy();
      const counters = await fetch(`${endpoint}/_emulator/counters?account=111111111111`);
      expect(await counters.json()).toMatchObject({ CreateEmailIdentity: 1, GetEmailIdentity: 1 });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits with 2 naming the flag when a flag value is bad', async () => {
    for (const [args, message] of [
      [['--rate', 'fast'], /--rate must be a number/],
      [['--rate-clock', 'sundial'], /--rate-clock must be one of wall, emulator/],
      [['--account', 'AKID=123'], /--account must be ACCESS_KEY_ID=12-digit-account/],
      [['--pending-backoff', '0.5'], /pendingCheckBackoff must be a finite number >= 1/],
    ] as const) {
      const child = spawn(node, [...emulatorCli, '--dns', `${dns.host}:${dns.port}`, ...args], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      const [code] = await once(child, 'exit');
      expect(code, args.join(' ')).toBe(2);
      expect(err).toMatch(message);
    }
  });

  it('exits with 2 and a usage text when --dns is missing', async () => {
    const child = spawn(node, [...emulatorCli, '--port', '0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(err).toMatch(/--dns is required/);
  });
});
