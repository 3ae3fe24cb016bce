/**
 * Reading a served DKIM TXT record the way a mail engineer reads `dig` output: not only
 * "does it hold the key" (record.ts answers that) but *why not* — the SES console's
 * placeholder, a key cut at 255 bytes, chunks pasted with their quotes, a space that a
 * chunk boundary put inside `p=`, an escaped `\;` stored literally, `t=y` left on, or the
 * key split over several TXT records. Pure: the rules read these analyses.
 */
import { type DkimRecordParse, matchRecord, parseDkimRecord, TXT_CHUNK_BYTES } from '../domain/record.js';
import type { LookupAnswer, TxtRecordSeen } from './observation.js';

/** What the SES console's CSV puts where the public key belongs. */
export const SES_CONSOLE_PLACEHOLDER = 'customerProvidedPublicKey';

export interface BoundaryDefect {
  /** Between `strings[index]` and `strings[index + 1]`. */
  index: number;
  /** Byte offset of the boundary in the joined value. */
  offset: number;
  what: 'whitespace' | 'quote';
}

export interface DkimValueAnalysis {
  record: TxtRecordSeen;
  /** The character-strings joined with nothing between them (RFC 6376 §3.6.2.2). */
  value: string;
  parse: DkimRecordParse;
  /** `p=` as served, trimmed, before whitespace is folded; undefined with no `p=` tag. */
  rawKey: string | undefined;
  placeholder: boolean;
  revoked: boolean;
  /** `t=y`: receivers may treat failures as if unsigned (RFC 6376 §3.6.1). */
  testing: boolean;
  /** `"` not explained by a bad chunk boundary or pasted chunks. */
  strayQuotes: number;
  backslashes: number;
  /** Whitespace or a quote at a character-string boundary, inside `p=`. */
  boundaryDefects: BoundaryDefect[];
  /** Chunks pasted into one string with their quotes: `…" "…` inside `p=`. */
  pastedChunks: boolean;
  /** The key was cut short: at `length` bytes (the 255-byte limit of one character-string, or a prefix of the key). */
  truncated: { length: number; expectedLength?: number } | undefined;
  /** The record holds a usable key (after RFC folding of whitespace). */
  usableKey: boolean;
  /** undefined when no key is expected. */
  matchesExpected: boolean | undefined;
}

export interface AnswerAnalysis {
  /** TXT records that claim to be DKIM key records. */
  dkim: DkimValueAnalysis[];
  /** Other TXT records at the name. */
  others: TxtRecordSeen[];
  /** The key record was published as several TXT records that only hold the key when joined. */
  splitAcrossRecords: boolean;
}

/** A TXT value that claims to be a DKIM key record, read leniently (stray quotes and `\;` included). */
export function claimsDkim(value: string): boolean {
  return /v\s*=\s*DKIM1/i.test(value) || /(^|[;"\\\s])p\s*=/.test(value);
}

/** Tags read leniently: `name=value` split at `;`, names lower-cased; the first occurrence wins. */
export function lenientTags(value: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const spec of value.split(';')) {
    const eq = spec.indexOf('=');
    if (eq < 0) continue;
    const name = spec
      .slice(0, eq)
      .replace(/["\\\s]/g, '')
      .toLowerCase();
    if (name !== '' && !(name in tags)) tags[name] = spec.slice(eq + 1).trim();
  }
  return tags;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Analyses one TXT record served at a DKIM name against the key that should be there.
 *
 * @example
 * ```ts
 * analyzeDkimValue({ strings: ['v=DKIM1; k=rsa; p=customerProvidedPublicKey'], ttl: 300 }, key).placeholder; // true
 * ```
 */
export function analyzeDkimValue(record: TxtRecordSeen, expectedKey: string | undefined): DkimValueAnalysis {
  const value = record.strings.join('');
  const parse = parseDkimRecord(value);
  const tags = lenientTags(value);
  const rawKey = tags.p;
  const pStart = keyStart(value);

  const boundaryDefects: BoundaryDefect[] = [];
  let offset = 0;
  for (let index = 0; index + 1 < record.strings.length; index++) {
    const left = record.strings[index] ?? '';
    const right = record.strings[index + 1] ?? '';
    offset += byteLength(left);
    if (pStart === undefined || offset <= pStart) continue;
    if (/["]$/.test(left) || /^["]/.test(right)) boundaryDefects.push({ index, offset, what: 'quote' });
    else if (/\s$/.test(left) || /^\s/.test(right))
      boundaryDefects.push({ index, offset, what: 'whitespace' });
  }

  const keyPart = pStart === undefined ? '' : value.slice(pStart);
  const pastedChunks = /[^\s"]"\s*"[^\s"]/.test(keyPart);
  const quotes = (value.match(/"/g) ?? []).length;
  const explainedQuotes =
    boundaryDefects.filter((d) => d.what === 'quote').length +
    (pastedChunks ? (keyPart.match(/[^\s"]"\s*"(?=[^\s"])/g) ?? []).length * 2 : 0);
  const strayQuotes = Math.max(0, quotes - explainedQuotes);
  const backslashes = (value.match(/\\/g) ?? []).length;

  const folded = rawKey?.replace(/\s+/g, '');
  const placeholder = rawKey !== undefined && rawKey.replace(/["\\\s]/g, '') === SES_CONSOLE_PLACEHOLDER;
  const revoked = rawKey !== undefined && folded === '';
  const usableKey = parse.ok && !parse.record.revoked;
  const matchesExpected = expectedKey === undefined ? undefined : matchRecord(value, expectedKey) === 'match';

  let truncated: DkimValueAnalysis['truncated'];
  if (folded !== undefined && folded !== '' && !placeholder && matchesExpected !== true) {
    const expected = expectedKey?.replace(/\s+/g, '');
    if (expected !== undefined && folded.length < expected.length && expected.startsWith(folded)) {
      truncated = {
        length: byteLength(value),
        expectedLength: byteLength(value) + expected.length - folded.length,
      };
    } else if (
      !usableKey &&
      record.strings.length >= 1 &&
      byteLength(record.strings.at(-1) ?? '') === TXT_CHUNK_BYTES
    ) {
      truncated = { length: byteLength(value) };
    }
  }

  return {
    record,
    value,
    parse,
    rawKey,
    placeholder,
    revoked,
    testing: (tags.t ?? '')
      .split(':')
      .map((f) => f.replace(/["\\\s]/g, '').toLowerCase())
      .includes('y'),
    strayQuotes,
    backslashes,
    boundaryDefects,
    pastedChunks,
    truncated,
    usableKey,
    matchesExpected,
  };
}

/** Where `p=`'s value starts in the joined value (byte offset), if there is a `p=` tag. */
function keyStart(value: string): number | undefined {
  const match = /(^|[;"\\\s])p\s*=/.exec(value);
  if (match === null) return undefined;
  return byteLength(value.slice(0, match.index + match[0].length));
}

/** Most orderings tried when looking for a key split over several TXT records. */
const MAX_PERMUTED_RECORDS = 6;

/**
 * Analyses everything one nameserver served at a DKIM name.
 *
 * @example
 * ```ts
 * const analysis = analyzeAnswer(answer, state.activeKey.publicKey);
 * if (analysis.dkim.length > 1) ...
 * ```
 */
export function analyzeAnswer(answer: LookupAnswer, expectedKey: string | undefined): AnswerAnalysis {
  const dkimRecords = answer.txt.filter((r) => claimsDkim(r.strings.join('')));
  const others = answer.txt.filter((r) => !claimsDkim(r.strings.join('')));
  return {
    dkim: dkimRecords.map((r) => analyzeDkimValue(r, expectedKey)),
    others,
    splitAcrossRecords: isSplitAcrossRecords(answer.txt, expectedKey),
  };
}

/**
 * True when no single record holds the key but the records, joined in some order (the
 * one starting with `v=` first), do: someone published each 255-byte chunk as its own TXT
 * record instead of as character-strings of one record.
 */
function isSplitAcrossRecords(records: readonly TxtRecordSeen[], expectedKey: string | undefined): boolean {
  if (records.length < 2 || records.length > MAX_PERMUTED_RECORDS) return false;
  const values = records.map((r) => r.strings.join(''));
  const holdsKey = (value: string): boolean =>
    expectedKey === undefined
      ? (() => {
          const parsed = parseDkimRecord(value);
          return parsed.ok && !parsed.record.revoked;
        })()
      : matchRecord(value, expectedKey) === 'match';
  if (values.some(holdsKey)) return false;
  const heads = values.filter((v) => /^\s*v\s*=\s*DKIM1/i.test(v) || /^\s*p\s*=/.test(v));
  if (heads.length !== 1) return false;
  const head = heads[0] as string;
  const rest = values.filter((v) => v !== head);
  for (const order of permutations(rest)) {
    if (holdsKey([head, ...order].join(''))) return true;
  }
  return false;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}

/** `"v=DKIM1; k=rsa; p=MIIB…XYZ"` shortened for messages. */
export function abbreviateValue(value: string, max = 60): string {
  if (value.length <= max) return JSON.stringify(value);
  const half = Math.floor((max - 1) / 2);
  return JSON.stringify(`${value.slice(0, half)}…${value.slice(-half)}`);
}

/** `"a" "b"`: the character-strings as a zone file would quote them, shortened. */
export function describeStrings(strings: readonly string[], max = 60): string {
  return strings.map((s) => abbreviateValue(s, max)).join(' ');
}
