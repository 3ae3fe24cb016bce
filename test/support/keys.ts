import { type DkimPrivateKey, generateDkimKey } from '../../src/domain/key.js';

/** Keys are generated at run time (never committed); cached per test file to keep suites fast. */
const cache = new Map<string, Promise<DkimPrivateKey>>();

export function testKey(name: string, bits: 1024 | 2048 = 2048): Promise<DkimPrivateKey> {
  const id = `${name}/${bits}`;
  let key = cache.get(id);
  if (!key) {
    key = generateDkimKey(bits);
    cache.set(id, key);
  }
  return key;
}

/**
 * PEM armour around a (fake) body, built at run time so that no tracked file holds
 * something that looks like a private key: for tests of parsers and redaction.
 */
export function fakePem(body: string, label = 'PRIVATE KEY'): string {
  const dashes = '-'.repeat(5);
  return `${dashes}BEGIN ${label}${dashes}\n${body}\n${dashes}END ${label}${dashes}`;
}

/**
 * Pieces of a key's private part as a leak would show them: the tail of its base64 DER in
 * both encodings the product writes (PKCS #1 for SES, PKCS #8 for the vault). The tail is
 * the private exponent and primes; the head holds the public modulus, which is no secret.
 */
export function secretSlices(key: DkimPrivateKey): string[] {
  const pkcs8 = key
    .toPem()
    .replace(/-----[A-Z ]+-----/g, '')
    .replace(/\s/g, '');
  return [key.toSesBase64().slice(-100, -40), pkcs8.slice(-100, -40)];
}
