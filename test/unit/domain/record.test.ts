import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DkimPrivateKey } from '../../../src/domain/key.js';
import {
  buildDkimRecordValue,
  dkimRecordName,
  matchRecord,
  parseDkimRecord,
  quoteTxtChunk,
  splitTxtValue,
} from '../../../src/domain/record.js';
import { testKey } from '../../support/keys.js';

let key: DkimPrivateKey;
let p: string;
beforeAll(async () => {
  key = await testKey('record');
  p = key.publicKey;
});

describe('building the record', () => {
  it('names it <selector>._domainkey.<domain> and writes v, k and p', () => {
    expect(dkimRecordName('gooid-21-pro-20250917-3', 'goo.ne.jp')).toBe(
      'gooid-21-pro-20250917-3._domainkey.goo.ne.jp',
    );
    expect(buildDkimRecordValue(p)).toBe(`v=DKIM1; k=rsa; p=${p}`);
  });

  it('splits a 2048-bit record into chunks of at most 255 bytes that join back exactly', () => {
    const value = buildDkimRecordValue(p);
    const chunks = splitTxtValue(value);
    expect(value.length).toBeGreaterThan(255);
    expect(chunks.length).toBe(Math.ceil(value.length / 255));
    for (const chunk of chunks) expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(255);
    expect(chunks.join('')).toBe(value);
  });

  it('quotes chunks for zone files, escaping quotes and backslashes', () => {
    expect(quoteTxtChunk('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('parsing a served record (RFC 6376 §3.6.1)', () => {
  const cases: Array<[string, () => string | string[], (r: ReturnType<typeof parseDkimRecord>) => void]> = [
    ['the canonical form', () => `v=DKIM1; k=rsa; p=${p}`, (r) => expect(r.ok && r.record.publicKey).toBe(p)],
    [
      'several character-strings joined with nothing between',
      () => splitTxtValue(`v=DKIM1; k=rsa; p=${p}`),
      (r) => expect(r.ok && r.record.publicKey).toBe(p),
    ],
    [
      'folding whitespace around tags and inside p=',
      () => ` v = DKIM1 ;\tk=rsa;\r\n p=${p.slice(0, 100)} \r\n\t${p.slice(100)} `,
      (r) => expect(r.ok && r.record.publicKey).toBe(p),
    ],
    ['a missing v= (optional)', () => `k=rsa; p=${p}`, (r) => expect(r.ok).toBe(true)],
    [
      'a missing k= (defaults to rsa)',
      () => `v=DKIM1; p=${p}`,
      (r) => expect(r.ok && r.record.keyType).toBe('rsa'),
    ],
    ['a trailing semicolon', () => `v=DKIM1; p=${p};`, (r) => expect(r.ok).toBe(true)],
    [
      'unknown tags (ignored)',
      () => `v=DKIM1; k=rsa; x_foo=bar; n=notes here; p=${p}`,
      (r) => expect(r.ok && r.record.tags.x_foo).toBe('bar'),
    ],
    ['an empty p= (revoked)', () => 'v=DKIM1; k=rsa; p=', (r) => expect(r.ok && r.record.revoked).toBe(true)],
    [
      't=y (testing) and t=s flags',
      () => `v=DKIM1; t=y:s; p=${p}`,
      (r) => expect(r.ok && [r.record.testing, r.record.flags]).toEqual([true, ['y', 's']]),
    ],
    [
      'h=sha256 (allowed)',
      () => `v=DKIM1; h=sha1:sha256; p=${p}`,
      (r) => expect(r.ok && r.record.hashAlgorithms).toEqual(['sha1', 'sha256']),
    ],
    ['s=email (allowed)', () => `v=DKIM1; s=email; p=${p}`, (r) => expect(r.ok).toBe(true)],
    [
      'v= not first',
      () => `k=rsa; v=DKIM1; p=${p}`,
      (r) => expect(!r.ok && r.problem).toBe('VERSION_NOT_FIRST'),
    ],
    ['v=DKIM2', () => `v=DKIM2; p=${p}`, (r) => expect(!r.ok && r.problem).toBe('VERSION_UNSUPPORTED')],
    ['no p= at all', () => 'v=DKIM1; k=rsa', (r) => expect(!r.ok && r.problem).toBe('MISSING_P')],
    [
      'bad base64 in p=',
      () => 'v=DKIM1; k=rsa; p=MIIB!!notbase64',
      (r) => expect(!r.ok && r.problem).toBe('BAD_BASE64'),
    ],
    [
      'base64 that is not a key',
      () => `v=DKIM1; k=rsa; p=${Buffer.from('hello world, not a key').toString('base64')}`,
      (r) => expect(!r.ok && r.problem).toBe('NOT_A_PUBLIC_KEY'),
    ],
    [
      'k=ed25519 (valid DKIM, unsupported by SES)',
      () => `v=DKIM1; k=ed25519; p=${Buffer.alloc(32, 7).toString('base64')}`,
      (r) => expect(!r.ok && r.problem).toBe('KEY_TYPE_UNSUPPORTED_BY_SES'),
    ],
    [
      'an unknown key type',
      () => `v=DKIM1; k=dsa; p=${p}`,
      (r) => expect(!r.ok && r.problem).toBe('KEY_TYPE_UNKNOWN'),
    ],
    [
      'a duplicate tag',
      () => `v=DKIM1; p=${p}; p=${p}`,
      (r) => expect(!r.ok && r.problem).toBe('DUPLICATE_TAG'),
    ],
    [
      'a tag without =',
      () => `v=DKIM1; rsa; p=${p}`,
      (r) => expect(!r.ok && r.problem).toBe('MALFORMED_TAG_LIST'),
    ],
    [
      'h= without sha256',
      () => `v=DKIM1; h=sha1; p=${p}`,
      (r) => expect(!r.ok && r.problem).toBe('HASH_EXCLUDES_SHA256'),
    ],
    [
      's= that excludes email',
      () => `v=DKIM1; s=tlsrpt; p=${p}`,
      (r) => expect(!r.ok && r.problem).toBe('SERVICE_NOT_EMAIL'),
    ],
    ['an empty record', () => '  ', (r) => expect(!r.ok && r.problem).toBe('EMPTY')],
    [
      'the SES console placeholder',
      () => 'v=DKIM1; k=rsa; p=customerProvidedPublicKey',
      (r) => expect(!r.ok && r.problem).toBe('BAD_BASE64'),
    ],
    [
      'a truncated key (cut at 255 characters)',
      () => `v=DKIM1; k=rsa; p=${p}`.slice(0, 255),
      (r) => expect(!r.ok && ['BAD_BASE64', 'NOT_A_PUBLIC_KEY']).toContain(r.ok ? '' : r.problem),
    ],
  ];

  it.each(cases)('handles %s', (_, served, check) => {
    check(parseDkimRecord(served()));
  });

  it('has at least 15 variants', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });
});

describe('matching a served record to a key', () => {
  it('matches by decoded key, so a PKCS#1 p= or a folded value still matches', () => {
    const pkcs1 = createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' })
      .export({ type: 'pkcs1', format: 'der' })
      .toString('base64');
    expect(matchRecord(`p=${pkcs1}`, p)).toBe('match');
    expect(matchRecord(['v=DKIM1; k=rsa; p=', p], p)).toBe('match');
  });

  it('tells other keys, revocation and garbage apart', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(matchRecord(buildDkimRecordValue(other), p)).toBe('other-key');
    expect(matchRecord('v=DKIM1; p=', p)).toBe('revoked');
    expect(matchRecord('v=spf1 -all', p)).toBe('invalid');
  });
});
