import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  generateDkimKey,
  importPrivateKey,
  SES_PRIVATE_KEY_MAX_LENGTH,
  SES_PRIVATE_KEY_PATTERN,
  samePublicKey,
} from '../../../src/domain/key.js';
import { buildDkimRecordValue, matchRecord, splitTxtValue } from '../../../src/domain/record.js';
import { fakePem, secretSlices, testKey } from '../../support/keys.js';

describe('DKIM keys', () => {
  it('generates 2048-bit keys by default and 1024 on request, and nothing else', async () => {
    expect((await testKey('a')).bits).toBe(2048);
    expect((await generateDkimKey(1024)).bits).toBe(1024);
    await expect(generateDkimKey(4096)).rejects.toThrow(
      /4096 is not supported; SES accepts only 1024 or 2048/,
    );
  });

  it('encodes the private key the way SES takes it: one line of base64 DER, no armour, within the limit', async () => {
    const key = await testKey('a');
    const ses = key.toSesBase64();
    expect(ses).toMatch(SES_PRIVATE_KEY_PATTERN);
    expect(ses).not.toContain('\n');
    expect(ses).not.toContain('BEGIN');
    expect(ses.length).toBeLessThanOrEqual(SES_PRIVATE_KEY_MAX_LENGTH);
    // PKCS #1 RSAPrivateKey, the format every version of the SES docs accepts (SES-REALITY.md §4).
    const parsed = createPrivateKey({ key: Buffer.from(ses, 'base64'), format: 'der', type: 'pkcs1' });
    expect(parsed.asymmetricKeyType).toBe('rsa');
    expect(() =>
      createPrivateKey({ key: Buffer.from(ses, 'base64'), format: 'der', type: 'pkcs8' }),
    ).toThrow();
  });

  it('round-trips PEM → SES base64 → public key → record → match', async () => {
    const key = await testKey('a');
    const fromPem = importPrivateKey(key.toPem(), 'pem');
    const fromSes = importPrivateKey(fromPem.toSesBase64(), 'ses');
    const record = buildDkimRecordValue(fromSes.publicKey);
    expect(matchRecord(splitTxtValue(record), key.publicKey)).toBe('match');
    expect(matchRecord(record, (await testKey('b')).publicKey)).toBe('other-key');
  });

  it('imports PKCS#1 PEM and base64 DER of both encodings', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const pkcs1Der = privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64');
    const pkcs8Der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const a = importPrivateKey(pkcs1, 'a.pem');
    expect(importPrivateKey(pkcs1Der, 'b').samePair(a)).toBe(true);
    expect(importPrivateKey(pkcs8Der, 'c').samePair(a)).toBe(true);
    expect(a.bits).toBe(1024);
  });

  it.each([
    [
      'an EC key',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      /only RSA/,
    ],
    [
      'a 4096-bit key',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 4096 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      /4096 bits.*only 1024 or 2048/,
    ],
    [
      'an encrypted key',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 1024 })
          .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
          .toString(),
      /encrypted/,
    ],
    ['corrupt PEM', () => fakePem('AAAA'), /not a readable private key/],
    ['not base64', () => 'this is not a key!', /not a readable private key/],
    ['empty input', () => '', /not a readable private key/],
  ])('rejects %s with an error that names the source and never the key', (_, make, pattern) => {
    const input = make();
    try {
      importPrivateKey(input, '/keys/example/private_key.pem');
      expect.unreachable();
    } catch (error) {
      const text = `${(error as Error).message} ${String((error as Error).cause ?? '')}`;
      expect(text).toMatch(pattern);
      expect(text).toContain('/keys/example/private_key.pem');
      expect(text).not.toMatch(/[A-Za-z0-9+/]{60,}/);
      expect((error as { exitCode?: number }).exitCode).toBe(2);
    }
  });

  it('never shows private key material when printed, serialised or inspected', async () => {
    const key = await testKey('a');
    const [secret, secretPkcs8] = secretSlices(key) as [string, string];
    for (const shown of [
      String(key),
      JSON.stringify({ key }),
      inspect(key),
      inspect({ nested: { key } }),
      `${key}`,
    ]) {
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(secretPkcs8);
      expect(shown).toContain('redacted');
    }
  });

  it('compares public keys by value, not encoding', async () => {
    const key = await testKey('a');
    const { createPublicKey } = await import('node:crypto');
    const pkcs1 = createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' })
      .export({ type: 'pkcs1', format: 'der' })
      .toString('base64');
    expect(pkcs1).not.toBe(key.publicKey);
    expect(samePublicKey(pkcs1, key.publicKey)).toBe(true);
    expect(samePublicKey(key.publicKey, (await testKey('b')).publicKey)).toBe(false);
    expect(samePublicKey('garbage', key.publicKey)).toBe(false);
  });
});
