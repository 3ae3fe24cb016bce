import { generateKeyPairSync } from 'node:crypto';
import {
  AlreadyExistsException,
  BadRequestException,
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  NotFoundException,
  PutEmailIdentityDkimAttributesCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOMAIN, type Rig, rsaKey, startRig, type TestKey } from './rig.js';

let rig: Rig;
let ses: SESv2Client;
let key: TestKey;
let oversized: TestKey | undefined;
/** A 4096-bit key takes a while to make; make it once. */
const key4096 = (): TestKey => {
  oversized ??= rsaKey(4096);
  return oversized;
};

beforeAll(async () => {
  rig = await startRig();
  ses = rig.client('us-west-2');
  key = rsaKey(1024);
});
afterAll(async () => {
  await rig.stop();
});
beforeEach(async () => {
  rig.ses.reset();
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
});

function putExternal(selector: string | undefined, privateKey: string | undefined, extra: object = {}) {
  return ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: DOMAIN,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: privateKey, ...extra },
    }),
  );
}

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

describe('selector rules (SPEC §2: 1-63 characters, letters/digits/inner hyphens)', () => {
  it.each([
    ['empty', ''],
    ['leading hyphen', '-sel'],
    ['trailing hyphen', 'sel-'],
    ['a dot', 'sel.2025'],
    ['an underscore', 'sel_2025'],
    ['64 characters', 'a'.repeat(64)],
  ])('rejects a selector with %s', async (_label, selector) => {
    const error = await rejection(putExternal(selector, key.privateKeyBase64));
    expect(error).toBeInstanceOf(BadRequestException);
    expect(error.message).toMatch(/DomainSigningSelector/);
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it.each([
    ['one character', 'a'],
    ['63 characters', 'a'.repeat(63)],
    ['the seed style', 'gooid-21-pro-20250917-3'],
  ])('accepts a selector of %s', async (_label, selector) => {
    const put = await putExternal(selector, key.privateKeyBase64);
    expect(put.DkimTokens).toEqual([selector]);
  });
});

describe('private key rules with unusableKey reject (SPEC §2.5, §4: base64 DER, PKCS #1 or #8, RSA 1024 or 2048 bits)', () => {
  function rejectsKey(privateKey: string, pattern: RegExp) {
    return async () => {
      const error = await rejection(putExternal('sel', privateKey));
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.message).toMatch(pattern);
      // The key never comes back in an error.
      expect(error.message).not.toContain(privateKey.slice(0, 40));
    };
  }

  it(
    'rejects a PEM (armour and line breaks) with a hint',
    rejectsKey(
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      /PEM/,
    ),
  );

  it('rejects characters outside base64', rejectsKey('not base64!', /regular expression pattern/));

  it(
    'rejects base64 that is not a DER private key',
    rejectsKey(Buffer.from('hello world').toString('base64'), /PKCS/),
  );

  it('rejects a 4096-bit RSA key', rejectsKey(key4096().privateKeyBase64, /1024-bit or 2048-bit.*4096/));

  it('rejects a 1536-bit RSA key', rejectsKey(rsaKey(1536).privateKeyBase64, /1024-bit or 2048-bit.*1536/));

  it(
    'rejects an EC key',
    rejectsKey(
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        .privateKey.export({ type: 'pkcs8', format: 'der' })
        .toString('base64'),
      /must be an RSA key.*ec/,
    ),
  );

  it('rejects a key longer than 20480 characters', rejectsKey('A'.repeat(20484), /20480/));

  it('rejects a missing key and NextSigningKeyLength with EXTERNAL', async () => {
    expect(await rejection(putExternal('sel', undefined))).toBeInstanceOf(BadRequestException);
    const withLength = await rejection(
      putExternal('sel', key.privateKeyBase64, { NextSigningKeyLength: 'RSA_2048_BIT' }),
    );
    expect(withLength).toBeInstanceOf(BadRequestException);
    expect(withLength.message).toMatch(/NextSigningKeyLength/);
  });

  it('leaves the identity as it was after a rejected put', async () => {
    await putExternal('sel-ok', key.privateKeyBase64);
    await rejection(putExternal('sel-bad', key4096().privateKeyBase64));
    const identity = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(identity.DkimAttributes?.Tokens).toEqual(['sel-ok']);
  });
});

describe('existence (SPEC §2)', () => {
  it('answers NotFoundException (404) for an identity that does not exist', async () => {
    const calls = [
      ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'missing.example' })),
      ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'missing.example' })),
      ses.send(
        new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: 'missing.example', SigningEnabled: true }),
      ),
      ses.send(
        new PutEmailIdentityDkimSigningAttributesCommand({
          EmailIdentity: 'missing.example',
          SigningAttributesOrigin: 'EXTERNAL',
          SigningAttributes: { DomainSigningSelector: 'sel', DomainSigningPrivateKey: key.privateKeyBase64 },
        }),
      ),
    ];
    for (const call of calls) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(NotFoundException);
      expect(error.$metadata?.httpStatusCode).toBe(404);
    }
  });

  it('answers AlreadyExistsException when creating an identity twice (names are case-insensitive)', async () => {
    const error = await rejection(ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'Example.COM' })));
    expect(error).toBeInstanceOf(AlreadyExistsException);
  });

  it('forgets a deleted identity, and it can be created again', async () => {
    await ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(await rejection(ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN })))).toBeInstanceOf(
      NotFoundException,
    );
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  });

  it('refuses DKIM signing attributes for an email address identity', async () => {
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'ops@example.com' }));
    const error = await rejection(
      ses.send(
        new PutEmailIdentityDkimSigningAttributesCommand({
          EmailIdentity: 'ops@example.com',
          SigningAttributesOrigin: 'EXTERNAL',
          SigningAttributes: { DomainSigningSelector: 'sel', DomainSigningPrivateKey: key.privateKeyBase64 },
        }),
      ),
    );
    expect(error).toBeInstanceOf(BadRequestException);
  });

  it('rejects an invalid domain name and an unknown signing origin', async () => {
    expect(
      await rejection(ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'not a domain' }))),
    ).toBeInstanceOf(BadRequestException);
    const error = await rejection(
      ses.send(
        new PutEmailIdentityDkimSigningAttributesCommand({
          EmailIdentity: DOMAIN,
          SigningAttributesOrigin: 'AWS_SES_US_EAST_1',
        }),
      ),
    );
    expect(error).toBeInstanceOf(BadRequestException);
  });
});
