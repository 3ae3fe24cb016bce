import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCb,
  type KeyObject,
} from 'node:crypto';
import { inspect, promisify } from 'node:util';
import { InputError } from '../errors.js';

/**
 * DKIM key material. A private key lives only inside a `DkimPrivateKey`, which refuses to
 * print itself: `String(key)`, `JSON.stringify(key)` and `util.inspect(key)` all give a
 * redacted placeholder, so a key cannot leak through a log line or an error by accident.
 * The only ways out are `toSesBase64()` (for the SES API) and `toPem()` (for the vault).
 */

/** The only RSA sizes SES accepts for BYODKIM. */
export const KEY_SIZES = [1024, 2048] as const;
/** An RSA key size SES accepts. */
export type KeyBits = (typeof KEY_SIZES)[number];
export const DEFAULT_KEY_BITS: KeyBits = 2048;

/** SES's rule for DomainSigningPrivateKey. */
export const SES_PRIVATE_KEY_PATTERN = /^[a-zA-Z0-9+/]+={0,2}$/;
export const SES_PRIVATE_KEY_MAX_LENGTH = 20_480;

const REDACTED = '[DkimPrivateKey: redacted]';
const generateKeyPairAsync = promisify(generateKeyPairCb);

export function isKeyBits(bits: number): bits is KeyBits {
  return (KEY_SIZES as readonly number[]).includes(bits);
}

/**
 * An RSA private key for DKIM signing that never prints itself (see above). Made by
 * {@link generateDkimKey} or {@link importPrivateKey}; `publicKey` is what DNS publishes.
 *
 * @example
 * ```ts
 * import { generateDkimKey } from 'byodkim/core';
 *
 * const key = await generateDkimKey(2048);
 * console.log(key.bits, key.publicKey.length); // 2048 392
 * console.log(`${key}`, JSON.stringify({ key })); // [DkimPrivateKey: redacted] {"key":"[DkimPrivateKey: redacted]"}
 * ```
 */
export class DkimPrivateKey {
  readonly #key: KeyObject;
  /** Modulus size in bits (1024 or 2048). */
  readonly bits: KeyBits;
  /** base64 of the DER SubjectPublicKeyInfo: the `p=` of the DNS record. */
  readonly publicKey: string;

  private constructor(key: KeyObject, bits: KeyBits) {
    this.#key = key;
    this.bits = bits;
    this.publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
  }

  /** @internal Use generateDkimKey() or importPrivateKey(). */
  static fromKeyObject(key: KeyObject, source: string): DkimPrivateKey {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
      throw new InputError(
        'KEY_NOT_RSA',
        `${source}: the key is ${key.asymmetricKeyType ?? 'unknown'}, but SES BYODKIM accepts only RSA keys`,
        { context: { source, keyType: key.asymmetricKeyType } },
      );
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (!isKeyBits(bits)) {
      throw new InputError(
        'KEY_SIZE_UNSUPPORTED',
        `${source}: the RSA key has ${bits} bits, but SES accepts only 1024 or 2048`,
        {
          context: { source, bits },
        },
      );
    }
    return new DkimPrivateKey(key, bits);
  }

  /**
   * One line of base64 DER, no PEM armour: what SES's DomainSigningPrivateKey takes. PKCS #1
   * (RSAPrivateKey), the one format every version of the SES docs accepts — an older page
   * says PKCS #8 is not, and a wrong format only shows as failed verification later
   * (SES-REALITY.md §4; Terraform re-encodes to PKCS #1 for the same reason).
   */
  toSesBase64(): string {
    return this.#key.export({ type: 'pkcs1', format: 'der' }).toString('base64');
  }

  /** PKCS#8 PEM, the seed layout's `private_key.pem`. */
  toPem(): string {
    return this.#key.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** Constant shape comparison of two private keys by their public halves. */
  samePair(other: DkimPrivateKey): boolean {
    return this.publicKey === other.publicKey;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Generates an RSA key pair with node:crypto's async API (runs on the libuv pool, so many
 * keys generate in parallel).
 *
 * @throws {@link InputError} `KEY_SIZE_UNSUPPORTED` for any size but 1024 or 2048.
 * @example
 * ```ts
 * import { buildDkimRecordValue, generateDkimKey } from 'byodkim/core';
 *
 * const key = await generateDkimKey(2048);
 * const txt = buildDkimRecordValue(key.publicKey); // publish this
 * const forSes = key.toSesBase64(); // PutEmailIdentityDkimSigningAttributes' DomainSigningPrivateKey
 * ```
 */
export async function generateDkimKey(bits: number = DEFAULT_KEY_BITS): Promise<DkimPrivateKey> {
  if (!isKeyBits(bits)) {
    throw new InputError(
      'KEY_SIZE_UNSUPPORTED',
      `key bits: ${bits} is not supported; SES accepts only 1024 or 2048`,
      {
        context: { bits },
      },
    );
  }
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return DkimPrivateKey.fromKeyObject(privateKey, 'generated key');
}

/**
 * Reads an existing private key for adoption: PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8
 * `PRIVATE KEY`) or one base64 DER blob as SES takes it. `source` names where it came
 * from (a file path, an S3 URI) for errors; the key itself is never put in an error.
 *
 * @throws {@link InputError} `KEY_ENCRYPTED`, `KEY_UNREADABLE`, `KEY_NOT_RSA` or `KEY_SIZE_UNSUPPORTED`.
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { importPrivateKey } from 'byodkim/core';
 *
 * const path = 'dkim-keys/example.com/sel1/private_key.pem';
 * const key = importPrivateKey(await readFile(path), path);
 * console.log(key.bits, key.publicKey.slice(0, 16));
 * ```
 */
export function importPrivateKey(input: string | Buffer, source: string): DkimPrivateKey {
  const text = (typeof input === 'string' ? input : input.toString('utf8')).trim();
  if (/ENCRYPTED/.test(text) && text.includes('-----BEGIN')) {
    throw new InputError(
      'KEY_ENCRYPTED',
      `${source}: the private key is encrypted; decrypt it first (SES needs the plain key)`,
      {
        context: { source },
      },
    );
  }
  let key: KeyObject;
  try {
    if (text.startsWith('-----BEGIN')) {
      key = createPrivateKey({ key: text, format: 'pem' });
    } else {
      const compact = text.replace(/\s+/g, '');
      if (compact === '' || !SES_PRIVATE_KEY_PATTERN.test(compact)) {
        throw new Error('not PEM and not base64');
      }
      const der = Buffer.from(compact, 'base64');
      key =
        tryDer(der, 'pkcs8') ??
        tryDer(der, 'pkcs1') ??
        (() => {
          throw new Error('not a DER private key');
        })();
    }
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError(
      'KEY_UNREADABLE',
      `${source}: not a readable private key (expected PEM PKCS#1/PKCS#8 or base64 DER)`,
      {
        context: { source },
        cause: new Error(
          cause instanceof Error ? cause.message.replace(/[A-Za-z0-9+/=]{40,}/g, '…') : 'unreadable',
        ),
      },
    );
  }
  return DkimPrivateKey.fromKeyObject(key, source);
}

function tryDer(der: Buffer, type: 'pkcs8' | 'pkcs1'): KeyObject | undefined {
  try {
    return createPrivateKey({ key: der, format: 'der', type });
  } catch {
    return undefined;
  }
}

/**
 * Parsed public keys by their base64, most recently used last. Probing reads the same few
 * keys from every nameserver on every pass; parsing DER each time dominated probe cost.
 */
const parsedKeys = new Map<string, KeyObject | null>();
const PARSED_KEYS_MAX = 4096;

/** Parses a `p=` value (base64 SubjectPublicKeyInfo, or bare RSAPublicKey as some tools publish). */
export function parsePublicKey(base64: string): KeyObject | undefined {
  const compact = base64.replace(/\s+/g, '');
  const cached = parsedKeys.get(compact);
  if (cached !== undefined) {
    parsedKeys.delete(compact);
    parsedKeys.set(compact, cached);
    return cached ?? undefined;
  }
  const parsed = parseUncached(compact) ?? null;
  parsedKeys.set(compact, parsed);
  if (parsedKeys.size > PARSED_KEYS_MAX) parsedKeys.delete(parsedKeys.keys().next().value as string);
  return parsed ?? undefined;
}

function parseUncached(compact: string): KeyObject | undefined {
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const der = Buffer.from(compact, 'base64');
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return createPublicKey({ key: der, format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

/** True when two encoded public keys are the same key, whatever their encoding. */
export function samePublicKey(a: string, b: string): boolean {
  const ka = parsePublicKey(a);
  if (!ka) return false;
  // The usual case: the record carries exactly the encoding byodkim published.
  if (a.replace(/\s+/g, '') === b.replace(/\s+/g, '')) return true;
  const kb = parsePublicKey(b);
  return kb !== undefined && ka.equals(kb);
}
