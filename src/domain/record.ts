import { parsePublicKey, samePublicKey } from './key.js';

/**
 * The DKIM TXT record (RFC 6376 §3.6): building it, splitting it into DNS
 * character-strings, and reading a served record back the way a verifier would.
 */

/** A DNS character-string holds at most 255 bytes (RFC 1035 §3.3). */
export const TXT_CHUNK_BYTES = 255;

/**
 * The DNS name of a selector's DKIM key record (RFC 6376 §3.6.2.1).
 *
 * @example
 * ```ts
 * import { dkimRecordName } from 'byodkim/core';
 *
 * dkimRecordName('mail-20260101-1', 'example.com'); // 'mail-20260101-1._domainkey.example.com'
 * ```
 */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/**
 * `v=DKIM1; k=rsa; p=<base64 SPKI>`, the value SES expects for a BYODKIM key. Publish it as
 * one TXT record; DNS splits it into 255-byte character-strings, which verifiers join.
 *
 * @example
 * ```ts
 * import { buildDkimRecordValue, generateDkimKey } from 'byodkim/core';
 *
 * const key = await generateDkimKey(2048);
 * buildDkimRecordValue(key.publicKey); // 'v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…'
 * ```
 */
export function buildDkimRecordValue(publicKey: string): string {
  return `v=DKIM1; k=rsa; p=${publicKey}`;
}

/** The value as a revocation: an empty `p=` tells verifiers the key is revoked (RFC 6376 §3.6.1). Emergency rotation publishes it. */
export const REVOKED_RECORD_VALUE = 'v=DKIM1; k=rsa; p=';

/**
 * Splits a TXT value into character-strings of at most 255 bytes each. Verifiers join
 * them with nothing in between (RFC 6376 §3.6.2.2), so `chunks.join('') === value`.
 */
export function splitTxtValue(value: string, maxBytes = TXT_CHUNK_BYTES): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [''];
  const chunks: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // Never cut a UTF-8 sequence in half (DKIM records are ASCII, but be exact anyway).
    while (end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    chunks.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return chunks;
}

/** Quotes a character-string for a zone file: `"` and `\` escaped. */
export function quoteTxtChunk(chunk: string): string {
  return `"${chunk.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Why a served record is unusable, as a stable code (see {@link parseDkimRecord}). */
export type DkimRecordProblem =
  | 'EMPTY'
  | 'MALFORMED_TAG_LIST'
  | 'DUPLICATE_TAG'
  | 'VERSION_NOT_FIRST'
  | 'VERSION_UNSUPPORTED'
  | 'MISSING_P'
  | 'BAD_BASE64'
  | 'NOT_A_PUBLIC_KEY'
  | 'KEY_TYPE_UNKNOWN'
  | 'KEY_TYPE_UNSUPPORTED_BY_SES'
  | 'HASH_EXCLUDES_SHA256'
  | 'SERVICE_NOT_EMAIL';

/** A DKIM key record as a verifier reads it. */
export interface ParsedDkimRecord {
  /** `v=` if present (always `DKIM1` when parsing succeeded). */
  version?: string;
  /** `k=`, default `rsa`. */
  keyType: string;
  /** `p=` with folding whitespace removed; empty when revoked. */
  publicKey: string;
  revoked: boolean;
  /** `h=` hash algorithms, when restricted. */
  hashAlgorithms?: string[];
  /** `t=` flags, e.g. `y` (testing) and `s` (strict). */
  flags: string[];
  testing: boolean;
  serviceTypes: string[];
  /** Every tag as served, including unknown ones (which verifiers ignore). */
  tags: Record<string, string>;
}

/** The result of {@link parseDkimRecord}: the record, or the first problem found (with the record when it parsed that far). */
export type DkimRecordParse =
  | { ok: true; record: ParsedDkimRecord }
  | { ok: false; problem: DkimRecordProblem; message: string; record?: ParsedDkimRecord };

// RFC 6376 §3.2: tag-name = ALPHA *ALNUMPUNC; FWS around names, '=' and values.
const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const WSP = /[ \t\r\n]+/g;

/**
 * Parses a served DKIM key record by RFC 6376 §3.6.1 and §3.2 tag-list rules. `served` is
 * the TXT record's character-strings (joined with nothing in between) or a joined string.
 * Judgements a verifier makes about usability for SES's rsa-sha256 signatures (key type,
 * `h=`, `s=`) are reported as problems with the parsed record attached.
 *
 * @example
 * ```ts
 * import { parseDkimRecord } from 'byodkim/core';
 *
 * const served = ['v=DKIM1; k=rsa; ', 'p='];
 * const parsed = parseDkimRecord(served);
 * if (parsed.ok) console.log(parsed.record.revoked); // true: an empty p= revokes the key
 * else console.log(parsed.problem, parsed.message); // e.g. 'DUPLICATE_TAG'
 * ```
 */
export function parseDkimRecord(served: string | readonly string[]): DkimRecordParse {
  const text = typeof served === 'string' ? served : served.join('');
  if (text.trim() === '') return fail('EMPTY', 'the record is empty');

  const tags: Record<string, string> = {};
  const order: string[] = [];
  const specs = text.split(';');
  // A trailing ';' (optionally followed by whitespace) is allowed.
  if (specs.length > 1 && (specs.at(-1) ?? '').trim() === '') specs.pop();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) return fail('MALFORMED_TAG_LIST', `"${abbreviate(spec.trim())}" is not a tag=value pair`);
    const name = spec.slice(0, eq).trim();
    const value = spec.slice(eq + 1).trim();
    if (!TAG_NAME.test(name))
      return fail('MALFORMED_TAG_LIST', `"${abbreviate(name)}" is not a valid tag name`);
    if (name in tags)
      return fail(
        'DUPLICATE_TAG',
        `tag "${name}" occurs more than once, which makes the whole record invalid`,
      );
    tags[name] = value;
    order.push(name);
  }

  if ('v' in tags) {
    if (order[0] !== 'v') return fail('VERSION_NOT_FIRST', 'v= must be the first tag when present');
    if (tags.v !== 'DKIM1') return fail('VERSION_UNSUPPORTED', `v=${tags.v} is not DKIM1`);
  }
  if (!('p' in tags)) return fail('MISSING_P', 'the record has no p= tag');

  const publicKey = (tags.p ?? '').replace(WSP, '');
  const flags = splitColonList(tags.t);
  const record: ParsedDkimRecord = {
    ...(tags.v !== undefined ? { version: tags.v } : {}),
    keyType: (tags.k ?? 'rsa').toLowerCase(),
    publicKey,
    revoked: publicKey === '',
    ...(tags.h !== undefined ? { hashAlgorithms: splitColonList(tags.h) } : {}),
    flags,
    testing: flags.includes('y'),
    serviceTypes: tags.s === undefined ? ['*'] : splitColonList(tags.s),
    tags,
  };

  if (!record.revoked) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(publicKey) || publicKey.length % 4 !== 0) {
      return fail('BAD_BASE64', 'p= is not valid base64', record);
    }
  }
  if (record.keyType === 'ed25519') {
    return fail(
      'KEY_TYPE_UNSUPPORTED_BY_SES',
      'k=ed25519 is valid DKIM, but SES BYODKIM signs only with RSA',
      record,
    );
  }
  if (record.keyType !== 'rsa')
    return fail('KEY_TYPE_UNKNOWN', `k=${record.keyType} is not a known key type`, record);
  if (!record.revoked && parsePublicKey(publicKey) === undefined) {
    return fail('NOT_A_PUBLIC_KEY', 'p= decodes, but not to an RSA public key', record);
  }
  if (record.hashAlgorithms && !record.hashAlgorithms.map((h) => h.toLowerCase()).includes('sha256')) {
    return fail('HASH_EXCLUDES_SHA256', `h=${tags.h} excludes sha256, which SES signs with`, record);
  }
  if (!record.serviceTypes.some((s) => s === '*' || s.toLowerCase() === 'email')) {
    return fail('SERVICE_NOT_EMAIL', `s=${tags.s} does not cover email`, record);
  }
  return { ok: true, record };
}

/** What a served record says about an expected key: it, another key, a revocation, or nothing usable. */
export type RecordMatch = 'match' | 'other-key' | 'revoked' | 'invalid';

/**
 * Whether a served record publishes `publicKey`, compared as decoded keys, not strings (so a
 * record with folding whitespace in `p=` still matches).
 *
 * @example
 * ```ts
 * import { buildDkimRecordValue, generateDkimKey, matchRecord } from 'byodkim/core';
 *
 * const key = await generateDkimKey(2048);
 * matchRecord(buildDkimRecordValue(key.publicKey), key.publicKey); // 'match'
 * matchRecord('v=DKIM1; k=rsa; p=', key.publicKey); // 'revoked'
 * ```
 */
export function matchRecord(served: string | readonly string[], publicKey: string): RecordMatch {
  const parsed = parseDkimRecord(served);
  if (!parsed.ok) return parsed.record?.revoked ? 'revoked' : 'invalid';
  if (parsed.record.revoked) return 'revoked';
  return samePublicKey(parsed.record.publicKey, publicKey) ? 'match' : 'other-key';
}

function splitColonList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(':')
    .map((part) => part.replace(WSP, ''))
    .filter((part) => part !== '');
}

function abbreviate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function fail(problem: DkimRecordProblem, message: string, record?: ParsedDkimRecord): DkimRecordParse {
  return record ? { ok: false, problem, message, record } : { ok: false, problem, message };
}
