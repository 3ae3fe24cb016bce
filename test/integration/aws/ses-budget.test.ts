/**
 * The SES adapter keeps SES's API budget, against the emulator at SES's documented rate (one
 * request per second per account and region, burst 2) through the real SDK clients (SES v2
 * and, for batched health reads, SES v1). Counts only: no time or rate is asserted.
 */
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { SesEmulator } from '../../../emulator/ses/server.js';
import { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { SesBudget } from '../../../src/adapters/aws/pacing.js';
import { SesSigningService } from '../../../src/adapters/aws/ses.js';
import type { DkimPrivateKey } from '../../../src/domain/key.js';
import { buildDkimRecordValue, dkimRecordName } from '../../../src/domain/record.js';
import { testKey } from '../../support/keys.js';

const CREDENTIALS = { accessKeyId: 'AKIDBUDGET', secretAccessKey: 'not-a-secret' };
const REGION = 'eu-west-1';
const NAMES = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com'];

let dns: EmbeddedDnsServer;
let emulator: SesEmulator;
let key: DkimPrivateKey;
const factories: AwsClientFactory[] = [];

beforeAll(async () => {
  key = await testKey('budget', 1024);
  dns = await EmbeddedDnsServer.start({});
  dns.store.addZone('example.com');
  for (const name of NAMES) dns.store.setTxt(dkimRecordName('s1', name), buildDkimRecordValue(key.publicKey));
  // SES's defaults: 1 request/s per account and region, burst 2; checks run on the SES clock.
  emulator = await SesEmulator.start({ dns: { host: dns.host, port: dns.port }, verificationDelayMs: 0 });
});
afterAll(async () => {
  for (const f of factories) f.destroy();
  await emulator.stop();
  await dns.stop();
});
beforeEach(async () => {
  emulator.reset();
  emulator.setRate(null);
  const client = new SESv2Client({ endpoint: emulator.endpoint, region: REGION, credentials: CREDENTIALS });
  // a–d sign with s1 (verified once SES checks); e has BYODKIM with signing switched off below.
  for (const name of NAMES) {
    await client.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: name,
        DkimSigningAttributes: { DomainSigningSelector: 's1', DomainSigningPrivateKey: key.toSesBase64() },
      }),
    );
  }
  await emulator.verifyPending();
  client.destroy();
  emulator.setRate(1);
  emulator.resetCounters();
});

function service(budget = new SesBudget()): SesSigningService {
  const clients = new AwsClientFactory({
    credentials: CREDENTIALS,
    endpoints: { sesv2: emulator.endpoint },
    env: {},
  });
  factories.push(clients);
  return new SesSigningService({ clients, budget });
}

const throttled = (): number => emulator.rejections()[`throttled@${REGION}`] ?? 0;

describe('SES budget against the emulator at 1 request/s per region', () => {
  it('gathers the health reads in flight in a region into one SES v1 call, and reads each right', async () => {
    const ses = service();
    const views = await Promise.all(
      [...NAMES, 'missing.example.com'].map((name) =>
        (ses.readHealth as NonNullable<typeof ses.readHealth>)(name, REGION),
      ),
    );
    expect(emulator.counters()).toEqual({
      GetIdentityDkimAttributes: 1,
      [`GetIdentityDkimAttributes@${REGION}`]: 1,
    });
    for (const view of views.slice(0, NAMES.length)) {
      expect(view).toMatchObject({ region: REGION, exists: true, status: 'SUCCESS', signingEnabled: true });
      // The emulator's strictest reading: v1 names no BYODKIM selector.
      expect(view.tokens).toBeUndefined();
    }
    expect(views.at(-1)).toEqual({ identity: 'missing.example.com', region: REGION, exists: false });
  });

  it('sends a burst of reads and writes at the rate: every call answered, none throttled', async () => {
    const ses = service();
    await Promise.all([
      ...NAMES.map((name) => ses.describe(name, REGION, { priority: 'health' })),
      ses.setSigningEnabled('e.example.com', REGION, false),
      ...NAMES.slice(0, 3).map((name) => ses.describe(name, REGION, { priority: 'transition' })),
    ]);
    expect(emulator.counters()[`GetEmailIdentity@${REGION}`]).toBe(NAMES.length + 3);
    expect(emulator.counters()[`PutEmailIdentityDkimAttributes@${REGION}`]).toBe(1);
    expect(throttled()).toBe(0);
    expect((await ses.describe('e.example.com', REGION)).signingEnabled).toBe(false);
  });

  it('slows down and still gets its answer when another client has spent the budget', async () => {
    const budget = new SesBudget();
    const ses = service(budget);
    const other = new SESv2Client({
      endpoint: emulator.endpoint,
      region: REGION,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    // Another client of the same account spends the burst; byodkim's next calls find it empty.
    await Promise.allSettled(
      [1, 2, 3].map(() => other.send(new GetEmailIdentityCommand({ EmailIdentity: 'a.example.com' }))),
    );
    other.destroy();
    const views = await Promise.all(NAMES.slice(0, 3).map((name) => ses.describe(name, REGION)));
    expect(views.every((v) => v.status === 'SUCCESS')).toBe(true);
    const counts = budget.counts();
    expect(counts.throttled).toBeGreaterThanOrEqual(1);
    expect(counts.calls).toBe(3 + counts.throttled); // every attempt went through the budget
    expect(budget.pacer(REGION).rate).toBeLessThan(1);
  });

  it('defers what it cannot send before a deadline, with a code the engine reads as deferred', async () => {
    const budget = new SesBudget();
    const ses = service(budget);
    budget.deferAfter(1_500);
    const settled = await Promise.allSettled(NAMES.map((name) => ses.describe(name, REGION)));
    budget.deferAfter(undefined);
    const deferred = settled.filter((s) => s.status === 'rejected');
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(2); // at 0 s and 1 s
    expect(deferred.map((s) => (s as PromiseRejectedResult).reason.code)).toEqual([
      'SES_DEFERRED',
      'SES_DEFERRED',
      'SES_DEFERRED',
    ]);
    expect(emulator.counters()[`GetEmailIdentity@${REGION}`]).toBe(2);
  });
});
