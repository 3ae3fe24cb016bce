import {
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  PutEmailIdentityDkimAttributesCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, START, startRig, type TestKey } from './rig.js';

let rig: Rig;
let ses: SESv2Client;
let keyA: TestKey;
let keyB: TestKey;

beforeAll(async () => {
  rig = await startRig();
  keyA = rsaKey(2048);
  keyB = rsaKey(1024);
});
afterAll(async () => {
  await rig.stop();
});
beforeEach(() => {
  rig.ses.reset();
  rig.clock.set(START);
  for (const selector of ['sel-a', 'sel-b', 'sel-c']) rig.unpublish(selector);
  ses = rig.client('ap-northeast-1');
});

async function createDomain(domain = DOMAIN): Promise<void> {
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
}

function putByodkim(selector: string, key: TestKey, domain = DOMAIN) {
  return ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: domain,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: key.privateKeyBase64 },
    }),
  );
}

function get(domain = DOMAIN) {
  return ses.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
}

describe('BYODKIM verification (SPEC §2 PutEmailIdentityDkimSigningAttributes, §3, §5)', () => {
  it('answers NOT_STARTED to the put, PENDING to the next read, SUCCESS once DNS serves the key', async () => {
    await createDomain();

    const put = await putByodkim('sel-a', keyA);
    expect(put.DkimStatus).toBe('NOT_STARTED');
    expect(put.DkimTokens).toEqual(['sel-a']);

    const pending = await get();
    expect(pending.DkimAttributes).toMatchObject({
      SigningAttributesOrigin: 'EXTERNAL',
      SigningEnabled: true,
      Status: 'PENDING',
      Tokens: ['sel-a'],
    });
    expect(pending.VerificationInfo?.ErrorType).toBe('HOST_NOT_FOUND');
    expect(pending.VerifiedForSendingStatus).toBe(false);

    rig.publish('sel-a', keyA.publicKeyBase64); // 2048-bit: more than one character-string
    rig.clock.advance(5 * 60_000);
    const done = await get();
    expect(done.DkimAttributes?.Status).toBe('SUCCESS');
    expect(done.VerificationStatus).toBe('SUCCESS');
    expect(done.VerifiedForSendingStatus).toBe(true);
    expect(done.VerificationInfo?.LastSuccessTimestamp).toEqual(rig.clock.now());
    expect(done.VerificationInfo?.LastCheckedTimestamp).toEqual(rig.clock.now());
    expect(done.VerificationInfo?.ErrorType).toBeUndefined();
    // BYODKIM reports none of the Easy DKIM key fields.
    expect(done.DkimAttributes?.CurrentSigningKeyLength).toBeUndefined();
    expect(done.DkimAttributes?.NextSigningKeyLength).toBeUndefined();
  });

  it('goes FAILED when no matching record appears within 72 hours of the put', async () => {
    await createDomain();
    await putByodkim('sel-a', keyA);

    rig.clock.advance(71 * HOUR);
    expect((await get()).DkimAttributes?.Status).toBe('PENDING');

    rig.clock.advance(HOUR);
    const failed = await get();
    expect(failed.DkimAttributes?.Status).toBe('FAILED');
    expect(failed.VerificationStatus).toBe('FAILED');

    // FAILED stays until the next put, even if the record shows up later.
    rig.publish('sel-a', keyA.publicKeyBase64);
    rig.clock.advance(HOUR);
    expect((await get()).DkimAttributes?.Status).toBe('FAILED');

    await putByodkim('sel-a', keyA);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');
  });

  it('is PENDING again after switching to a new selector, and SUCCESS when its record is present', async () => {
    await createDomain();
    rig.publish('sel-a', keyA.publicKeyBase64);
    await putByodkim('sel-a', keyA);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');

    const put = await putByodkim('sel-b', keyB);
    expect(put).toMatchObject({ DkimStatus: 'NOT_STARTED', DkimTokens: ['sel-b'] });
    const switched = await get();
    expect(switched.DkimAttributes).toMatchObject({ Status: 'PENDING', Tokens: ['sel-b'] });
    // The domain stays verified for sending while the new selector verifies.
    expect(switched.VerificationStatus).toBe('SUCCESS');
    expect(switched.VerifiedForSendingStatus).toBe(true);

    rig.publish('sel-b', keyB.publicKeyBase64);
    rig.clock.advance(60_000);
    expect((await get()).DkimAttributes).toMatchObject({ Status: 'SUCCESS', Tokens: ['sel-b'] });
  });

  it('never gives SUCCESS for a record with another key, a revoked key or the console placeholder', async () => {
    await createDomain();
    await putByodkim('sel-a', keyA);
    const wrongValues = [
      `v=DKIM1; k=rsa; p=${keyB.publicKeyBase64}`,
      'v=DKIM1; k=rsa; p=',
      'v=DKIM1; k=rsa; p=customerProvidedPublicKey',
    ];
    for (const value of wrongValues) {
      rig.dns.store.setTxt(`sel-a._domainkey.${DOMAIN}`, value);
      rig.clock.advance(HOUR);
      const identity = await get();
      expect(identity.DkimAttributes?.Status).toBe('PENDING');
      expect(identity.VerificationInfo?.ErrorType).toBe('INVALID_VALUE');
    }
    rig.clock.advance(72 * HOUR);
    expect((await get()).DkimAttributes?.Status).toBe('FAILED');
  });

  it('does not give SUCCESS when a record with the right key sits next to one with another key', async () => {
    await createDomain();
    await putByodkim('sel-a', keyA);
    rig.dns.store.setTxt(`sel-a._domainkey.${DOMAIN}`, `v=DKIM1; k=rsa; p=${keyA.publicKeyBase64}`);
    rig.dns.store.addTxt(`sel-a._domainkey.${DOMAIN}`, `v=DKIM1; k=rsa; p=${keyB.publicKeyBase64}`);
    expect((await get()).DkimAttributes?.Status).toBe('PENDING');
  });

  it('reports TEMPORARY_FAILURE while the DNS server fails, and recovers when it answers', async () => {
    await createDomain();
    await putByodkim('sel-a', keyA);
    rig.publish('sel-a', keyA.publicKeyBase64);
    rig.dns.setFault(`sel-a._domainkey.${DOMAIN}`, 'servfail');

    const failing = await get();
    expect(failing.DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    expect(failing.VerificationInfo?.ErrorType).toBe('DNS_SERVER_ERROR');

    rig.dns.setFault(`sel-a._domainkey.${DOMAIN}`, undefined);
    rig.clock.advance(60_000);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');
  });

  it('reports TEMPORARY_FAILURE when the DNS server does not answer in time', async () => {
    await createDomain();
    await putByodkim('sel-a', keyA);
    rig.dns.setFault(`sel-a._domainkey.${DOMAIN}`, 'drop');
    try {
      const silent = await get();
      expect(silent.DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
      expect(silent.VerificationInfo?.ErrorType).toBe('DNS_SERVER_ERROR');
    } finally {
      rig.dns.setFault(`sel-a._domainkey.${DOMAIN}`, undefined);
    }
    rig.clock.advance(60_000);
    const answered = await get();
    expect(answered.DkimAttributes?.Status).toBe('PENDING');
    expect(answered.VerificationInfo?.ErrorType).toBe('HOST_NOT_FOUND');
  });

  it('rechecks after SUCCESS: a vanished record gives TEMPORARY_FAILURE at the next recheck, then FAILED', async () => {
    await createDomain();
    rig.publish('sel-a', keyA.publicKeyBase64);
    await putByodkim('sel-a', keyA);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');

    rig.unpublish('sel-a');
    rig.clock.advance(30 * 60_000);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS'); // recheck not due yet (1 h)

    rig.clock.advance(30 * 60_000);
    const lost = await get();
    expect(lost.DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    expect(lost.VerificationInfo?.ErrorType).toBe('HOST_NOT_FOUND');
    expect(lost.VerifiedForSendingStatus).toBe(true);

    rig.clock.advance(72 * HOUR);
    const failed = await get();
    expect(failed.DkimAttributes?.Status).toBe('FAILED');
    expect(failed.VerifiedForSendingStatus).toBe(false);
  });

  it('a record that comes back during the recheck window restores SUCCESS', async () => {
    await createDomain();
    rig.publish('sel-a', keyA.publicKeyBase64);
    await putByodkim('sel-a', keyA);
    await get();
    rig.publish('sel-a', keyB.publicKeyBase64); // replaced by another key
    rig.clock.advance(HOUR);
    expect((await get()).DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    rig.publish('sel-a', keyA.publicKeyBase64);
    rig.clock.advance(HOUR);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');
  });

  it('accepts a PKCS #1 key and a key given at creation time', async () => {
    rig.publish('sel-c', keyB.publicKeyBase64);
    const created = await ses.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: DOMAIN,
        DkimSigningAttributes: { DomainSigningSelector: 'sel-c', DomainSigningPrivateKey: keyB.pkcs1Base64 },
      }),
    );
    expect(created.IdentityType).toBe('DOMAIN');
    expect(created.VerifiedForSendingStatus).toBe(false);
    expect(created.DkimAttributes).toMatchObject({
      SigningAttributesOrigin: 'EXTERNAL',
      Status: 'NOT_STARTED',
      Tokens: ['sel-c'],
    });
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');
  });

  it('follows a CNAME from the mail domain to a delegated zone', async () => {
    await createDomain();
    rig.dns.store.setCname(`sel-a._domainkey.${DOMAIN}`, 'sel-a.dkim.example.org');
    rig.dns.store.setTxt('sel-a.dkim.example.org', `v=DKIM1; k=rsa; p=${keyA.publicKeyBase64}`);
    await putByodkim('sel-a', keyA);
    expect((await get()).DkimAttributes?.Status).toBe('SUCCESS');
    rig.dns.store.remove('sel-a.dkim.example.org');
    rig.dns.store.remove(`sel-a._domainkey.${DOMAIN}`);
  });
});

describe('timing options', () => {
  it('does not check before the verification delay has passed', async () => {
    const delayed = await startRig({ verificationDelayMs: 10 * 60_000 });
    try {
      const client = delayed.client('eu-west-1');
      const key = rsaKey(1024);
      delayed.publish('sel-a', key.publicKeyBase64);
      await client.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
      await client.send(
        new PutEmailIdentityDkimSigningAttributesCommand({
          EmailIdentity: DOMAIN,
          SigningAttributesOrigin: 'EXTERNAL',
          SigningAttributes: {
            DomainSigningSelector: 'sel-a',
            DomainSigningPrivateKey: key.privateKeyBase64,
          },
        }),
      );
      const early = await client.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
      expect(early.DkimAttributes?.Status).toBe('PENDING');
      expect(early.VerificationInfo?.LastCheckedTimestamp).toBeUndefined();

      delayed.clock.advance(10 * 60_000);
      await delayed.ses.verifyPending();
      // verifyPending ran the check; the read after it needs none.
      delayed.dns.store.removeTxt(`sel-a._domainkey.${DOMAIN}`);
      const later = await client.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
      expect(later.DkimAttributes?.Status).toBe('SUCCESS');
    } finally {
      await delayed.stop();
    }
  });
});

describe('PutEmailIdentityDkimAttributes (SPEC §2)', () => {
  it('toggles SigningEnabled without touching verification', async () => {
    await createDomain();
    rig.publish('sel-a', keyA.publicKeyBase64);
    await putByodkim('sel-a', keyA);

    await ses.send(
      new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: DOMAIN, SigningEnabled: false }),
    );
    expect((await get()).DkimAttributes).toMatchObject({ SigningEnabled: false, Status: 'SUCCESS' });

    await ses.send(
      new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: DOMAIN, SigningEnabled: true }),
    );
    expect((await get()).DkimAttributes).toMatchObject({ SigningEnabled: true, Status: 'SUCCESS' });
  });
});
