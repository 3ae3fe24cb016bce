/**
 * Many distinct RSA-2048 public keys, fast. Generating a thousand real key pairs would take
 * over a minute; the probe only parses and compares public keys, so each one here is a
 * real key's SubjectPublicKeyInfo with bytes inside the modulus changed (same length, still
 * odd, top byte kept): a different, well-formed 2048-bit RSA public key that node:crypto
 * parses exactly as it parses a real one. Nobody holds the private half of these; they are
 * only ever served in DNS by the bench's own servers.
 */
import { createHash, createPublicKey } from 'node:crypto';

export function distinctPublicKeys(base64Spki: string, count: number, salt = 'bench'): string[] {
  const der = Buffer.from(base64Spki, 'base64');
  // RSA-2048 SPKI: 33-byte prefix (…02 82 01 01 00), 256-byte modulus, then the exponent.
  const prefix = der.subarray(0, 33);
  if (der.length !== 294 || prefix.readUInt32BE(28) !== 0x02820101 || der[32] !== 0) {
    throw new Error('distinctPublicKeys needs an RSA-2048 SubjectPublicKeyInfo');
  }
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const copy = Buffer.from(der);
    // 32 bytes well inside the modulus (offsets 65..96), from a hash of the index.
    createHash('sha256').update(`${salt}:${i}`).digest().copy(copy, 65);
    const key = copy.toString('base64');
    if (
      i === 0 &&
      createPublicKey({ key: copy, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength !== 2048
    ) {
      throw new Error('distinctPublicKeys made a key node:crypto does not read as RSA-2048');
    }
    keys.push(key);
  }
  return keys;
}
