import {
  CreateEmailIdentityCommand,
  PutEmailIdentityDkimAttributesCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, START, startRig, type TestKey } from './rig.js';

const REGION = 'eu-west-2';
let rig: Rig;
let ses: SESv2Client;
let key: TestKey;

beforeAll(async () => {
  rig = await startRig();
  ses = rig.client(REGION);
  key = rsaKey(2048);
});
afterAll(async () => {
  await rig.stop();
});
beforeEach(async () => {
  rig.ses.reset();
  rig.clock.set(START);
  rig.unpublish('mail2025');
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  await ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: DOMAIN,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: 'mail2025', DomainSigningPrivateKey: key.privateKeyBase64 },
    }),
  );
});

describe('signing truth (SPEC §8)', () => {
  it('carries no signature for the domain while DKIM is PENDING', async () => {
    const sample = await rig.ses.signSample(REGION, DOMAIN);
    expect(sample.signedWithDomainKey).toBe(false);
    expect(sample.selector).toBeUndefined();
    expect(sample.message).not.toMatch(/^DKIM-Signature:/im);
    expect(sample.message).toMatch(/^X-SES-Emulator-Note: .*PENDING/m);
    expect(await rig.verifyDkim(sample.message)).not.toContainEqual(
      expect.objectContaining({ domain: DOMAIN }),
    );
  });

  it('is signed with the held key (d=domain, s=selector) once DKIM is SUCCESS, and mailauth verifies it', async () => {
    rig.publish('mail2025', key.publicKeyBase64);
    rig.clock.advance(10 * 60_000);
    const sample = await rig.ses.signSample(REGION, DOMAIN, { subject: 'hello', body: 'line one\nline two' });
    expect(sample.signedWithDomainKey).toBe(true);
    expect(sample.selector).toBe('mail2025');
    expect(await rig.verifyDkim(sample.message)).toEqual([
      { domain: DOMAIN, selector: 'mail2025', result: 'pass' },
    ]);
  });

  it('signs mail from an address of the domain with the domain key', async () => {
    rig.publish('mail2025', key.publicKeyBase64);
    const sample = await rig.ses.signSample(REGION, `billing@${DOMAIN}`);
    expect(sample.message).toMatch(/^From: billing@example\.com/m);
    expect(await rig.verifyDkim(sample.message)).toEqual([
      { domain: DOMAIN, selector: 'mail2025', result: 'pass' },
    ]);
  });

  it('stops signing with the domain key when signing is disabled or the identity is in another region', async () => {
    rig.publish('mail2025', key.publicKeyBase64);
    await ses.send(
      new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: DOMAIN, SigningEnabled: false }),
    );
    const disabled = await rig.ses.signSample(REGION, DOMAIN);
    expect(disabled.signedWithDomainKey).toBe(false);
    expect(disabled.message).toMatch(/signing is disabled/);
    await expect(rig.ses.signSample('us-east-1', DOMAIN)).rejects.toThrow(/does not exist/);
  });

  it('signs with the new selector only after it verifies, never with a key DNS does not serve', async () => {
    rig.publish('mail2025', key.publicKeyBase64);
    expect((await rig.ses.signSample(REGION, DOMAIN)).signedWithDomainKey).toBe(true);

    const next = rsaKey(1024);
    await ses.send(
      new PutEmailIdentityDkimSigningAttributesCommand({
        EmailIdentity: DOMAIN,
        SigningAttributesOrigin: 'EXTERNAL',
        SigningAttributes: {
          DomainSigningSelector: 'mail2026',
          DomainSigningPrivateKey: next.privateKeyBase64,
        },
      }),
    );
    expect((await rig.ses.signSample(REGION, DOMAIN)).signedWithDomainKey).toBe(false);

    rig.publish('mail2026', next.publicKeyBase64);
    rig.clock.advance(HOUR);
    const sample = await rig.ses.signSample(REGION, DOMAIN);
    expect(sample.selector).toBe('mail2026');
    expect(await rig.verifyDkim(sample.message)).toEqual([
      { domain: DOMAIN, selector: 'mail2026', result: 'pass' },
    ]);
    rig.unpublish('mail2026');
  });
});
