/**
 * `byodkim doctor --send-test` through the real CLI (a child process, as a user runs it):
 * one canary per region through the SES emulator, delivered into a moto bucket as SES
 * receiving's S3 action stores it, read back and judged with mailauth against the
 * authoritative nameserver.
 *
 * The emulator runs on the system clock: the CLI is its own process and waits for real mail
 * in real time (it polls the inbox until `--wait` runs out), and the emulator's delivery
 * poller delivers a few seconds of wall time after the send — the same shape as the real
 * service, with nothing to drive by hand.
 *
 *  - healthy.example: the record SES verified is still served → exit 0, "passing";
 *  - broken.example: after SES verified, the record was replaced with another key, so SES
 *    signs with a key no receiver can check → exit 1, the failing check named;
 *  - swapped.example: someone else put a new key into SES with no record → mail leaves
 *    unsigned by the domain → exit 1, the failing check named.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { SesSigningService } from '../../../src/adapters/aws/ses.js';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import type { SendTestResult } from '../../../src/doctor/send-test.js';
import type { DkimPrivateKey } from '../../../src/domain/key.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import type { DomainState } from '../../../src/domain/state.js';
import { runCli } from '../../support/cli.js';
import { testKey } from '../../support/keys.js';
import { MOTO_CREDENTIALS, motoSupport, useMoto } from '../../support/moto.js';

const REGIONS = ['us-east-1', 'ap-northeast-1'];
const SEL = 'mail-20270101-1';
const HEALTHY = 'healthy.example';
const BROKEN = 'broken.example';
const SWAPPED = 'swapped.example';
const BUCKET = 'canary-inbox';
const INBOX = 'inbox.example.net';

const support = motoSupport();

describe.skipIf(support.skip)(`doctor --send-test through the CLI${support.label}`, () => {
  const moto = useMoto();
  let dns: EmbeddedDnsServer;
  let ses: SesEmulator;
  let clients: AwsClientFactory;
  let dir: string;
  let key: DkimPrivateKey;

  beforeAll(async () => {
    key = await testKey('send-test-key');
    const other = await testKey('send-test-other');
    const store = new ZoneStore();
    for (const domain of [HEALTHY, BROKEN, SWAPPED]) {
      store.addZone(domain, { nameservers: [`ns1.${domain}`] });
      store.setTxt(`_dmarc.${domain}`, 'v=DMARC1; p=reject');
      store.setTxt(`${SEL}._domainkey.${domain}`, buildDkimRecordValue(key.publicKey));
    }
    // SES's envelope sender is <region>.amazonses.com; the emulator sends from TEST-NET-3
    // (emulator/SPEC.md §15), so SPF is published for that range here.
    store.addZone('amazonses.com', { nameservers: ['ns1.amazonses.com'] });
    for (const region of REGIONS) store.setTxt(`${region}.amazonses.com`, 'v=spf1 ip4:203.0.113.0/24 -all');
    dns = await EmbeddedDnsServer.start({ store });
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      ...INSTANT_UNLIMITED,
      inbound: [
        {
          domain: INBOX,
          type: 's3',
          endpoint: moto.endpoint,
          bucket: BUCKET,
          prefix: 'canary/',
          credentials: MOTO_CREDENTIALS,
        },
      ],
    });
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      forcePathStyle: true,
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    s3.destroy();

    clients = new AwsClientFactory({
      credentials: MOTO_CREDENTIALS,
      endpoints: { sesv2: ses.endpoint },
      env: {},
    });
    const service = new SesSigningService({ clients });
    dir = await mkdtemp(join(tmpdir(), 'byodkim-send-test-'));
    const state = new FileStateStore({ dir: join(dir, 'state') });
    for (const domain of [HEALTHY, BROKEN, SWAPPED]) {
      for (const region of REGIONS) {
        await service.createIdentity(domain, region, { selector: SEL, key });
        // SES checks the record (served as byodkim published it) and signs from now on.
        expect((await service.describe(domain, region)).status, `${domain} ${region}`).toBe('SUCCESS');
      }
      const at = '2027-01-01T00:00:00.000Z';
      const saved: DomainState = {
        schema: 1,
        domain,
        keys: [
          {
            selector: SEL,
            bits: 2048,
            publicKey: key.publicKey,
            vaultRef: `file:${SEL}`,
            origin: 'generated',
            createdAt: at,
            notAfter: '2028-01-01T00:00:00.000Z',
            status: 'active',
            statusSince: at,
          },
        ],
        history: [],
      };
      await state.save(saved, undefined);
    }
    // broken.example: the record replaced by hand after SES verified it (SES rechecks hourly).
    store.setTxt(`${SEL}._domainkey.${BROKEN}`, buildDkimRecordValue(other.publicKey));
    // swapped.example: another actor put a key into SES and published nothing.
    for (const region of REGIONS) await ses.swapKey({ region, identity: SWAPPED, selector: 'intruder' });

    await writeFile(
      join(dir, 'byodkim.config.yaml'),
      [
        'version: 1',
        'state: { type: file, dir: state }',
        `probe: { nameservers: ["${dns.host}:${dns.port}"], timeoutMs: 1000 }`,
        `aws: { endpoints: { sesv2: "${ses.endpoint}", s3: "${moto.endpoint}" }, maxAttempts: 2 }`,
        'canary:',
        `  to: canary@${INBOX}`,
        `  inbox: { type: s3, bucket: ${BUCKET}, prefix: canary/, region: us-east-1 }`,
        'domains:',
        ...[HEALTHY, BROKEN, SWAPPED].map((d) => `  - { domain: ${d}, regions: [${REGIONS.join(', ')}] }`),
        '',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    clients?.destroy();
    await ses?.stop();
    await dns?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function sendTest(...args: string[]) {
    return runCli(['doctor', '--send-test', '--config', 'byodkim.config.yaml', '--wait', '60', ...args], {
      cwd: dir,
      env: {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
  }

  async function inboxKeys(): Promise<string[]> {
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      forcePathStyle: true,
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    s3.destroy();
    return (listed.Contents ?? []).map((o) => o.Key ?? '');
  }

  it('exits 0 with a passing verdict in both regions on a healthy domain, and leaves the inbox empty', async () => {
    const result = await sendTest('--domain', HEALTHY);
    expect(result.code, result.stderr).toBe(0);
    for (const region of REGIONS)
      expect(result.stdout).toMatch(new RegExp(`^${HEALTHY} ${region}: PASS {2}canary t-`, 'm'));
    expect(result.stdout).toMatch(/ok {3}dkim-selector\s+.*mail-20270101-1/);
    expect(result.stdout).toMatch(/ok {3}spf\s+pass/);
    expect(result.stdout).toMatch(/ok {3}dmarc\s+pass, aligned through dkim/);
    expect(result.stdout).toMatch(/doctor --send-test: passing\n$/);
    expect(result.stdout).not.toMatch(/FAIL/);
    // What SES really sent: one canary per region, signed with the domain's key, delivered.
    const sent = ses.outbox({ identity: HEALTHY });
    expect(sent.map((m) => m.region).sort()).toEqual([...REGIONS].sort());
    for (const m of sent) expect(m).toMatchObject({ signedWithDomainKey: true, selector: SEL });
    expect(await inboxKeys()).toEqual([]);
  }, 120_000);

  it('exits 1 naming the failing check when the served record no longer matches the key SES signs with', async () => {
    const result = await sendTest('--domain', BROKEN, '--output', 'json');
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { pass: boolean; results: SendTestResult[] };
    expect(report.pass).toBe(false);
    expect(report.results.map((r) => r.region).sort()).toEqual([...REGIONS].sort());
    for (const r of report.results) {
      expect(r.verdict.selector).toBe(SEL);
      expect(r.verdict.failing, r.region).toBe('dkim-signature');
      expect(r.verdict.checks.find((c) => c.check === 'dkim-body-hash')?.ok).toBe(true);
    }
    expect(await inboxKeys()).toEqual([]);
  }, 120_000);

  it('exits 1 naming the failing check when SES sends the mail unsigned by the domain', async () => {
    const result = await sendTest('--domain', SWAPPED);
    expect(result.code, result.stderr).toBe(1);
    for (const region of REGIONS)
      expect(result.stdout).toMatch(new RegExp(`^${SWAPPED} ${region}: FAIL \\(dkim-domain\\)`, 'm'));
    expect(result.stdout).toMatch(/FAIL dkim-domain/);
    expect(result.stdout).toMatch(/doctor --send-test: failing\n$/);
  }, 120_000);
});
