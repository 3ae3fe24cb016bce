import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../../src/adapters/aws/dynamodb-state.js';
import { Route53DnsPublisher } from '../../../src/adapters/aws/route53.js';
import { S3KeyVault } from '../../../src/adapters/aws/s3-vault.js';
import { SecretsManagerStateStore } from '../../../src/adapters/aws/secrets-manager-state.js';
import { SesSigningService } from '../../../src/adapters/aws/ses.js';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import {
  buildAwsClients,
  buildRoute53Publisher,
  buildSigningService,
  buildStores,
} from '../../../src/config/compose.js';
import { parseConfig } from '../../../src/config/load.js';
import { InputError } from '../../../src/errors.js';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
const config = (body: string) =>
  parseConfig(`${body}\ndomains:\n  - domain: example.com\n    regions: [eu-west-1]\n`, '/tmp/byodkim.yaml');

describe('composition of AWS adapters', () => {
  it('builds the S3 vault and the Secrets Manager store from the config', async () => {
    const loaded = config(`
keys:
  type: s3
  bucket: aws-ses-migration-prod-dkim-certificates
  kmsKeyId: alias/dkim
  region: ap-northeast-1
state:
  type: secrets-manager
  secretName: aws-ses-migration/prod/dkim-config
  region: ap-northeast-1
aws:
  endpoints:
    s3: http://127.0.0.1:5000
  maxAttempts: 3
`);
    const { vault, state } = await buildStores(loaded, clock);
    expect(vault).toBeInstanceOf(S3KeyVault);
    expect(vault.description).toBe('s3://aws-ses-migration-prod-dkim-certificates/dkim-keys/');
    expect(state).toBeInstanceOf(SecretsManagerStateStore);
    expect((state as SecretsManagerStateStore).secretNameOf('goo.ne.jp')).toBe(
      'aws-ses-migration/prod/dkim-config',
    );
    const clients = await buildAwsClients(loaded);
    expect(await buildAwsClients(loaded)).toBe(clients);
    expect(clients.config('s3', 'ap-northeast-1')).toMatchObject({
      endpoint: 'http://127.0.0.1:5000',
      forcePathStyle: true,
      maxAttempts: 3,
    });
  });

  it('builds the DynamoDB store, the Route 53 publisher and the SES signing service', async () => {
    const loaded = config(`
state:
  type: dynamodb
  table: byodkim-state
dns:
  provider: route53
  hostedZoneId: /hostedzone/Z123
`);
    const { vault, state } = await buildStores(loaded, clock);
    expect(vault.description).toMatch(/^file:/);
    expect(state).toBeInstanceOf(DynamoDbStateStore);
    const dns = await buildRoute53Publisher(loaded, loaded.config.dns);
    expect(dns).toBeInstanceOf(Route53DnsPublisher);
    expect(dns.mode).toBe('automatic');
    expect(dns.description).toBe('route53:Z123');
    expect(await buildSigningService(loaded)).toBeInstanceOf(SesSigningService);
    await expect(
      buildRoute53Publisher(loaded, { provider: 'manual', outDir: 'x', ttl: 300 }),
    ).rejects.toBeInstanceOf(InputError);
  });

  it('keeps file-only configs working', async () => {
    const { state } = await buildStores(config(''), clock);
    expect(state).toBeInstanceOf(FileStateStore);
  });

  it('does not load the AWS SDK for a file-only config (and does for an AWS one)', async () => {
    const sdkModulesLoaded = async (yaml: string): Promise<number> => {
      const script = `
        import { createRequire } from 'node:module';
        const { buildStores } = await import(${JSON.stringify(new URL('../../../src/config/compose.ts', import.meta.url).href)});
        const { parseConfig } = await import(${JSON.stringify(new URL('../../../src/config/load.ts', import.meta.url).href)});
        const loaded = parseConfig(${JSON.stringify(`${yaml}\ndomains:\n  - domain: example.com\n    regions: [eu-west-1]\n`)}, '/tmp/x.yaml');
        await buildStores(loaded, { now: () => new Date() });
        const cache = Object.keys(createRequire(import.meta.url).cache);
        process.stdout.write(String(cache.filter((p) => p.includes('@aws-sdk')).length));
      `;
      const tsx = fileURLToPath(import.meta.resolve('tsx'));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', tsx, '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('../../..', import.meta.url)) },
      );
      return Number(stdout.trim());
    };
    expect(await sdkModulesLoaded('')).toBe(0);
    expect(await sdkModulesLoaded('state:\n  type: dynamodb\n  table: byodkim-state')).toBeGreaterThan(0);
  });
});
