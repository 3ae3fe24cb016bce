/**
 * `byodkim doctor` through the real CLI against the embedded DNS server and the SES
 * emulator (no external services): exit codes, table and JSON output.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEmailIdentityMailFromAttributesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { mxRdata } from '../../../emulator/dns/wire.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { SesSigningService } from '../../../src/adapters/aws/ses.js';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import type { DoctorReport } from '../../../src/doctor/diagnose.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import { runCli } from '../../support/cli.js';
import { testKey } from '../../support/keys.js';
import { domainState, keyEntry } from './support.js';

const env = {
  AWS_ACCESS_KEY_ID: 'AKIDDOCTOR',
  AWS_SECRET_ACCESS_KEY: 'doctor-not-secret',
  AWS_REGION: 'eu-west-1',
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
};

let dir: string;
let dns: EmbeddedDnsServer;
let ses: SesEmulator;
let clients: AwsClientFactory;

beforeAll(async () => {
  const key = await testKey('doctor-cli');
  const store = new ZoneStore();
  store.addZone('fine.example');
  store.addZone('broken.example');
  store.addZone('nomailfrom.example');
  // fine.example: signed, DMARC with relaxed SPF alignment (the default), and a custom MAIL
  // FROM subdomain with SES's MX and SPF: DMARC passes through a switch gap.
  store.setTxt('fine-1._domainkey.fine.example', buildDkimRecordValue(key.publicKey));
  store.setTxt('_dmarc.fine.example', 'v=DMARC1; p=quarantine');
  store.setRecords('bounce.fine.example', 'MX', [mxRdata(10, 'feedback-smtp.eu-west-1.amazonses.com')]);
  store.setTxt('bounce.fine.example', 'v=spf1 include:amazonses.com ~all');
  store.setTxt('broken-1._domainkey.broken.example', 'v=DKIM1; k=rsa; p=customerProvidedPublicKey');
  // nomailfrom.example: as fine.example, but SES keeps its own MAIL FROM.
  store.setTxt('nomf-1._domainkey.nomailfrom.example', buildDkimRecordValue(key.publicKey));
  store.setTxt('_dmarc.nomailfrom.example', 'v=DMARC1; p=reject');
  dns = await EmbeddedDnsServer.start({ store });
  ses = await SesEmulator.start({
    dns: { host: dns.host, port: dns.port },
    dnsTimeoutMs: 300,
    ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
  });
  clients = new AwsClientFactory({
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
    endpoints: { sesv2: ses.endpoint },
    env: {},
  });
  const service = new SesSigningService({ clients });
  await service.createIdentity('fine.example', 'eu-west-1', { selector: 'fine-1', key });
  await service.createIdentity('broken.example', 'eu-west-1', { selector: 'broken-1', key });
  await service.createIdentity('nomailfrom.example', 'eu-west-1', { selector: 'nomf-1', key });
  const sdk = new SESv2Client({
    region: 'eu-west-1',
    endpoint: ses.endpoint,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  await sdk.send(
    new PutEmailIdentityMailFromAttributesCommand({
      EmailIdentity: 'fine.example',
      MailFromDomain: 'bounce.fine.example',
      BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    }),
  );
  sdk.destroy();

  dir = await mkdtemp(join(tmpdir(), 'doctor-cli-'));
  await writeFile(
    join(dir, 'byodkim.config.yaml'),
    [
      `probe: { nameservers: ["127.0.0.1:${dns.port}"], timeoutMs: 300 }`,
      `aws: { endpoints: { sesv2: "${ses.endpoint}" }, maxAttempts: 1 }`,
      'domains:',
      '  - { domain: fine.example, regions: [eu-west-1] }',
      '  - { domain: broken.example, regions: [eu-west-1] }',
      '  - { domain: nomailfrom.example, regions: [eu-west-1] }',
      '',
    ].join('\n'),
  );
  const state = new FileStateStore({ dir: join(dir, '.byodkim', 'state') });
  await state.save(
    domainState([keyEntry('fine-1', key.publicKey, 'active')], { domain: 'fine.example' }),
    undefined,
  );
  await state.save(
    domainState([keyEntry('broken-1', key.publicKey, 'active')], { domain: 'broken.example' }),
    undefined,
  );
  await state.save(
    domainState([keyEntry('nomf-1', key.publicKey, 'active')], { domain: 'nomailfrom.example' }),
    undefined,
  );
});

afterAll(async () => {
  clients.destroy();
  await ses.stop();
  await dns.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('byodkim doctor (CLI)', () => {
  it('exits 0 for a healthy domain and prints its SES, DKIM and DMARC state', async () => {
    const result = await runCli(['doctor', '--domain', 'fine.example'], { cwd: dir, env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /SES\s+eu-west-1\s+EXTERNAL fine-1, DKIM SUCCESS, signing on, verified for sending/,
    );
    expect(result.stdout).toMatch(/DKIM\s+fine-1 \(active\)\s+127\.0\.0\.1:\d+: ok ttl 300/);
    expect(result.stdout).toMatch(/INFO {4}DMARC_POLICY/);
    // The MAIL FROM SES verified through the SDK, and its MX and SPF as the nameserver serves them.
    expect(result.stdout).toMatch(
      /MAIL FROM\s+eu-west-1\s+bounce\.fine\.example SUCCESS; 127\.0\.0\.1:\d+: MX ok, SPF ok/,
    );
    expect(result.stdout).toContain('doctor: 0 errors, 0 warnings, 1 info in 1 domain: healthy');
  });

  it('reports a domain without a custom MAIL FROM, with the code and the fix', async () => {
    const result = await runCli(['doctor', '--domain', 'nomailfrom.example', '--output', 'json'], {
      cwd: dir,
      env,
    });
    expect(result.code).toBe(1);
    const [domain] = (JSON.parse(result.stdout) as DoctorReport).domains;
    // Signed and verified: the missing MAIL FROM is the one problem, a warning for the next switch.
    expect(domain?.findings.filter((f) => f.severity !== 'info')).toMatchObject([
      { code: 'MAIL_FROM_MISSING', severity: 'warning', region: 'eu-west-1' },
    ]);
    const [finding] = domain?.findings ?? [];
    expect(finding?.seen).toContain('fails DMARC unless SPF aligns');
    expect(finding?.fix).toContain(
      'aws sesv2 put-email-identity-mail-from-attributes --region eu-west-1 --email-identity nomailfrom.example --mail-from-domain bounce.nomailfrom.example',
    );
    expect(finding?.fix).toContain(
      '`bounce.nomailfrom.example. 3600 IN MX 10 feedback-smtp.eu-west-1.amazonses.com.`',
    );
    expect(domain?.mailFrom).toEqual([
      { region: 'eu-west-1', behaviorOnMxFailure: 'USE_DEFAULT_VALUE', nameservers: [] },
    ]);
    const table = await runCli(['doctor', '--domain', 'nomailfrom.example'], { cwd: dir, env });
    expect(table.stdout).toMatch(/MAIL FROM\s+eu-west-1\s+none/);
    expect(table.stdout).toMatch(/WARNING MAIL_FROM_MISSING {2}eu-west-1/);
  });

  it('exits 1 and reports every domain as JSON when one has problems', async () => {
    const result = await runCli(['doctor', '--output', 'json'], { cwd: dir, env });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.domains.map((d) => [d.domain, d.healthy])).toEqual([
      ['fine.example', true],
      ['broken.example', false],
      ['nomailfrom.example', false],
    ]);
    const broken = report.domains[1];
    expect(broken?.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining([
        'DNS_PLACEHOLDER_KEY',
        'SES_NOT_VERIFIED_FOR_SENDING',
        'SES_DKIM_PENDING',
        'DMARC_MISSING',
      ]),
    );
    expect(broken?.ses[0]).toMatchObject({
      region: 'eu-west-1',
      selector: 'broken-1',
      verificationError: 'INVALID_VALUE',
    });
    expect(report.counts.error).toBeGreaterThanOrEqual(2);
  });

  it('exits 2 on bad input', async () => {
    expect((await runCli(['doctor', '--domain', 'nope.example'], { cwd: dir, env })).code).toBe(2);
    expect((await runCli(['doctor', '--now', 'yesterday'], { cwd: dir, env })).code).toBe(2);
  });
});
