import { GetIdentityDkimAttributesCommand, SESClient } from '@aws-sdk/client-ses';
import {
  CreateEmailIdentityCommand,
  PutEmailIdentityDkimAttributesCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, startRig } from './rig.js';

const rigs: Rig[] = [];
const clients: SESClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const rig of rigs.splice(0)) await rig.stop();
});

async function rig(...args: Parameters<typeof startRig>): Promise<Rig> {
  const started = await startRig(...args);
  rigs.push(started);
  return started;
}

function v1(emulator: Rig, region = 'ap-northeast-1', accessKeyId = 'AKIDEMULATOR'): SESClient {
  const client = new SESClient({
    endpoint: emulator.ses.endpoint,
    region,
    credentials: { accessKeyId, secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

async function putByodkim(emulator: Rig, selector: string, privateKey: string, domain = DOMAIN) {
  const ses = emulator.client('ap-northeast-1');
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
  await ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: domain,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: privateKey },
    }),
  );
}

async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

describe('SES v1 GetIdentityDkimAttributes through @aws-sdk/client-ses (SPEC §2.8)', () => {
  it('reads Easy DKIM, BYODKIM and address identities from the v2 state, leaving out unknown ones', async () => {
    const emulator = await rig();
    const ses = emulator.client('ap-northeast-1');
    const easy = await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'easy.example.com' }));
    const key = rsaKey(1024);
    emulator.publish('byo', key.publicKeyBase64);
    await putByodkim(emulator, 'byo', key.privateKeyBase64);
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'someone@example.com' }));

    const answer = await v1(emulator).send(
      new GetIdentityDkimAttributesCommand({
        Identities: ['easy.example.com', DOMAIN, 'someone@example.com', 'nobody.example.net'],
      }),
    );
    expect(answer.DkimAttributes).toEqual({
      'easy.example.com': {
        DkimEnabled: true,
        DkimVerificationStatus: 'Pending', // its CNAMEs are not published
        DkimTokens: easy.DkimAttributes?.Tokens,
      },
      [DOMAIN]: { DkimEnabled: true, DkimVerificationStatus: 'Success' },
      'someone@example.com': { DkimEnabled: false, DkimVerificationStatus: 'NotStarted' },
    });
    emulator.unpublish('byo');
  });

  it('spells each DKIM status the v1 way, and DkimEnabled follows SigningEnabled', async () => {
    const emulator = await rig({ failAfterMs: 2 * HOUR });
    const key = rsaKey(1024);
    await putByodkim(emulator, 'sel', key.privateKeyBase64);
    const status = async () =>
      (await v1(emulator).send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] })))
        .DkimAttributes?.[DOMAIN];

    expect(await status()).toEqual({ DkimEnabled: true, DkimVerificationStatus: 'Pending' });
    emulator.publish('sel', key.publicKeyBase64);
    emulator.clock.advance(60_000);
    expect((await status())?.DkimVerificationStatus).toBe('Success');

    await emulator
      .client('ap-northeast-1')
      .send(new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: DOMAIN, SigningEnabled: false }));
    expect(await status()).toEqual({ DkimEnabled: false, DkimVerificationStatus: 'Success' });

    emulator.unpublish('sel');
    emulator.clock.advance(HOUR);
    expect((await status())?.DkimVerificationStatus).toBe('TemporaryFailure');
    emulator.clock.advance(2 * HOUR);
    expect((await status())?.DkimVerificationStatus).toBe('Failed');
  });

  it('reports a BYODKIM identity’s DkimTokens as the v1ExternalDkimTokens knob says (default: none)', async () => {
    const key = rsaKey(1024);
    const seen: Record<string, unknown> = {};
    for (const knob of ['omit', 'empty', 'selector'] as const) {
      const emulator = await rig({ v1ExternalDkimTokens: knob });
      await putByodkim(emulator, 'sel', key.privateKeyBase64);
      const answer = await v1(emulator).send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] }));
      seen[knob] = answer.DkimAttributes?.[DOMAIN]?.DkimTokens;
    }
    expect(seen).toEqual({ omit: undefined, empty: [], selector: ['sel'] });

    const byDefault = await rig();
    await putByodkim(byDefault, 'sel', key.privateKeyBase64);
    const answer = await v1(byDefault).send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] }));
    expect(answer.DkimAttributes?.[DOMAIN]).not.toHaveProperty('DkimTokens');
  });

  it('keys the map by the identity as asked, and serves the account and region of the credentials', async () => {
    const emulator = await rig({ accountsByAccessKey: { AKIDMEMBER: '111111111111' } });
    await emulator.client('ap-northeast-1').send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    const asked = await v1(emulator).send(
      new GetIdentityDkimAttributesCommand({ Identities: ['Example.COM'] }),
    );
    expect(Object.keys(asked.DkimAttributes ?? {})).toEqual(['Example.COM']);

    const otherRegion = await v1(emulator, 'us-east-1').send(
      new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] }),
    );
    expect(otherRegion.DkimAttributes).toEqual({});
    const otherAccount = await v1(emulator, 'ap-northeast-1', 'AKIDMEMBER').send(
      new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] }),
    );
    expect(otherAccount.DkimAttributes).toEqual({});
  });

  it('takes 100 identities per call and refuses 101 or none with ValidationError', async () => {
    const emulator = await rig();
    const client = v1(emulator);
    const hundred = Array.from({ length: 100 }, (_, i) => `d${i}.example.com`);
    expect(
      (await client.send(new GetIdentityDkimAttributesCommand({ Identities: hundred }))).DkimAttributes,
    ).toEqual({});

    const tooMany = await failure(
      client.send(new GetIdentityDkimAttributesCommand({ Identities: [...hundred, 'one-more.example.com'] })),
    );
    expect(tooMany.name).toBe('ValidationError');
    expect(tooMany.message).toMatch(/less than or equal to 100/);
    expect(tooMany.$metadata.httpStatusCode).toBe(400);

    const none = await failure(client.send(new GetIdentityDkimAttributesCommand({ Identities: [] })));
    expect(none.name).toBe('ValidationError');
  });

  it('answers errors as awsQuery XML: throttling as Throttling, faults as InternalFailure', async () => {
    const emulator = await rig();
    const client = v1(emulator);
    emulator.ses.injectFault({ operation: 'GetIdentityDkimAttributes', status: 429, count: 1 });
    const throttled = await failure(
      client.send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] })),
    );
    expect(throttled.name).toBe('Throttling');
    expect(throttled.$metadata.httpStatusCode).toBe(400);

    emulator.ses.injectFault({ operation: 'GetIdentityDkimAttributes', status: 500, count: 1 });
    const faulted = await failure(
      client.send(new GetIdentityDkimAttributesCommand({ Identities: [DOMAIN] })),
    );
    expect(faulted.name).toBe('InternalFailure');
    expect(faulted.$metadata.httpStatusCode).toBe(500);

    const raw = await fetch(`${emulator.ses.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListIdentities&Version=2010-12-01',
    });
    expect(raw.status).toBe(400);
    const rawText = await raw.text();
    expect(rawText).toMatch(
      /^<\?xml[^>]*>\n<ErrorResponse xmlns="http:\/\/ses\.amazonaws\.com\/doc\/2010-12-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/,
    );
    for (const [body, code] of [
      ['Version=2010-12-01&Identities.member.1=example.com', 'MissingAction'],
      [
        'Action=GetIdentityDkimAttributes&Version=2019-09-27&Identities.member.1=example.com',
        'InvalidParameterValue',
      ],
    ] as const) {
      const refused = await fetch(`${emulator.ses.endpoint}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain(`<Code>${code}</Code>`);
    }
  });
});
