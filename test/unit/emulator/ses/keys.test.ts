import { generateKeyPairSync } from 'node:crypto';
import {
  BadRequestException,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, START, startRig } from './rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

async function rig(...args: Parameters<typeof startRig>): Promise<{ rig: Rig; ses: SESv2Client }> {
  const started = await startRig(...args);
  rigs.push(started);
  return { rig: started, ses: started.client('ap-northeast-1') };
}

function putKey(ses: SESv2Client, selector: string, privateKey: string) {
  return ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: DOMAIN,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: privateKey },
    }),
  );
}

const get = (ses: SESv2Client) => ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));

describe('the formats SES takes (SPEC §4)', () => {
  it('accepts PKCS #1 and PKCS #8 DER by default and records which one each put sent', async () => {
    const { rig: emulator, ses } = await rig({}, 'service');
    const key = rsaKey(2048);
    await ses.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: DOMAIN,
        DkimSigningAttributes: { DomainSigningSelector: 'one', DomainSigningPrivateKey: key.pkcs1Base64 },
      }),
    );
    emulator.clock.advance(HOUR);
    await putKey(ses, 'two', key.privateKeyBase64);

    expect(emulator.ses.keyPuts()).toEqual([
      {
        at: START,
        account: '123456789012',
        region: 'ap-northeast-1',
        identity: DOMAIN,
        operation: 'CreateEmailIdentity',
        selector: 'one',
        format: 'PKCS1',
        keyType: 'rsa',
        bits: 2048,
        outcome: 'accepted',
      },
      {
        at: new Date(Date.parse(START) + HOUR).toISOString(),
        account: '123456789012',
        region: 'ap-northeast-1',
        identity: DOMAIN,
        operation: 'PutEmailIdentityDkimSigningAttributes',
        selector: 'two',
        format: 'PKCS8',
        keyType: 'rsa',
        bits: 2048,
        outcome: 'accepted',
      },
    ]);
  });

  it('serves the records over GET /_emulator/key-puts, filtered, without key material', async () => {
    const { rig: emulator, ses } = await rig();
    const key = rsaKey(1024);
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putKey(ses, 'sel', key.pkcs1Base64);
    await emulator.client('us-east-1').send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putKey(emulator.client('us-east-1'), 'sel', key.privateKeyBase64).catch(() => undefined);

    const response = await fetch(
      `${emulator.ses.endpoint}/_emulator/key-puts?region=ap-northeast-1&identity=EXAMPLE.com`,
    );
    const text = await response.text();
    expect(JSON.parse(text)).toEqual([
      expect.objectContaining({
        region: 'ap-northeast-1',
        selector: 'sel',
        format: 'PKCS1',
        outcome: 'accepted',
      }),
    ]);
    expect(text).not.toContain(key.pkcs1Base64.slice(20, 60));
    expect(emulator.ses.keyPuts({ region: 'us-east-1' })).toEqual([
      expect.objectContaining({ format: 'PKCS8', outcome: 'accepted' }),
    ]);
    emulator.ses.reset();
    expect(emulator.ses.keyPuts()).toEqual([]);
  });
});

describe('a key SES cannot use (SPEC §4, unusableKey)', () => {
  it('by default accepts the put, never verifies, and fails the identity after 72 hours', async () => {
    const { rig: emulator, ses } = await rig({ keyFormats: 'pkcs1-only', ratePerRegion: null }, 'service');
    const key = rsaKey(1024);
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    emulator.publish('sel', key.publicKeyBase64); // the right public key is in DNS
    const put = await putKey(ses, 'sel', key.privateKeyBase64); // but PKCS #8, which this SES cannot read
    expect(put).toMatchObject({ DkimStatus: 'NOT_STARTED', DkimTokens: ['sel'] });
    expect(emulator.ses.keyPuts()).toEqual([
      expect.objectContaining({
        format: 'PKCS8',
        outcome: 'accepted-unusable',
        problem: expect.stringMatching(/PKCS #8; SES takes PKCS #1/),
      }),
    ]);

    emulator.clock.advance(HOUR);
    const pending = await get(ses);
    expect(pending.DkimAttributes?.Status).toBe('PENDING');
    expect(pending.VerificationInfo?.ErrorType).toBe('INVALID_VALUE');
    expect((await emulator.ses.signSample('ap-northeast-1', DOMAIN)).signedWithDomainKey).toBe(false);

    emulator.clock.advance(71 * HOUR);
    const failed = await get(ses);
    expect(failed.DkimAttributes?.Status).toBe('FAILED');
    expect(failed.VerifiedForSendingStatus).toBe(false);

    // The same key as PKCS #1 verifies.
    await putKey(ses, 'sel', key.pkcs1Base64);
    emulator.clock.advance(5 * 60_000);
    expect((await get(ses)).DkimAttributes?.Status).toBe('SUCCESS');
    emulator.unpublish('sel');
  });

  it('accepts a 1536-bit key and an EC key the same way, and never a PEM', async () => {
    const { rig: emulator, ses } = await rig({ unusableKey: 'fail-verification' });
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putKey(ses, 'odd', rsaKey(1536).privateKeyBase64);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await putKey(ses, 'curve', ec.export({ type: 'pkcs8', format: 'der' }).toString('base64'));
    const pem = rsaKey(1024).privateKeyBase64.replace(/(.{64})/g, '$1\n');
    // The armour is assembled here so that no tracked file holds a PEM private key header.
    const label = ['PRIVATE', 'KEY'].join(' ');
    const rejected = await putKey(
      ses,
      'pem',
      `-----BEGIN ${label}-----\n${pem}\n-----END ${label}-----`,
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(rejected).toBeInstanceOf(BadRequestException);
    expect(
      emulator.ses.keyPuts().map(({ selector, format, keyType, bits, outcome }) => ({
        selector,
        format,
        keyType,
        bits,
        outcome,
      })),
    ).toEqual([
      { selector: 'odd', format: 'PKCS8', keyType: 'rsa', bits: 1536, outcome: 'accepted-unusable' },
      { selector: 'curve', format: 'PKCS8', keyType: 'ec', bits: undefined, outcome: 'accepted-unusable' },
      { selector: 'pem', format: 'UNKNOWN', keyType: undefined, bits: undefined, outcome: 'rejected' },
    ]);
    expect((await get(ses)).DkimAttributes?.Tokens).toEqual(['curve']);
  });

  it('with unusableKey reject answers BadRequestException and keeps the previous key', async () => {
    const { rig: emulator, ses } = await rig({ keyFormats: 'pkcs1-only', unusableKey: 'reject' });
    const key = rsaKey(1024);
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await putKey(ses, 'good', key.pkcs1Base64);
    const error = await putKey(ses, 'bad', key.privateKeyBase64).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(BadRequestException);
    expect(error?.message).toMatch(/PKCS #1/);
    expect((await get(ses)).DkimAttributes?.Tokens).toEqual(['good']);
    expect(emulator.ses.keyPuts().map((entry) => entry.outcome)).toEqual(['accepted', 'rejected']);
  });
});
