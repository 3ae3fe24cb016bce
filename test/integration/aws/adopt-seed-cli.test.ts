/**
 * `byodkim adopt --seed-secret` through the real CLI: the seed system's S3 object and
 * secret (seeds/003) in moto, the identity already on BYODKIM in the SES emulator, the
 * record in the embedded DNS. byodkim takes it over without touching SES or DNS, then
 * runs its lifecycle with keys in S3 and state in Secrets Manager.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import { buildDkimRecordValue, dkimRecordName } from '../../../src/domain/record.js';
import { runCli } from '../../support/cli.js';
import { testKey } from '../../support/keys.js';
import { MOTO_CREDENTIALS, motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'ap-northeast-1';
const BUCKET = 'aws-ses-migration-prod-dkim-certificates';
const SECRET = 'aws-ses-migration/prod/dkim-config';
const DOMAIN = 'goo.ne.jp';
const SELECTOR = 'gooid-21-pro-20250917-3';
const KEY_PATH = `dkim-keys/${DOMAIN}/${SELECTOR}/private_key.pem`;

describe.skipIf(support.skip)(`adopt from the seed system through the CLI${support.label}`, () => {
  const moto = useMoto();
  const clock = new VirtualClock('2025-10-01T00:00:00Z');
  let dns: EmbeddedDnsServer;
  let ses: SesEmulator;
  let dir: string;
  let pem: string;

  beforeAll(async () => {
    const clients = motoClients(moto.endpoint);
    const key = await testKey('seed-adopt');
    pem = key.toPem();
    const s3 = clients.client('s3', REGION, (c) => new S3Client(c));
    const kms = clients.client('kms', REGION, (c) => new KMSClient(c));
    const kmsKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await s3.send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: KEY_PATH,
        Body: pem,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: kmsKeyId,
      }),
    );
    const sm = clients.client('secretsmanager', REGION, (c) => new SecretsManagerClient(c));
    await sm.send(
      new CreateSecretCommand({
        Name: SECRET,
        SecretString: JSON.stringify({
          domain: DOMAIN,
          selector: SELECTOR,
          dns_record: {
            name: dkimRecordName(SELECTOR, DOMAIN),
            type: 'TXT',
            value: buildDkimRecordValue(key.publicKey),
          },
          s3_key_path: `s3://${BUCKET}/${KEY_PATH}`,
          created_at: '2025-09-17T04:00:00Z',
          expiry_date: '2026-09-17T04:00:00Z',
        }),
      }),
    );
    const store = new ZoneStore();
    store.addZone(DOMAIN, { nameservers: [`ns1.${DOMAIN}`] });
    store.setTxt(dkimRecordName(SELECTOR, DOMAIN), buildDkimRecordValue(key.publicKey));
    dns = await EmbeddedDnsServer.start({ store });
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      clock,
      ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
    });
    const client = new SESv2Client({ endpoint: ses.endpoint, region: REGION, credentials: MOTO_CREDENTIALS });
    await client.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: DOMAIN,
        DkimSigningAttributes: {
          DomainSigningSelector: SELECTOR,
          DomainSigningPrivateKey: key.toSesBase64(),
        },
      }),
    );
    client.destroy();
    await ses.verifyPending();

    dir = await mkdtemp(join(tmpdir(), 'byodkim-adopt-'));
    await writeFile(
      join(dir, 'byodkim.config.yaml'),
      [
        `keys: { type: s3, bucket: ${BUCKET}, prefix: dkim-keys/, kmsKeyId: ${kmsKeyId}, region: ${REGION} }`,
        `state: { type: secrets-manager, secretName: "byodkim/{domain}", region: ${REGION} }`,
        'dns: { provider: manual, outDir: dns-requests }',
        `probe: { nameservers: ["${dns.host}:${dns.port}"] }`,
        `aws: { endpoints: { s3: "${moto.endpoint}", secretsmanager: "${moto.endpoint}", kms: "${moto.endpoint}", sesv2: "${ses.endpoint}" } }`,
        'notify: [{ type: file, path: notifications.jsonl }]',
        'domains:',
        `  - { domain: ${DOMAIN}, regions: [${REGION}], selectorPrefix: gooid-21-pro }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await ses?.stop();
    await dns?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    runCli([...args, '--now', clock.now().toISOString()], {
      cwd: dir,
      env: {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_REGION: REGION,
      },
    });

  it('takes over the seed selector with its key and dates, changing nothing in SES or DNS', async () => {
    ses.resetCounters();
    const adopt = await cli('adopt', '--domain', DOMAIN, '--seed-secret', SECRET);
    expect(adopt.code, adopt.stderr).toBe(0);
    expect(adopt.stdout).toContain(`adopted selector ${SELECTOR}`);
    expect(adopt.stdout).toContain('2026-09-17');
    const writes = Object.entries(ses.counters()).filter(
      ([op]) => op.startsWith('Put') || op.startsWith('Create'),
    );
    expect(writes).toEqual([]);

    const status = JSON.parse((await cli('status', '--output', 'json')).stdout) as Array<{
      active?: string;
      ses: Record<string, string>;
    }>;
    expect(status[0]?.active).toBe(SELECTOR);
    expect(status[0]?.ses[REGION]).toBe('SUCCESS');
    const apply = await cli('apply');
    expect(apply.code, apply.stdout).toBe(0);

    // State went to byodkim's own secret; the key was never written to local disk.
    const sm = motoClients(moto.endpoint).client(
      'secretsmanager',
      REGION,
      (c) => new SecretsManagerClient(c),
    );
    const state = JSON.parse(
      (await sm.send(new GetSecretValueCommand({ SecretId: `byodkim/${DOMAIN}` }))).SecretString ?? '{}',
    ) as { selector?: string; byodkim?: { keys: Array<{ selector: string; origin: string }> } };
    expect(state.selector).toBe(SELECTOR);
    expect(state.byodkim?.keys[0]).toMatchObject({ selector: SELECTOR, origin: 'adopted' });
    const body = pem.split('\n')[3] ?? '';
    expect(`${adopt.stdout}${adopt.stderr}${apply.stdout}${apply.stderr}`).not.toContain(body);
  });
});
