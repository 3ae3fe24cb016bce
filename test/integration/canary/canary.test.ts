/**
 * Issue 19's acceptance, with real parts: the SES emulator (10-minute detection delay)
 * sends canaries into moto's S3 (as SES receiving's receipt rule stores them) and, over
 * LMTP, into a real Dovecot read back over IMAP; byodkim's engine judges them with mailauth
 * against the authoritative DNS server. One domain per inbox, two regions each, on a
 * virtual clock moving 5 minutes per pass:
 *  - canaries are sent and judged in both regions, for both inboxes;
 *  - during a rotation the gap measured from canary mail is reported and agrees with the
 *    emulator's truth (the put plus its 10-minute delay) within one canary interval;
 *  - a key swapped behind byodkim's back (emulator control) raises the alarm on the next canary.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { SesEmulator } from '../../../emulator/ses/server.js';
import { buildEngineDeps } from '../../../src/config/engine.js';
import { type LoadedConfig, loadConfig } from '../../../src/config/load.js';
import type { DomainState } from '../../../src/domain/state.js';
import { recordRequest } from '../../../src/engine/operator.js';
import { applyDomain, type EngineDeps } from '../../../src/engine/reconcile.js';
import { lastSwitchReport } from '../../../src/engine/report.js';
import type { EngineEvent } from '../../../src/ports.js';
import { type Dovecot, startDovecot } from '../../support/dovecot.js';
import { MOTO_CREDENTIALS, motoClients, motoSupport, useMoto } from '../../support/moto.js';
import { skipUnlessTool } from '../../support/require-tool.js';

const MINUTE = 60_000;
const DETECTION_DELAY_MS = 10 * MINUTE;
const CANARY_INTERVAL_S = 300;
const REGIONS = ['us-east-1', 'ap-northeast-1'];
const S3_DOMAIN = 's3.example.com';
const IMAP_DOMAIN = 'imap.example.com';
const IMAP_INBOX = 'canary@inbox-imap.example.net';
const BUCKET = 'canary-inbox';

const skip = motoSupport().skip || skipUnlessTool('/usr/sbin/dovecot');

describe.skipIf(skip)(`the signing canary with real inboxes${motoSupport().label}`, () => {
  const moto = useMoto();
  const clock = new VirtualClock('2027-03-01T00:00:00Z');
  let dns: EmbeddedDnsServer;
  let ses: SesEmulator;
  let dovecot: Dovecot;
  let dir: string;
  let loaded: LoadedConfig;
  let deps: EngineDeps;
  const events: EngineEvent[] = [];
  const states = new Map<string, DomainState>();

  beforeAll(async () => {
    dovecot = await startDovecot(IMAP_INBOX);
    const store = new ZoneStore();
    for (const domain of [S3_DOMAIN, IMAP_DOMAIN]) {
      store.addZone(domain, { nameservers: [`ns1.${domain}`] });
      store.setTxt(`_dmarc.${domain}`, 'v=DMARC1; p=reject');
    }
    const secret = randomBytes(32).toString('base64');
    dns = await EmbeddedDnsServer.start({
      store,
      tsigKeys: [{ name: 'byodkim-key', algorithm: 'hmac-sha256', secret }],
    });
    await new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      forcePathStyle: true,
    }).send(new CreateBucketCommand({ Bucket: BUCKET }));
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      clock,
      ratePerRegion: null,
      verificationDelayMs: DETECTION_DELAY_MS,
      inbound: [
        {
          domain: 'inbox-s3.example.net',
          type: 's3',
          endpoint: moto.endpoint,
          bucket: BUCKET,
          prefix: 'canary/',
          credentials: MOTO_CREDENTIALS,
        },
        { domain: 'inbox-imap.example.net', type: 'lmtp', host: dovecot.host, port: dovecot.lmtpPort },
      ],
    });
    dir = await mkdtemp(join(tmpdir(), 'byodkim-canary-'));
    await writeFile(join(dir, 'tsig.key'), `${secret}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'imap.password'), `${dovecot.password}\n`, { mode: 0o600 });
    await writeFile(
      join(dir, 'byodkim.config.yaml'),
      [
        'version: 1',
        'policy: { verifyChecks: 2, renewalSpreadDays: 0 }',
        `dns: { provider: rfc2136, server: "${dns.host}:${dns.port}", tsig: { name: byodkim-key, algorithm: hmac-sha256, secretFile: tsig.key } }`,
        `probe: { nameservers: ["${dns.host}:${dns.port}"], timeoutMs: 1000 }`,
        'notify: [{ type: file, path: notifications.jsonl }]',
        'canary:',
        '  to: canary@inbox-s3.example.net',
        `  inbox: { type: s3, bucket: ${BUCKET}, prefix: canary/, region: us-east-1 }`,
        'domains:',
        `  - { domain: ${S3_DOMAIN}, regions: [${REGIONS.join(', ')}], selectorPrefix: s3, createIdentity: true }`,
        `  - domain: ${IMAP_DOMAIN}`,
        `    regions: [${REGIONS.join(', ')}]`,
        '    selectorPrefix: imap',
        '    createIdentity: true',
        `    canary: { to: ${IMAP_INBOX}, inbox: { type: imap, host: ${dovecot.host}, port: ${dovecot.imapPort}, secure: false, user: ${IMAP_INBOX}, passwordFile: imap.password } }`,
        '',
      ].join('\n'),
    );
    loaded = await loadConfig(join(dir, 'byodkim.config.yaml'));
    deps = await buildEngineDeps(loaded, {
      clock,
      actor: { kind: 'test' },
      output: { event: (e) => events.push(e) },
      awsClients: motoClients(moto.endpoint, { endpoints: { sesv2: ses.endpoint } }),
    });
  }, 60_000);

  afterAll(async () => {
    await ses?.stop();
    await dns?.stop();
    await dovecot?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One pass for every domain, then 5 virtual minutes (and whatever SES delivers meanwhile). */
  async function pass(): Promise<void> {
    for (const domain of loaded.domains) {
      const result = await applyDomain(domain, deps);
      expect(result.errors, domain.domain).toEqual([]);
      if (result.state) states.set(domain.domain, result.state);
    }
    clock.advance(5 * MINUTE);
    await ses.deliverDue();
  }

  async function passUntil(done: () => boolean, max: number): Promise<number> {
    for (let i = 0; i < max; i++) {
      if (done()) return i;
      await pass();
    }
    throw new Error('did not get there');
  }

  const gapMeasured = (domain: string) => {
    const report = lastSwitchReport(states.get(domain));
    return REGIONS.every((r) => report?.regions[r]?.canaryGapSeconds !== undefined);
  };

  it('onboards both domains and sends and judges canaries in both regions, through S3 and IMAP', async () => {
    // No canary before the identity is verified (SES refuses the mail): they start once a key is active.
    await passUntil(
      () =>
        [S3_DOMAIN, IMAP_DOMAIN].every((d) =>
          REGIONS.every((r) => states.get(d)?.canary?.regions[r]?.lastJudged !== undefined),
        ),
      40,
    );
    for (const domain of [S3_DOMAIN, IMAP_DOMAIN]) {
      const canary = states.get(domain)?.canary;
      for (const region of REGIONS) {
        expect(canary?.regions[region]?.lastSigned?.selector).toMatch(
          new RegExp(`^${domain.split('.')[0]}-`),
        );
        expect(canary?.regions[region]?.lastJudged).toMatchObject({
          signed: true,
          dmarcPass: true,
          pass: true,
        });
      }
    }
    // What SES really did, per the emulator: canaries from both domains in both regions, delivered.
    const outbox = ses.outbox();
    for (const domain of [S3_DOMAIN, IMAP_DOMAIN])
      for (const region of REGIONS)
        expect(
          outbox.some(
            (m) =>
              m.from.endsWith(`@${domain}`) &&
              m.region === region &&
              m.signedWithDomainKey &&
              m.deliveries[0]?.at,
          ),
        ).toBe(true);
  }, 300_000);

  it("measures a rotation's gap from canary mail, within one canary interval of the emulator's truth", async () => {
    for (const domain of loaded.domains)
      await recordRequest(domain, deps, { kind: 'rotate', emergency: false, revokeNow: false });
    const before = lastSwitchReport(states.get(S3_DOMAIN))?.selector;
    await passUntil(
      () =>
        [S3_DOMAIN, IMAP_DOMAIN].every(
          (d) => lastSwitchReport(states.get(d))?.selector !== before && gapMeasured(d),
        ),
      40,
    );
    for (const domain of [S3_DOMAIN, IMAP_DOMAIN]) {
      const report = lastSwitchReport(states.get(domain));
      expect(report?.selector).not.toBe(before);
      for (const region of REGIONS) {
        const gap = report?.regions[region];
        const put = ses
          .keyPuts({ region, identity: domain })
          .filter((p) => p.selector === report?.selector)
          .at(-1);
        // The emulator's truth: it signs from the first check after its detection delay.
        const truthSeconds = DETECTION_DELAY_MS / 1000;
        expect(put?.at).toBe(gap?.putAt);
        expect(gap?.canaryGapSeconds).toBeGreaterThanOrEqual(truthSeconds);
        expect((gap?.canaryGapSeconds ?? 0) - truthSeconds).toBeLessThanOrEqual(CANARY_INTERVAL_S);
        // Beside the SES-read measure.
        expect(gap?.gapSeconds).not.toBeNull();
      }
    }
    // Judged canaries leave the inbox (retention 0).
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      forcePathStyle: true,
    });
    await pass();
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect((left.Contents ?? []).length).toBeLessThanOrEqual(REGIONS.length); // only the canaries just sent
  }, 300_000);

  it("raises the alarm on the next canary when the key is swapped behind byodkim's back", async () => {
    const swappedAt = clock.now().getTime();
    await ses.swapKey({ region: 'us-east-1', identity: S3_DOMAIN, selector: 'intruder' });
    const notified = () =>
      events.filter((e) => e.type === 'step' && e.step === 'raise-alarm' && e.status === 'done');
    const before = notified().length;
    // Daily canaries: the next one is due within a day; passes every 5 minutes until the alarm.
    await passUntil(
      () => Object.keys(states.get(S3_DOMAIN)?.alarms ?? {}).includes('CanaryUnsigned@us-east-1'),
      24 * 12 + 4,
    );
    expect(notified().length).toBeGreaterThan(before);
    const notifications = await import('node:fs/promises').then((fs) =>
      fs.readFile(join(dir, 'notifications.jsonl'), 'utf8'),
    );
    expect(notifications).toContain('CanaryUnsigned');
    const alarmed = states.get(S3_DOMAIN)?.canary?.regions['us-east-1']?.lastJudged;
    expect(alarmed?.expectation).toBe('unsigned');
    // The next canary, not a later one: the alarm came from the first canary SES sent after the swap.
    const firstAfter = ses
      .outbox({ identity: S3_DOMAIN, region: 'us-east-1' })
      .filter((m) => Date.parse(m.at) >= swappedAt)
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0];
    expect(firstAfter?.signedWithDomainKey).toBe(false);
    expect(Date.parse(alarmed?.sentAt ?? '')).toBe(Date.parse(firstAfter?.at ?? ''));
  }, 600_000);
});
