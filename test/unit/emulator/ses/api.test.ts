import {
  BadRequestException,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  NotFoundException,
  PutEmailIdentityDkimSigningAttributesCommand,
  SESv2ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, START, startRig } from './rig.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});
beforeEach(() => {
  rig.ses.reset();
  rig.clock.set(START);
});

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to be rejected');
}

describe('ListEmailIdentities (SPEC §2)', () => {
  it('pages with PageSize and NextToken, each identity exactly once, in name order', async () => {
    const ses = rig.client('eu-central-1');
    const names = Array.from({ length: 23 }, (_, i) => `d${String(i).padStart(2, '0')}.example.com`);
    for (const name of [...names].reverse())
      await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: name }));

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let token: string | undefined;
    do {
      const page = await ses.send(new ListEmailIdentitiesCommand({ PageSize: 10, NextToken: token }));
      pageSizes.push(page.EmailIdentities?.length ?? 0);
      for (const entry of page.EmailIdentities ?? []) {
        expect(entry).toMatchObject({
          IdentityType: 'DOMAIN',
          VerificationStatus: 'PENDING',
          SendingEnabled: false,
        });
        seen.push(entry.IdentityName ?? '');
      }
      token = page.NextToken;
    } while (token !== undefined);

    expect(pageSizes).toEqual([10, 10, 3]);
    expect(seen).toEqual(names);
  });

  it('answers without NextToken when everything fits, and rejects a foreign token and a PageSize over 1000', async () => {
    const ses = rig.client('eu-central-1');
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    const all = await ses.send(new ListEmailIdentitiesCommand({}));
    expect(all.EmailIdentities?.map((entry) => entry.IdentityName)).toEqual([DOMAIN]);
    expect(all.NextToken).toBeUndefined();

    expect(await rejection(ses.send(new ListEmailIdentitiesCommand({ NextToken: 'bogus' })))).toBeInstanceOf(
      BadRequestException,
    );
    expect(await rejection(ses.send(new ListEmailIdentitiesCommand({ PageSize: 1001 })))).toBeInstanceOf(
      BadRequestException,
    );
  });

  it('serves the documented GET route with query parameters too', async () => {
    const ses = rig.client('eu-central-1');
    for (const name of ['a.example.com', 'b.example.com', 'c.example.com']) {
      await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: name }));
    }
    const headers = {
      authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20250917/eu-central-1/ses/aws4_request',
    };
    const first = (await (
      await fetch(`${rig.ses.endpoint}/v2/email/identities?PageSize=2`, { headers })
    ).json()) as {
      EmailIdentities: Array<{ IdentityName: string }>;
      NextToken: string;
    };
    expect(first.EmailIdentities.map((entry) => entry.IdentityName)).toEqual([
      'a.example.com',
      'b.example.com',
    ]);
    const next = await fetch(
      `${rig.ses.endpoint}/v2/email/identities?PageSize=2&NextToken=${encodeURIComponent(first.NextToken)}`,
      { headers },
    );
    const second = (await next.json()) as {
      EmailIdentities: Array<{ IdentityName: string }>;
      NextToken?: string;
    };
    expect(second.EmailIdentities.map((entry) => entry.IdentityName)).toEqual(['c.example.com']);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('regions (SPEC §1: state per SigV4 credential scope region)', () => {
  it('keeps identities and DKIM state apart per region', async () => {
    const tokyo = rig.client('ap-northeast-1');
    const virginia = rig.client('us-east-1');
    const key = rsaKey(1024);
    rig.publish('iso', key.publicKeyBase64);
    await tokyo.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await tokyo.send(
      new PutEmailIdentityDkimSigningAttributesCommand({
        EmailIdentity: DOMAIN,
        SigningAttributesOrigin: 'EXTERNAL',
        SigningAttributes: { DomainSigningSelector: 'iso', DomainSigningPrivateKey: key.privateKeyBase64 },
      }),
    );

    expect(
      await rejection(virginia.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }))),
    ).toBeInstanceOf(NotFoundException);
    await virginia.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    const there = await virginia.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(there.DkimAttributes?.SigningAttributesOrigin).toBe('AWS_SES');
    const here = await tokyo.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(here.DkimAttributes).toMatchObject({ SigningAttributesOrigin: 'EXTERNAL', Status: 'SUCCESS' });
    rig.unpublish('iso');
  });
});

describe('Easy DKIM (SPEC §5)', () => {
  it('creates three tokens and verifies when all three CNAMEs point at dkim.amazonses.com', async () => {
    const ses = rig.client('ap-northeast-1');
    const created = await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    const tokens = created.DkimAttributes?.Tokens ?? [];
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(3);
    for (const token of tokens) expect(token).toMatch(/^[a-z2-7]{32}$/);
    expect(created.DkimAttributes).toMatchObject({
      SigningAttributesOrigin: 'AWS_SES',
      Status: 'NOT_STARTED',
    });

    const [first, second, third] = tokens as [string, string, string];
    rig.dns.store.setCname(`${first}._domainkey.${DOMAIN}`, `${first}.dkim.amazonses.com`);
    rig.dns.store.setCname(`${second}._domainkey.${DOMAIN}`, `${second}.dkim.amazonses.com`);
    const partial = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(partial.DkimAttributes?.Status).toBe('PENDING');

    rig.dns.store.setCname(`${third}._domainkey.${DOMAIN}`, `${third}.dkim.amazonses.com`);
    rig.clock.advance(60_000);
    const verified = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(verified.DkimAttributes).toMatchObject({
      Status: 'SUCCESS',
      SigningHostedZone: 'dkim.amazonses.com',
      CurrentSigningKeyLength: 'RSA_2048_BIT',
      NextSigningKeyLength: 'RSA_2048_BIT',
      LastKeyGenerationTimestamp: new Date(START),
    });
    const sample = await rig.ses.signSample('ap-northeast-1', DOMAIN);
    expect(sample).toMatchObject({ signedWithDomainKey: true, selector: first });
    expect(sample.message).toMatch(/^DKIM-Signature:[\s\S]*\bd=example\.com;/m);
    for (const token of tokens) rig.dns.store.remove(`${token}._domainkey.${DOMAIN}`);
  });

  it('switches from BYODKIM back to Easy DKIM with new tokens and a new verification', async () => {
    const ses = rig.client('ap-northeast-1');
    const key = rsaKey(1024);
    await ses.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: DOMAIN,
        DkimSigningAttributes: {
          DomainSigningSelector: 'byo',
          DomainSigningPrivateKey: key.privateKeyBase64,
        },
      }),
    );
    const put = await ses.send(
      new PutEmailIdentityDkimSigningAttributesCommand({
        EmailIdentity: DOMAIN,
        SigningAttributesOrigin: 'AWS_SES',
        SigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' },
      }),
    );
    expect(put.DkimStatus).toBe('NOT_STARTED');
    expect(put.DkimTokens).toHaveLength(3);
    const identity = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(identity.DkimAttributes).toMatchObject({
      SigningAttributesOrigin: 'AWS_SES',
      Status: 'PENDING',
      Tokens: put.DkimTokens,
      CurrentSigningKeyLength: 'RSA_1024_BIT',
    });
  });
});

describe('throttling, faults, latency and counters (SPEC §9, §10)', () => {
  it('answers 429 TooManyRequestsException beyond the configured rate of a region only', async () => {
    rig.ses.setRate(5);
    try {
      const busy = rig.client('ap-northeast-1');
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, () => busy.send(new ListEmailIdentitiesCommand({}))),
      );
      // Every fifth throttled answer is a ThrottlingException (SPEC §9); both are throttling.
      const throttled = results.filter(
        (result) =>
          result.status === 'rejected' &&
          (result.reason instanceof TooManyRequestsException ||
            (result.reason as Error).name === 'ThrottlingException'),
      );
      expect(results.filter((result) => result.status === 'fulfilled').length).toBeLessThanOrEqual(6);
      expect(throttled.length).toBeGreaterThanOrEqual(6);
      const first = throttled[0] as PromiseRejectedResult;
      expect((first.reason as TooManyRequestsException).$metadata.httpStatusCode).toBe(429);

      // Another region has its own budget.
      await rig.client('eu-west-1').send(new ListEmailIdentitiesCommand({}));
      expect(rig.ses.rejections()['throttled@ap-northeast-1']).toBe(throttled.length);
    } finally {
      rig.ses.setRate(undefined);
    }
  });

  it('lets the SDK retry through throttling when it is allowed to', async () => {
    rig.ses.injectFault({ operation: 'ListEmailIdentities', status: 429, count: 1 });
    const patient = rig.client('ap-northeast-1', { maxAttempts: 3 });
    const page = await patient.send(new ListEmailIdentitiesCommand({}));
    expect(page.EmailIdentities).toEqual([]);
    expect(rig.ses.counters()['ListEmailIdentities@ap-northeast-1']).toBe(2);
  });

  it('fails the next N matching calls with injected 500s, then serves normally', async () => {
    const ses = rig.client('sa-east-1');
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    rig.ses.injectFault({ operation: 'GetEmailIdentity', region: 'sa-east-1', status: 500, count: 2 });

    // A fault for another region or operation does not fire here.
    await rig.client('us-east-2').send(new ListEmailIdentitiesCommand({}));
    for (let i = 0; i < 2; i += 1) {
      const error = await rejection(ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN })));
      expect(error).toBeInstanceOf(SESv2ServiceException);
      expect(error.name).toBe('InternalServiceErrorException');
      expect(error.$metadata?.httpStatusCode).toBe(500);
    }
    await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  });

  it('counts requests per operation and per region, and resets', async () => {
    const ses = rig.client('ca-central-1');
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await rejection(ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'missing.example' })));
    expect(rig.ses.counters()).toEqual({
      CreateEmailIdentity: 1,
      'CreateEmailIdentity@ca-central-1': 1,
      GetEmailIdentity: 3,
      'GetEmailIdentity@ca-central-1': 3,
    });
    rig.ses.resetCounters();
    expect(rig.ses.counters()).toEqual({});
  });

  it('adds the configured latency to every call', async () => {
    const ses = rig.client('ap-south-1');
    rig.ses.setLatency(150);
    try {
      const started = performance.now();
      await ses.send(new ListEmailIdentitiesCommand({}));
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      rig.ses.setLatency(0);
    }
  });

  it('does not mistake a burst of DNS checks for DNS failures', async () => {
    const ses = rig.client('us-east-1');
    const names = Array.from({ length: 200 }, (_, i) => `burst${i}.example.com`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names
          .slice(i, i + 50)
          .map((name) => ses.send(new CreateEmailIdentityCommand({ EmailIdentity: name }))),
      );
    }
    await rig.ses.verifyPending(); // 600 CNAME lookups at once (three Easy DKIM tokens each)
    const statuses = new Set<string | undefined>();
    let token: string | undefined;
    do {
      const page = await ses.send(new ListEmailIdentitiesCommand({ PageSize: 1000, NextToken: token }));
      for (const entry of page.EmailIdentities ?? []) statuses.add(entry.VerificationStatus);
      token = page.NextToken;
    } while (token !== undefined);
    expect([...statuses]).toEqual(['PENDING']);
  });

  it('answers 600 reads in batches of 50 concurrent calls, each one counted once, none refused', async () => {
    // Without a budget nothing may be refused under concurrency; a rate is not asserted (the
    // machine is shared), the benchmarks measure it.
    const ses = rig.client('us-east-1', { maxAttempts: 1 });
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    const total = 600;
    for (let batch = 0; batch < total / 50; batch += 1) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }))),
      );
      for (const answer of answers) expect(answer.IdentityType).toBe('DOMAIN');
    }
    expect(rig.ses.counters()['GetEmailIdentity@us-east-1']).toBe(total);
    expect(rig.ses.rejections()).toEqual({});
  });
});

describe('HTTP control endpoints (SPEC §12)', () => {
  it('drives the clock, faults, rate, counters and signing over HTTP', async () => {
    const base = `${rig.ses.endpoint}/_emulator`;
    const json = (body: unknown) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ ok: true });
    expect(await (await fetch(`${base}/clock`)).json()).toEqual({ now: START, virtual: true });
    const advanced = await fetch(`${base}/clock`, { method: 'POST', ...json({ advanceMs: 2 * HOUR }) });
    expect(await advanced.json()).toEqual({ now: '2025-09-17T06:00:00.000Z' });
    expect(rig.clock.now().toISOString()).toBe('2025-09-17T06:00:00.000Z');

    const ses = rig.client('ap-northeast-1');
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(await (await fetch(`${base}/counters`)).json()).toEqual({
      CreateEmailIdentity: 1,
      'CreateEmailIdentity@ap-northeast-1': 1,
    });

    expect(
      (
        await fetch(`${base}/faults`, {
          method: 'POST',
          ...json({ operation: 'GetEmailIdentity', count: 1 }),
        })
      ).status,
    ).toBe(204);
    expect(await rejection(ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN })))).toHaveProperty(
      '$metadata.httpStatusCode',
      500,
    );

    expect((await fetch(`${base}/rate`, { method: 'PUT', ...json({ perRegion: 0 }) })).status).toBe(204);
    expect(await rejection(ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN })))).toBeInstanceOf(
      TooManyRequestsException,
    );
    await fetch(`${base}/rate`, { method: 'PUT', ...json({ perRegion: null }) });

    expect((await fetch(`${base}/verify`, { method: 'POST' })).status).toBe(204);
    const signed = await fetch(`${base}/sign`, {
      method: 'POST',
      ...json({ region: 'ap-northeast-1', identity: DOMAIN }),
    });
    expect(await signed.json()).toMatchObject({ signedWithDomainKey: false });
    const missing = await fetch(`${base}/sign`, {
      method: 'POST',
      ...json({ region: 'ap-northeast-1', identity: 'x.example' }),
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-errortype')).toBe('NotFoundException');

    await fetch(`${base}/counters`, { method: 'DELETE' });
    expect(await (await fetch(`${base}/counters`)).json()).toEqual({});
    expect((await fetch(`${base}/reset`, { method: 'POST' })).status).toBe(204);
    expect(await rejection(ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN })))).toBeInstanceOf(
      NotFoundException,
    );
  });

  it('answers errors the way SES does: status, x-amzn-ErrorType and a JSON message', async () => {
    const response = await fetch(`${rig.ses.endpoint}/v2/email/identities/nobody.example`, {
      headers: {
        authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20250917/eu-west-1/ses/aws4_request, Signature=x',
      },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('NotFoundException');
    expect(await response.json()).toEqual({ message: expect.stringContaining('nobody.example') });
  });
});
