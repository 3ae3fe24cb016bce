/** Values the product must be able to read: every documented ErrorType, and empty BYODKIM Tokens. */
import {
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, startRig, type TestKey } from './rig.js';

const REGION = 'ap-northeast-1';
const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

async function setUp(opts: Parameters<typeof startRig>[0] = {}): Promise<{ rig: Rig; ses: SESv2Client }> {
  const rig = await startRig(opts);
  rigs.push(rig);
  return { rig, ses: rig.client(REGION) };
}

function putByodkim(ses: SESv2Client, selector: string, key: TestKey) {
  return ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: DOMAIN,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: key.privateKeyBase64 },
    }),
  );
}

const get = (ses: SESv2Client) => ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));

describe('ErrorType values (SPEC §3)', () => {
  it('reports SERVICE_ERROR as TEMPORARY_FAILURE, from a put window and from a recheck of a SUCCESS', async () => {
    const { rig, ses } = await setUp();
    const key = rsaKey(1024);
    rig.publish('sel', key.publicKeyBase64);
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putByodkim(ses, 'sel', key);
    rig.ses.injectCheckFault({ count: 1, region: REGION, identity: 'EXAMPLE.com' });

    const first = await get(ses);
    expect(first.DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    expect(first.VerificationInfo?.ErrorType).toBe('SERVICE_ERROR');
    expect((await get(ses)).DkimAttributes?.Status).toBe('SUCCESS');

    rig.ses.injectCheckFault({ count: 1 });
    rig.clock.advance(HOUR);
    const recheck = await get(ses);
    expect(recheck.DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    expect(recheck.VerificationInfo?.ErrorType).toBe('SERVICE_ERROR');
    expect(recheck.VerifiedForSendingStatus).toBe(true);
    rig.unpublish('sel');
  });

  it('injects any documented value over POST /_emulator/check-faults, for matching identities only', async () => {
    const { rig, ses } = await setUp({ accountsByAccessKey: { AKIDOTHER: '210987654321' } });
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putByodkim(ses, 'sel', rsaKey(1024));
    const inject = (body: unknown) =>
      fetch(`${rig.ses.endpoint}/_emulator/check-faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // Another account's fault does not fire here.
    expect((await inject({ count: 1, account: '210987654321', errorType: 'INVALID_VALUE' })).status).toBe(
      204,
    );
    expect(
      (
        await inject({
          count: 1,
          account: '123456789012',
          errorType: 'REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED',
        })
      ).status,
    ).toBe(204);
    const replicated = await get(ses);
    expect(replicated.DkimAttributes?.Status).toBe('PENDING');
    expect(replicated.VerificationInfo?.ErrorType).toBe('REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED');
    expect((await get(ses)).VerificationInfo?.ErrorType).toBe('HOST_NOT_FOUND');

    const bad = await inject({ count: 1, errorType: 'OOPS' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      message: expect.stringContaining('REPLICATION_PRIMARY_INVALID_REGION'),
    });
    expect((await fetch(`${rig.ses.endpoint}/_emulator/check-faults`, { method: 'DELETE' })).status).toBe(
      204,
    );
  });
});

describe('DkimAttributes.Tokens of a BYODKIM identity (SPEC §2.2, externalTokens)', () => {
  it('is [selector] by default', async () => {
    const { ses } = await setUp();
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putByodkim(ses, 'sel', rsaKey(1024));
    expect((await get(ses)).DkimAttributes?.Tokens).toEqual(['sel']);
  });

  it('is [] with externalTokens empty, in GetEmailIdentity and CreateEmailIdentity, not in the put response', async () => {
    const { ses } = await setUp({ externalTokens: 'empty' });
    const key = rsaKey(1024);
    const created = await ses.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: DOMAIN,
        DkimSigningAttributes: {
          DomainSigningSelector: 'one',
          DomainSigningPrivateKey: key.privateKeyBase64,
        },
      }),
    );
    expect(created.DkimAttributes).toMatchObject({ SigningAttributesOrigin: 'EXTERNAL', Tokens: [] });
    const put = await putByodkim(ses, 'two', key);
    expect(put.DkimTokens).toEqual(['two']);
    expect((await get(ses)).DkimAttributes).toMatchObject({
      SigningAttributesOrigin: 'EXTERNAL',
      Tokens: [],
    });
  });
});
