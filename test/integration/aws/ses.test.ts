/**
 * The SES adapter against the project's SES v2 BYODKIM emulator (moto does not implement
 * BYODKIM), through the real SESv2Client.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import { AwsClientFactory, type AwsClientOptions } from '../../../src/adapters/aws/clients.js';
import { SesBudget } from '../../../src/adapters/aws/pacing.js';
import { SesSigningService } from '../../../src/adapters/aws/ses.js';
import type { DkimPrivateKey } from '../../../src/domain/key.js';
import { buildDkimRecordValue, dkimRecordName } from '../../../src/domain/record.js';
import { AlreadyExistsError, InputError, ServiceError } from '../../../src/errors.js';
import { testKey } from '../../support/keys.js';

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'not-a-secret' };
const REGION = 'ap-northeast-1';

let dns: EmbeddedDnsServer;
let emulator: SesEmulator;
const factories: AwsClientFactory[] = [];

beforeAll(async () => {
  dns = await EmbeddedDnsServer.start({});
  for (const zone of ['example.com', 'example.org', 'goo.ne.jp']) dns.store.addZone(zone);
  emulator = await SesEmulator.start({
    dns: { host: dns.host, port: dns.port },
    dnsTimeoutMs: 300,
    ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
  });
});
afterAll(async () => {
  for (const f of factories) f.destroy();
  await emulator.stop();
  await dns.stop();
});
beforeEach(() => {
  emulator.reset();
});

function ses(options: AwsClientOptions & { pageSize?: number } = {}): SesSigningService {
  const { pageSize, ...clientOptions } = options;
  const clients = new AwsClientFactory({
    credentials: CREDENTIALS,
    endpoints: { sesv2: emulator.endpoint },
    env: {},
    ...clientOptions,
  });
  factories.push(clients);
  // The emulator runs unlimited here; the budget at 1 request/s has its own test (ses-budget.test.ts).
  const budget = new SesBudget({ ratePerSecond: 1_000, burst: 1_000 });
  return new SesSigningService({ clients, budget, ...(pageSize === undefined ? {} : { pageSize }) });
}

function publish(selector: string, domain: string, key: DkimPrivateKey): void {
  dns.store.setTxt(dkimRecordName(selector, domain), buildDkimRecordValue(key.publicKey));
}

/** Everything an error exposes: message, context, cause chain, inspect and JSON forms. */
function exposed(error: unknown): string {
  const e = error as ServiceError;
  return [
    String(e),
    e.message,
    JSON.stringify(e.context),
    JSON.stringify(e),
    inspect(e, { depth: 10 }),
    String((e.cause as Error | undefined)?.message),
  ].join('\n');
}

function assertNoKeyMaterial(text: string, key: DkimPrivateKey): void {
  const der = key.toSesBase64();
  for (let i = 0; i + 40 <= der.length; i += 200) expect(text).not.toContain(der.slice(i, i + 40));
  for (const line of key.toPem().split('\n').slice(1, -2)) expect(text).not.toContain(line);
  expect(text).not.toContain('PRIVATE KEY');
}

describe('SES signing service against the SES emulator', () => {
  it('describes, creates with BYODKIM, switches keys and toggles signing', async () => {
    const service = ses();
    expect(await service.describe('example.com', REGION)).toEqual({
      identity: 'example.com',
      region: REGION,
      exists: false,
      tokens: [],
    });

    const first = await testKey('ses-first');
    publish('example-20260101-1', 'example.com', first);
    await service.createIdentity('example.com', REGION, { selector: 'example-20260101-1', key: first });
    const created = await service.describe('example.com', REGION);
    expect(created).toMatchObject({
      identity: 'example.com',
      region: REGION,
      exists: true,
      origin: 'EXTERNAL',
      tokens: ['example-20260101-1'],
      signingEnabled: true,
    });
    expect(['PENDING', 'SUCCESS']).toContain(created.status);

    const second = await testKey('ses-second');
    publish('example-20260201-1', 'example.com', second);
    await service.putExternalKey('example.com', REGION, 'example-20260201-1', second);
    await emulator.verifyPending();
    const switched = await service.describe('example.com', REGION);
    expect(switched).toMatchObject({ origin: 'EXTERNAL', tokens: ['example-20260201-1'], status: 'SUCCESS' });

    await service.setSigningEnabled('example.com', REGION, false);
    expect((await service.describe('example.com', REGION)).signingEnabled).toBe(false);
    await service.setSigningEnabled('example.com', REGION, true);
    expect((await service.describe('example.com', REGION)).signingEnabled).toBe(true);

    // Regions are separate.
    expect((await service.describe('example.com', 'eu-west-1')).exists).toBe(false);
    await expect(service.createIdentity('example.com', REGION)).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('lists domain identities across pages, leaving out email-address identities', async () => {
    const service = ses({ pageSize: 2 });
    const domains = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com'];
    for (const d of domains) await service.createIdentity(d, 'eu-west-1');
    await service.createIdentity('someone@example.com', 'eu-west-1');
    expect((await service.listIdentities('eu-west-1')).sort()).toEqual(domains);
    expect(await service.listIdentities('us-east-2')).toEqual([]);
    expect(emulator.counters()['ListEmailIdentities@eu-west-1']).toBe(3);
  });

  it('retries throttling by the rate limit (HTTP 429) with backoff and succeeds', async () => {
    const service = ses({ maxAttempts: 10 });
    await service.createIdentity('example.org', REGION);
    emulator.setRate(3);
    const views = await Promise.all(Array.from({ length: 9 }, () => service.describe('example.org', REGION)));
    expect(views.every((v) => v.exists)).toBe(true);
    expect(emulator.rejections()[`throttled@${REGION}`] ?? 0).toBeGreaterThan(0);
  });

  it('retries injected 429s and 500s and succeeds', async () => {
    const service = ses({ maxAttempts: 5 });
    const key = await testKey('ses-retry');
    await service.createIdentity('example.com', REGION);
    emulator.resetCounters();
    emulator.injectFault({ operation: 'PutEmailIdentityDkimSigningAttributes', status: 429, count: 2 });
    emulator.injectFault({ operation: 'PutEmailIdentityDkimSigningAttributes', status: 500, count: 1 });
    await service.putExternalKey('example.com', REGION, 's1', key);
    expect(emulator.counters().PutEmailIdentityDkimSigningAttributes).toBe(4);
    expect((await service.describe('example.com', REGION)).tokens).toEqual(['s1']);
  });

  it('names identity, region and operation when retries run out, and carries no key material', async () => {
    const service = ses({ maxAttempts: 2 });
    const key = await testKey('ses-fail');
    await service.createIdentity('goo.ne.jp', REGION);
    emulator.injectFault({ operation: 'PutEmailIdentityDkimSigningAttributes', status: 500, count: 5 });
    const error = await service
      .putExternalKey('goo.ne.jp', REGION, 'gooid-21-pro-20250917-3', key)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    const e = error as ServiceError;
    expect(e.code).toBe('SES_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('SES PutEmailIdentityDkimSigningAttributes');
    expect(e.message).toContain('identity goo.ne.jp');
    expect(e.message).toContain('selector gooid-21-pro-20250917-3');
    expect(e.message).toContain(`in ${REGION}`);
    expect(e.message).toContain('HTTP 500');
    expect(e.context).toMatchObject({
      service: 'SES',
      operation: 'PutEmailIdentityDkimSigningAttributes',
      region: REGION,
      identity: 'goo.ne.jp',
      awsError: 'InternalServiceErrorException',
      httpStatus: 500,
      attempts: 2,
    });
    assertNoKeyMaterial(exposed(error), key);
  });

  it('reports a rejected request as not retryable, without key material', async () => {
    const service = ses();
    const key = await testKey('ses-missing');
    const error = await service
      .putExternalKey('missing.example.com', 'eu-west-1', 's1', key)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).retryable).toBe(false);
    expect((error as ServiceError).code).toBe('SES_NOT_FOUND');
    expect((error as Error).message).toContain(
      'for identity missing.example.com, selector s1 in eu-west-1 failed: NotFoundException',
    );
    assertNoKeyMaterial(exposed(error), key);

    const created = await service
      .createIdentity('bad identity!', 'eu-west-1', { selector: 's1', key })
      .catch((e: unknown) => e);
    expect(created).toBeInstanceOf(ServiceError);
    expect((created as Error).message).toContain('SES CreateEmailIdentity for identity bad identity!');
    assertNoKeyMaterial(exposed(created), key);
  });

  it("keeps key material out of the SDK's own logs (DomainSigningPrivateKey is a sensitive member)", async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => lines.push(args.map((a) => inspect(a, { depth: 10 })).join(' '));
    const logger = { trace: capture, debug: capture, info: capture, warn: capture, error: capture };
    const clients = new AwsClientFactory({
      credentials: CREDENTIALS,
      endpoints: { sesv2: emulator.endpoint },
      env: {},
    });
    factories.push(clients);
    const { SESv2Client } = await import('@aws-sdk/client-sesv2');
    const client = new SESv2Client({ ...clients.config('sesv2', REGION), logger });
    const service = new SesSigningService({ client });
    const key = await testKey('ses-logs');
    await service.createIdentity('example.com', REGION, { selector: 's1', key });
    await service.putExternalKey('example.com', REGION, 's2', key);
    emulator.injectFault({ operation: 'PutEmailIdentityDkimSigningAttributes', status: 500, count: 10 });
    await service.putExternalKey('example.com', REGION, 's3', key).catch(() => undefined);
    client.destroy();
    expect(lines.join('\n')).toContain('PutEmailIdentityDkimSigningAttributesCommand');
    assertNoKeyMaterial(lines.join('\n'), key);
  });

  it("finds the emulator through the SDK's own AWS_ENDPOINT_URL_SESV2, with no endpoint configured", async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SESV2;
    process.env.AWS_ENDPOINT_URL_SESV2 = emulator.endpoint;
    try {
      const clients = new AwsClientFactory({ credentials: CREDENTIALS });
      factories.push(clients);
      expect(clients.config('sesv2', REGION).endpoint).toBeUndefined();
      const service = new SesSigningService({ clients });
      await service.createIdentity('example.org', 'sa-east-1');
      expect((await service.describe('example.org', 'sa-east-1')).exists).toBe(true);
      expect(emulator.counters()['GetEmailIdentity@sa-east-1']).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SESV2;
      else process.env.AWS_ENDPOINT_URL_SESV2 = saved;
    }
  });

  it('refuses an injected client for another region instead of changing the wrong region', async () => {
    const clients = new AwsClientFactory({
      credentials: CREDENTIALS,
      endpoints: { sesv2: emulator.endpoint },
    });
    factories.push(clients);
    const { SESv2Client } = await import('@aws-sdk/client-sesv2');
    const client = clients.client('sesv2', 'eu-west-1', (c) => new SESv2Client(c));
    const service = new SesSigningService({ client });
    expect((await service.describe('example.com', 'eu-west-1')).exists).toBe(false);
    await expect(service.describe('example.com', 'us-east-1')).rejects.toBeInstanceOf(InputError);
    const perRegion = new SesSigningService({ client: () => client });
    expect((await perRegion.describe('example.com', 'eu-west-1')).exists).toBe(false);
  });
});
