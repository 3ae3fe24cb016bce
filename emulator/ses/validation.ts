/**
 * Input rules SES v2 applies to identities and BYODKIM signing attributes (SPEC.md §2).
 * Messages name the field and the rule so an operator can fix the call, and never contain
 * private key material (they may contain selectors and identity names).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { badRequest } from './errors.js';

// Patterns and lengths from the API reference (API_DkimSigningAttributes).
const SELECTOR_PATTERN = /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))$/;
const SELECTOR_MAX = 63;
const PRIVATE_KEY_PATTERN = /^[a-zA-Z0-9+/]+={0,2}$/;
const PRIVATE_KEY_MAX = 20480;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export type KeyLength = 'RSA_1024_BIT' | 'RSA_2048_BIT';
export const KEY_LENGTHS: readonly KeyLength[] = ['RSA_1024_BIT', 'RSA_2048_BIT'];

/** A private key SES holds for BYODKIM, with its public half in SPKI DER form for comparison. */
export interface HeldKey {
  readonly privateKey: KeyObject;
  readonly publicKeySpkiDer: Buffer;
  readonly bits: 1024 | 2048;
}

export interface IdentityName {
  readonly type: 'DOMAIN' | 'EMAIL_ADDRESS';
  /** Lower-case lookup key. */
  readonly key: string;
  /** The domain part (the whole name for a domain), lower case. */
  readonly domain: string;
}

export function parseIdentityName(value: unknown, field = 'EmailIdentity'): IdentityName {
  if (typeof value !== 'string' || value.length === 0) {
    throw badRequest(`${field} is required and must be a non-empty string.`);
  }
  if (value.length > 320) throw badRequest(`${field} must be at most 320 characters.`);
  const key = value.toLowerCase();
  const at = key.lastIndexOf('@');
  if (at >= 0) {
    const local = key.slice(0, at);
    const domain = key.slice(at + 1);
    if (local.length === 0 || local.length > 64 || /\s/.test(local) || !isDomainName(domain)) {
      throw badRequest(`Invalid email address <${value}>.`);
    }
    return { type: 'EMAIL_ADDRESS', key, domain };
  }
  if (!isDomainName(key)) throw badRequest(`Invalid domain name <${value}>.`);
  return { type: 'DOMAIN', key, domain: key };
}

function isDomainName(name: string): boolean {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed.length === 0 || trimmed.length > 253) return false;
  const labels = trimmed.split('.');
  return labels.length >= 2 && labels.every((label) => DOMAIN_LABEL.test(label));
}

export function validateSelector(value: unknown): string {
  const field = 'DomainSigningSelector';
  if (typeof value !== 'string' || value.length === 0) {
    throw badRequest(`${field} is required for SigningAttributesOrigin EXTERNAL.`);
  }
  if (value.length > SELECTOR_MAX) {
    throw badRequest(
      `${field} must be at most ${SELECTOR_MAX} characters (got ${value.length}): it is one DNS label.`,
    );
  }
  if (!SELECTOR_PATTERN.test(value)) {
    throw badRequest(
      `${field} <${value}> failed to satisfy constraint: Member must satisfy regular expression pattern: ` +
        `${SELECTOR_PATTERN.source} (letters, digits and inner hyphens only).`,
    );
  }
  return value;
}

export type KeyFormat = 'PKCS1' | 'PKCS8' | 'UNKNOWN';

/** What SES made of a `DomainSigningPrivateKey` that passed the API's pattern (SPEC.md §4). */
export type KeyReading =
  | { readonly usable: true; readonly format: 'PKCS1' | 'PKCS8'; readonly key: HeldKey }
  | {
      readonly usable: false;
      readonly format: KeyFormat;
      readonly keyType: string | undefined;
      readonly bits: number | undefined;
      /** Why SES cannot use it; names rules, never key material. */
      readonly problem: string;
    };

/**
 * The API constraints on `DomainSigningPrivateKey` (required, length, base64 pattern): a
 * violation is always a BadRequestException, whatever the emulator's key knobs say.
 */
export function checkPrivateKeyEncoding(value: unknown): string {
  const field = 'DomainSigningPrivateKey';
  if (typeof value !== 'string' || value.length === 0) {
    throw badRequest(`${field} is required for SigningAttributesOrigin EXTERNAL.`);
  }
  if (value.length > PRIVATE_KEY_MAX) {
    throw badRequest(`${field} must be at most ${PRIVATE_KEY_MAX} characters (got ${value.length}).`);
  }
  if (!PRIVATE_KEY_PATTERN.test(value)) {
    const hint = value.includes('-----BEGIN')
      ? ' It looks like PEM: send only the base64 body, without the BEGIN/END lines.'
      : /\s/.test(value)
        ? ' It contains whitespace or line breaks: send the base64 on one line.'
        : '';
    throw badRequest(
      `${field} failed to satisfy constraint: Member must satisfy regular expression pattern: ` +
        `${PRIVATE_KEY_PATTERN.source}.${hint}`,
    );
  }
  return value;
}

/**
 * Reads a pattern-valid `DomainSigningPrivateKey`: base64 of a DER private key in PKCS #1 or
 * PKCS #8 (`pkcs1-only`: PKCS #1), RSA, exactly 1024 or 2048 bits.
 */
export function readPrivateKey(base64: string, formats: 'pkcs1-or-pkcs8' | 'pkcs1-only'): KeyReading {
  const field = 'DomainSigningPrivateKey';
  const der = Buffer.from(base64, 'base64');
  const parsed = readDerPrivateKey(der);
  if (parsed === undefined) {
    return unusable(
      'UNKNOWN',
      undefined,
      undefined,
      `${field} is not a base64-encoded DER private key in PKCS #1 or PKCS #8 format.`,
    );
  }
  const { format, privateKey } = parsed;
  const keyType = privateKey.asymmetricKeyType;
  const bits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (format === 'PKCS8' && formats === 'pkcs1-only') {
    return unusable(format, keyType, bits, `${field} is PKCS #8; SES takes PKCS #1 (RSAPrivateKey) only.`);
  }
  if (keyType !== 'rsa') {
    return unusable(
      format,
      keyType,
      bits,
      `${field} must be an RSA key; got a key of type ${keyType ?? 'unknown'}.`,
    );
  }
  if (bits !== 1024 && bits !== 2048) {
    return unusable(
      format,
      keyType,
      bits,
      `${field} must be a 1024-bit or 2048-bit RSA key; got ${bits ?? 'an unknown'} bits.`,
    );
  }
  const publicKeySpkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { usable: true, format, key: { privateKey, publicKeySpkiDer, bits } };
}

function unusable(
  format: KeyFormat,
  keyType: string | undefined,
  bits: number | undefined,
  problem: string,
): KeyReading {
  return { usable: false, format, keyType, bits, problem };
}

function readDerPrivateKey(der: Buffer): { format: 'PKCS1' | 'PKCS8'; privateKey: KeyObject } | undefined {
  // The two encodings are distinct ASN.1 structures: a DER parses as at most one of them.
  for (const [type, format] of [
    ['pkcs8', 'PKCS8'],
    ['pkcs1', 'PKCS1'],
  ] as const) {
    try {
      return { format, privateKey: createPrivateKey({ key: der, format: 'der', type }) };
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

export function parseKeyLength(value: unknown): KeyLength | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && (KEY_LENGTHS as readonly string[]).includes(value)) {
    return value as KeyLength;
  }
  throw badRequest(`NextSigningKeyLength must be one of ${KEY_LENGTHS.join(', ')}.`);
}
