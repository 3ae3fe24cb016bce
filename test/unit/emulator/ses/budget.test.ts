import { GetIdentityDkimAttributesCommand, SESClient } from '@aws-sdk/client-ses';
import {
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../../emulator/clock.js';
import { DnsChecker } from '../../../../emulator/ses/dns-check.js';
import { CheckFaultQueue } from '../../../../emulator/ses/faults.js';
import { KeyPutLog } from '../../../../emulator/ses/key-puts.js';
import { resolveOptions } from '../../../../emulator/ses/options.js';
import { SesService } from '../../../../emulator/ses/service.js';
import { DOMAIN, type Rig, START, startRig } from './rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

async function rig(...args: Parameters<typeof startRig>): Promise<Rig> {
  const started = await startRig(...args);
  rigs.push(started);
  return started;
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return `${e.name}/${e.$metadata?.httpStatusCode}`;
  }
}

function list(client: SESv2Client): Promise<string> {
  return outcome(client.send(new ListEmailIdentitiesCommand({})));
}

describe('the API budget (SPEC §9)', () => {
  it('throttles by default: a burst well over 1 request/s is refused in part', async () => {
    const emulator = await rig({}, 'service');
    const client = emulator.client('ap-northeast-1');
    const results = await Promise.all(Array.from({ length: 8 }, () => list(client)));
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => r !== 'ok').length).toBeGreaterThanOrEqual(1);
    expect(emulator.ses.rejections()['throttled@ap-northeast-1']).toBeGreaterThanOrEqual(1);
  });

  it('lets a burst of 2 through at the default rate, then one per second of the bucket clock', async () => {
    const emulator = await rig({ ratePerRegion: 1, rateClock: 'emulator', throttlingExceptionEvery: 0 });
    const client = emulator.client('ap-northeast-1');
    const first = [await list(client), await list(client), await list(client)];
    expect(first).toEqual(['ok', 'ok', 'TooManyRequestsException/429']);

    emulator.clock.advance(1_000);
    expect([await list(client), await list(client)]).toEqual(['ok', 'TooManyRequestsException/429']);

    // A long pause refills up to the burst, no more.
    emulator.clock.advance(60_000);
    expect([await list(client), await list(client), await list(client)]).toEqual([
      'ok',
      'ok',
      'TooManyRequestsException/429',
    ]);
  });

  it('answers every fifth throttled request with ThrottlingException (400), the others with 429', async () => {
    const emulator = await rig({ ratePerRegion: 1, rateClock: 'emulator' });
    const client = emulator.client('eu-west-1');
    const results: string[] = [];
    for (let i = 0; i < 12; i += 1) results.push(await list(client));
    const tooMany = 'TooManyRequestsException/429';
    const throttling = 'ThrottlingException/400';
    expect(results).toEqual([
      'ok',
      'ok',
      ...[tooMany, tooMany, tooMany, tooMany, throttling],
      ...[tooMany, tooMany, tooMany, tooMany, throttling],
    ]);
    expect(emulator.ses.rejections()['throttled@eu-west-1']).toBe(10);
  });

  it('keeps one budget per account and per region', async () => {
    const emulator = await rig({
      ratePerRegion: 1,
      rateClock: 'emulator',
      accountsByAccessKey: { AKIDMEMBERA: '111111111111', AKIDMEMBERB: '222222222222' },
    });
    const client = (region: string, accessKeyId: string) =>
      new SESv2Client({
        endpoint: emulator.ses.endpoint,
        region,
        credentials: { accessKeyId, secretAccessKey: 'not-a-secret' },
        maxAttempts: 1,
      });
    const a = client('us-east-1', 'AKIDMEMBERA');
    const b = client('us-east-1', 'AKIDMEMBERB');
    const aElsewhere = client('eu-west-1', 'AKIDMEMBERA');
    try {
      expect([await list(a), await list(a), await list(a)]).toEqual([
        'ok',
        'ok',
        'TooManyRequestsException/429',
      ]);
      expect([await list(b), await list(b)]).toEqual(['ok', 'ok']);
      expect([await list(aElsewhere), await list(aElsewhere)]).toEqual(['ok', 'ok']);
      expect(emulator.ses.rejections('111111111111')).toEqual({ 'throttled@us-east-1': 1 });
      expect(emulator.ses.rejections('222222222222')).toEqual({});
    } finally {
      for (const c of [a, b, aElsewhere]) c.destroy();
    }
  });

  it('charges SES v1 GetIdentityDkimAttributes to the same budget, answered as Throttling', async () => {
    const emulator = await rig({ ratePerRegion: 1, rateClock: 'emulator', throttlingExceptionEvery: 0 });
    const v2 = emulator.client('ap-northeast-1');
    const v1 = new SESClient({
      endpoint: emulator.ses.endpoint,
      region: 'ap-northeast-1',
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'not-a-secret' },
      maxAttempts: 1,
    });
    try {
      expect(await list(v2)).toBe('ok');
      expect(await outcome(v1.send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] })))).toBe(
        'ok',
      );
      expect(await outcome(v1.send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] })))).toBe(
        'Throttling/400',
      );
      expect(await list(v2)).toBe('TooManyRequestsException/429');
      expect(emulator.ses.counters()).toMatchObject({
        GetIdentityDkimAttributes: 2,
        'GetIdentityDkimAttributes@ap-northeast-1': 2,
      });
    } finally {
      v1.destroy();
    }
  });

  it('is driven over PUT /_emulator/rate: a number with a burst and a clock, or null for unlimited', async () => {
    const emulator = await rig({});
    const client = emulator.client('sa-east-1');
    const put = (body: unknown) =>
      fetch(`${emulator.ses.endpoint}/_emulator/rate`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put({ perRegion: 1, burst: 3, clock: 'emulator' })).status).toBe(204);
    const limited: string[] = [];
    for (let i = 0; i < 4; i += 1) limited.push(await list(client));
    expect(limited.filter((r) => r === 'ok')).toHaveLength(3);
    expect(limited[3]).toMatch(/^(TooManyRequestsException\/429|ThrottlingException\/400)$/);

    expect((await put({ perRegion: null })).status).toBe(204);
    for (let i = 0; i < 10; i += 1) expect(await list(client)).toBe('ok');

    const bad = await put({ perRegion: 1, clock: 'sundial' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      message: expect.stringContaining('clock must be one of wall, emulator'),
    });
  });

  it('rejects bad budget options with the option named', async () => {
    await expect(startRig({ ratePerRegion: -1 })).rejects.toThrow(/ratePerRegion/);
    await expect(startRig({ throttlingExceptionEvery: 1.5 })).rejects.toThrow(/throttlingExceptionEvery/);
    await expect(startRig({ burstPerRegion: 0 })).rejects.toThrow(/burstPerRegion/);
  });
});

describe('the identity quota (SPEC §2.1, §9)', () => {
  it('refuses an identity past the quota of an account and region with LimitExceededException', async () => {
    const emulator = await rig({ maxIdentitiesPerRegion: 3 });
    const tokyo = emulator.client('ap-northeast-1');
    for (const name of ['a.example.com', 'b.example.com', 'c.example.com']) {
      await tokyo.send(new CreateEmailIdentityCommand({ EmailIdentity: name }));
    }
    const refused = await outcome(
      tokyo.send(new CreateEmailIdentityCommand({ EmailIdentity: 'd.example.com' })),
    );
    expect(refused).toBe('LimitExceededException/400');

    // Another region has its own quota; deleting one makes room.
    await emulator
      .client('us-east-1')
      .send(new CreateEmailIdentityCommand({ EmailIdentity: 'd.example.com' }));
    await tokyo.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'a.example.com' }));
    await tokyo.send(new CreateEmailIdentityCommand({ EmailIdentity: 'd.example.com' }));
  });

  it('holds 10,000 identities per account and region by default and refuses the next one', () => {
    // In-process: 10,000 creates over HTTP would take most of a minute on a busy machine; the
    // HTTP face of the refusal is the test above.
    const service = new SesService(
      new VirtualClock(START),
      resolveOptions({ dns: { host: '127.0.0.1', port: 53 } }),
      new DnsChecker({ host: '127.0.0.1', port: 53 }, 100),
      new KeyPutLog(),
      new CheckFaultQueue(),
    );
    const scope = { account: '123456789012', region: 'eu-central-1' };
    for (let i = 0; i < 10_000; i += 1)
      service.createEmailIdentity(scope, { EmailIdentity: `d${i}.example.com` });
    expect(() => service.createEmailIdentity(scope, { EmailIdentity: 'one-too-many.example.com' })).toThrow(
      expect.objectContaining({ errorType: 'LimitExceededException', status: 400 }),
    );
    service.createEmailIdentity(
      { ...scope, account: '111111111111' },
      { EmailIdentity: 'other.example.com' },
    );
  });
});
