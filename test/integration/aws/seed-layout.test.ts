/**
 * The seed system's layout (seeds/003, the manual runbook), set up with the raw AWS SDK
 * exactly as the runbook reads it, then read and adopted through byodkim.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { S3KeyVault } from '../../../src/adapters/aws/s3-vault.js';
import { SecretsManagerStateStore } from '../../../src/adapters/aws/secrets-manager-state.js';
import type { DkimPrivateKey } from '../../../src/domain/key.js';
import { buildDkimRecordValue, dkimRecordName } from '../../../src/domain/record.js';
import { type DomainState, emptyDomainState } from '../../../src/domain/state.js';
import { ConflictError } from '../../../src/errors.js';
import { testKey } from '../../support/keys.js';
import { motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'ap-northeast-1';
const BUCKET = 'aws-ses-migration-prod-dkim-certificates';
const SECRET = 'aws-ses-migration/prod/dkim-config';
const DOMAIN = 'goo.ne.jp';
const SELECTOR = 'gooid-21-pro-20250917-3';
const KEY_PATH = `dkim-keys/${DOMAIN}/${SELECTOR}/private_key.pem`;

describe.skipIf(support.skip)(
  `the seeds' S3 + Secrets Manager layout, read through byodkim${support.label}`,
  () => {
    const moto = useMoto();
    let clients: AwsClientFactory;
    let sm: SecretsManagerClient;
    let seedKey: DkimPrivateKey;
    let seedJson: Record<string, unknown>;

    beforeAll(async () => {
      clients = motoClients(moto.endpoint);
      seedKey = await testKey('seed-key');
      // What the seed Lambda left behind, written with the plain SDK.
      const s3 = clients.client('s3', REGION, (c) => new S3Client(c));
      const kms = clients.client('kms', REGION, (c) => new KMSClient(c));
      const kmsKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await s3.send(
        new CreateBucketCommand({
          Bucket: BUCKET,
          CreateBucketConfiguration: { LocationConstraint: REGION },
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: KEY_PATH,
          Body: seedKey.toPem(),
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: kmsKeyId,
        }),
      );
      sm = clients.client('secretsmanager', REGION, (c) => new SecretsManagerClient(c));
      seedJson = {
        domain: DOMAIN,
        selector: SELECTOR,
        dns_record: {
          name: dkimRecordName(SELECTOR, DOMAIN),
          type: 'TXT',
          value: buildDkimRecordValue(seedKey.publicKey),
        },
        s3_key_path: `s3://${BUCKET}/${KEY_PATH}`,
        created_at: '2025-09-17T04:00:00Z',
        expiry_date: '2026-09-17T04:00:00Z',
        certificate_validity_days: 365,
        selectors: ['gooid-21-pro-20250917-1', 'gooid-21-pro-20250917-2', SELECTOR],
      };
      await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify(seedJson) }));
    });

    const store = (): SecretsManagerStateStore =>
      new SecretsManagerStateStore({ secretName: SECRET, region: REGION, clients });
    const vault = (): S3KeyVault => new S3KeyVault({ bucket: BUCKET, region: REGION, clients });

    it('reads the seed secret (runbook step 1.2) and the key it points to (step 2.1), without a local file', async () => {
      const seed = await store().readSeedConfig(DOMAIN);
      expect(seed).toMatchObject({
        secretName: SECRET,
        domain: DOMAIN,
        selector: SELECTOR,
        dnsRecord: {
          name: `${SELECTOR}._domainkey.${DOMAIN}`,
          type: 'TXT',
          value: buildDkimRecordValue(seedKey.publicKey),
        },
        s3KeyPath: `s3://${BUCKET}/${KEY_PATH}`,
        createdAt: '2025-09-17T04:00:00Z',
        expiresAt: '2026-09-17T04:00:00Z',
        hasByodkimState: false,
        otherFields: ['certificate_validity_days', 'selectors'],
      });
      // Same key, by the seed's path and by domain + selector in the seed layout.
      expect((await vault().getAt(seed?.s3KeyPath as string))?.samePair(seedKey)).toBe(true);
      expect((await vault().get(DOMAIN, SELECTOR))?.samePair(seedKey)).toBe(true);
      expect(await vault().list(DOMAIN)).toEqual([SELECTOR]);
      // A seed secret is "no byodkim state yet", not an error.
      expect(await store().load(DOMAIN)).toBeUndefined();
      // Also readable when the store itself uses another naming scheme.
      const other = new SecretsManagerStateStore({ region: REGION, clients });
      expect((await other.readSeedConfig(DOMAIN, SECRET))?.selector).toBe(SELECTOR);
    });

    it('adopts: the first save adds byodkim state on top of the seed fields, which stay readable', async () => {
      const state: DomainState = {
        ...emptyDomainState(DOMAIN),
        keys: [
          {
            selector: SELECTOR,
            bits: 2048,
            publicKey: seedKey.publicKey,
            vaultRef: `s3://${BUCKET}/${KEY_PATH}`,
            origin: 'adopted',
            createdAt: '2025-09-17T04:00:00.000Z',
            notAfter: '2026-09-17T04:00:00.000Z',
            status: 'active',
            statusSince: '2025-09-17T04:00:00.000Z',
          },
        ],
      };
      const seedVersion = (await sm.send(new GetSecretValueCommand({ SecretId: SECRET }))).VersionId;
      const version = await store().save(state, undefined);
      expect(version).not.toBe(seedVersion);
      expect(await store().load(DOMAIN)).toEqual({ value: state, version });
      // Adopting twice (another actor that also saw "no state") is a conflict.
      await expect(store().save(state, undefined)).rejects.toBeInstanceOf(ConflictError);

      // The runbook's `get-secret-value --query SecretString` still finds what it needs.
      const json = JSON.parse(
        (await sm.send(new GetSecretValueCommand({ SecretId: SECRET }))).SecretString ?? '',
      );
      expect(json.selector).toBe(SELECTOR);
      expect(json.dns_record.value).toBe(buildDkimRecordValue(seedKey.publicKey));
      expect(json.s3_key_path).toBe(`s3://${BUCKET}/${KEY_PATH}`);
      expect(json.expiry_date).toBe('2026-09-17T04:00:00.000Z');
      expect(json.certificate_validity_days).toBe(365);
      expect(json.selectors).toEqual(seedJson.selectors);
      expect(json.byodkim).toEqual(state);
      expect((await store().readSeedConfig(DOMAIN))?.hasByodkimState).toBe(true);
    });
  },
);
