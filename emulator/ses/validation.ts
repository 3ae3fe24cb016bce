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

/**
 * Reads `DomainSigningPrivateKey`: base64 (no PEM armour, no line breaks) of a DER private
 * key in PKCS #8 or PKCS #1, RSA, exactly 1024 or 2048 bits.
 */
export function parsePrivateKey(value: unknown): HeldKey {
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
  const der = Buffer.from(value, 'base64');
  const privateKey = readDerPrivateKey(der);
  if (!privateKey) {
    throw badRequest(`${field} is not a base64-encoded DER private key in PKCS #1 or PKCS #8 format.`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw badRequest(
      `${field} must be an RSA key; got a key of type ${privateKey.asymmetricKeyType ?? 'unknown'}.`,
    );
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (bits !== 1024 && bits !== 2048) {
    throw badRequest(`${field} must be a 1024-bit or 2048-bit RSA key; got ${bits ?? 'an unknown'} bits.`);
  }
  const publicKeySpkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKeySpkiDer, bits };
}

function readDerPrivateKey(der: Buffer): KeyObject | undefined {
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
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
