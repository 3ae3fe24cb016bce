import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../emulator/clock.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import { verifySample } from '../../../emulator/verify-sample.js';
import { type BindPair, bindSkipReason, startBindPair } from '../../support/bind.js';
import { runCli } from '../../support/cli.js';

/**
 * Delegated DKIM zone against real BIND 9 serving both zones: the mail domain carries the
 * one-time CNAMEs, the delegated zone is changed by RFC 2136 + TSIG. Onboarding and three
 * rotations run with no manual step; mail verifies at every pass (mailauth follows the
 * CNAME); a ring name is reused only after its cool-down; a missing CNAME stops a domain
 * before any SES change, naming the CNAME to add.
 */
const skipReason = bindSkipReason();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAIL = 'mail.example';
const NO_CNAME = 'nocname.example';
const ZONE = 'dkim.example.net';

describe.skipIf(skipReason !== undefined)('delegated DKIM zone (BIND primary + secondary)', () => {
  let pair: BindPair;
  let ses: SesEmulator;
  let dir: string;
  const clock = new VirtualClock('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    pair = await startBindPair({
      zones: [
        {
          origin: MAIL,
          records: [
            'mail-a._domainkey IN CNAME mail-a.dkim.example.net.',
            'mail-b._domainkey IN CNAME mail-b.dkim.example.net.',
            'mail-c._domainkey IN CNAME mail-c.dkim.example.net.',
          ],
        },
        { origin: NO_CNAME, records: [] },
        { origin: ZONE, records: [] },
      ],
    });
    ses = await SesEmulator.start({
      dns: { host: pair.primary.host, port: pair.primary.port },
      clock,
      ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
    });
    dir = await mkdtemp(join(tmpdir(), 'byodkim-delegation-'));
    await writeFile(join(dir, 'tsig.key'), `${pair.tsig.secret}\n`, { mode: 0o600 });
    const server = (s: { host: string; port: number }) => `"${s.host}:${s.port}"`;
    await writeFile(
      join(dir, 'byodkim.config.yaml'),
      [
        'policy: { verifyChecks: 2, keyBits: 1024 }',
        `dns: { provider: rfc2136, server: ${server(pair.primary)}, tsig: { name: "${pair.tsig.name}", algorithm: ${pair.tsig.algorithm}, secretFile: tsig.key } }`,
        `probe: { nameservers: [${server(pair.primary)}, ${server(pair.secondary)}], timeoutMs: 1000 }`,
        `aws: { endpoints: { sesv2: "${ses.endpoint}" }, maxAttempts: 2 }`,
        'notify: [{ type: file, path: notifications.jsonl }]',
        'domains:',
        `  - { domain: ${MAIL}, regions: [us-east-1, eu-west-1], selectorPrefix: mail, createIdentity: true, delegation: { zone: ${ZONE}, selectors: 3, coolDownDays: 7 } }`,
        `  - { domain: ${NO_CNAME}, regions: [us-east-1], selectorPrefix: nocname, createIdentity: true, delegation: { zone: ${ZONE}, selectors: 3 } }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await ses?.stop();
    await pair?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    runCli([...args, '--now', clock.now().toISOString()], {
      cwd: dir,
      env: { AWS_ACCESS_KEY_ID: 'AKIDDELEG', AWS_SECRET_ACCESS_KEY: 'not-a-secret', AWS_REGION: 'us-east-1' },
    });

  async function active(): Promise<string | undefined> {
    const rows = JSON.parse((await cli('status', '--domain', MAIL, '--output', 'json')).stdout) as Array<{
      active?: string;
    }>;
    return rows[0]?.active;
  }

  async function expectMailVerifies(label: string): Promise<void> {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const sample = await ses.signSample(region, MAIL);
      const verdict = await verifySample(sample.message, MAIL, pair.primary, clock.now());
      expect(verdict.pass, `${label}: ${region} ${JSON.stringify(verdict.signatures)}`).toBe(true);
    }
  }

  async function passesUntilSettled(label: string, checkMail: boolean): Promise<void> {
    for (let i = 0; i < 12; i++) {
      const result = await cli('apply', '--domain', MAIL);
      expect([0, 3], `${label}: ${result.stdout}${result.stderr}`).toContain(result.code);
      if (checkMail) await expectMailVerifies(`${label}, pass ${i + 1}`);
      if (result.code === 0) return;
      clock.advance(HOUR);
      await pair.waitForSync(ZONE).catch(() => undefined);
    }
    const plan = await cli('plan', '--domain', MAIL);
    const verify = await cli('verify-dns', '--domain', MAIL);
    throw new Error(`${label}: not settled\n${plan.stdout}\n${verify.stdout}`);
  }

  it('prints the one-time CNAME set for the DNS team', async () => {
    const zone = await cli('delegation-records', '--domain', MAIL, '--format', 'zone');
    expect(zone.code).toBe(0);
    for (const s of ['a', 'b', 'c'])
      expect(zone.stdout).toContain(`mail-${s}._domainkey.${MAIL}. 3600 IN CNAME mail-${s}.${ZONE}.`);
    const csv = await cli('delegation-records', '--domain', MAIL, '--format', 'csv');
    expect(csv.stdout.split('\r\n').filter((l) => l.includes('CNAME'))).toHaveLength(3);
  });

  it('onboards and rotates three times with no manual step, reusing a name only after its cool-down', async () => {
    await passesUntilSettled('onboarding', false);
    expect(await active()).toBe('mail-a');
    await expectMailVerifies('after onboarding');
    const used = ['mail-a'];
    for (const rotation of [1, 2, 3]) {
      clock.advance(336 * DAY);
      await passesUntilSettled(`rotation ${rotation}`, true);
      used.push((await active()) ?? '?');
      clock.advance(8 * DAY);
      await passesUntilSettled(`retirement ${rotation}`, true);
    }
    expect(used).toEqual(['mail-a', 'mail-b', 'mail-c', 'mail-a']);
    const history = JSON.parse((await cli('history', '--domain', MAIL, '--output', 'json')).stdout) as Array<{
      at: string;
      selector?: string;
      to?: string;
    }>;
    const aRetired = history.find((h) => h.selector === 'mail-a' && h.to === 'retired');
    const aReused = history.filter((h) => h.selector === 'mail-a' && h.to === 'staged')[1];
    expect(aRetired && aReused).toBeTruthy();
    expect(Date.parse(aReused?.at ?? '') - Date.parse(aRetired?.at ?? '')).toBeGreaterThanOrEqual(7 * DAY);
    // Nothing was ever asked of the mail domain's DNS after the CNAMEs: no hand-off files.
    await expect(import('node:fs').then((fs) => fs.readdirSync(join(dir, 'dns-requests')))).rejects.toThrow(
      /ENOENT/,
    );
  });

  it('stops a domain whose CNAME is missing before any SES change, naming the CNAME to add', async () => {
    ses.resetCounters();
    let output = '';
    for (let i = 0; i < 4; i++) {
      const result = await cli('apply', '--domain', NO_CNAME);
      expect(result.code).toBe(3);
      output += result.stdout;
      clock.advance(HOUR);
    }
    expect(output).toContain(`add nocname-a._domainkey.${NO_CNAME}. CNAME nocname-a.${ZONE}.`);
    const verify = await cli('verify-dns', '--domain', NO_CNAME);
    expect(verify.code).toBe(3);
    expect(verify.stdout).toContain(`CNAME nocname-b._domainkey.${NO_CNAME} → nocname-b.${ZONE}: MISSING`);
    const doctor = await cli('doctor', '--domain', NO_CNAME, '--output', 'json');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain('DELEGATION_CNAME_MISSING');
    expect(doctor.stdout).toContain(`nocname-a._domainkey.${NO_CNAME}. 3600 IN CNAME nocname-a.${ZONE}.`);
    const healthy = await cli('doctor', '--domain', MAIL, '--output', 'json');
    expect(healthy.stdout).not.toContain('DELEGATION_CNAME');
    expect(healthy.stdout).not.toContain('DNS_RECORD_MISSING');
    const good = await cli('verify-dns', '--domain', MAIL);
    expect(good.stdout).toContain(
      `CNAME mail-c._domainkey.${MAIL} → mail-c.${ZONE}: in place on every nameserver`,
    );
    const counters = ses.counters();
    expect(counters.PutEmailIdentityDkimSigningAttributes ?? 0).toBe(0);
    expect(counters.CreateEmailIdentity ?? 0).toBe(0);
  });
});
