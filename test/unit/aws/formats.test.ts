import { describe, expect, it } from 'vitest';
import { decodeRoute53Txt, encodeRoute53Txt } from '../../../src/adapters/aws/route53.js';
import { parseS3Location } from '../../../src/adapters/aws/s3-vault.js';
import { successorVersion } from '../../../src/adapters/aws/secret-cas.js';
import { seedConfigOf, seedKeyOf, withSeedFields } from '../../../src/adapters/aws/secrets-manager-state.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import { type DomainState, emptyDomainState, type KeyEntry } from '../../../src/domain/state.js';
import { InputError } from '../../../src/errors.js';
import { testKey } from '../../support/keys.js';

describe('Route 53 TXT encoding', () => {
  it('splits a 2048-bit DKIM record into quoted <=255-byte strings that decode to the same value', async () => {
    const value = buildDkimRecordValue((await testKey('fmt-2048', 2048)).publicKey);
    const encoded = encodeRoute53Txt(value);
    const strings = encoded.match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(strings.join(' ')).toBe(encoded);
    expect(strings.length).toBe(Math.ceil(Buffer.byteLength(value) / 255));
    for (const s of strings) expect(Buffer.byteLength(s.slice(1, -1))).toBeLessThanOrEqual(255);
    expect(decodeRoute53Txt(encoded)).toBe(value);
  });

  it.each([
    ['quotes and backslashes', 'say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'],
    ['empty', '', '""'],
    ['control and non-ASCII bytes as octal', 'a\tb\u00e9', '"a\\011b\\303\\251"'],
  ])('escapes %s', (_, value, encoded) => {
    expect(encodeRoute53Txt(value)).toBe(encoded);
    expect(decodeRoute53Txt(encoded)).toBe(value);
  });

  it('reads values written by others: several strings, unquoted, escaped', () => {
    expect(decodeRoute53Txt('"v=DKIM1; " "p=abc"')).toBe('v=DKIM1; p=abc');
    expect(decodeRoute53Txt('plain')).toBe('plain');
    expect(decodeRoute53Txt('"a\\"b"')).toBe('a"b');
  });
});

describe('S3 locations', () => {
  it('parses s3:// URIs and bare keys in a default bucket', () => {
    expect(parseS3Location('s3://b/dkim-keys/x/s/private_key.pem')).toEqual({
      bucket: 'b',
      key: 'dkim-keys/x/s/private_key.pem',
    });
    expect(parseS3Location('/dkim-keys/x.pem', 'b')).toEqual({ bucket: 'b', key: 'dkim-keys/x.pem' });
    expect(() => parseS3Location('dkim-keys/x.pem')).toThrow(InputError);
    expect(() => parseS3Location('https://b/x', 'b')).toThrow(InputError);
  });
});

describe('Secrets Manager version chain', () => {
  it('derives a UUID-shaped successor id from the secret and the base version, deterministically', () => {
    const a = successorVersion('byodkim/example.com', 'v1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(successorVersion('byodkim/example.com', 'v1')).toBe(a);
    expect(successorVersion('byodkim/example.com', 'v2')).not.toBe(a);
    expect(successorVersion('byodkim/example.org', 'v1')).not.toBe(a);
    expect(successorVersion('byodkim/example.com', undefined)).not.toBe(a);
  });
});

function key(selector: string, status: KeyEntry['status'], createdAt: string): KeyEntry {
  return {
    selector,
    bits: 2048,
    publicKey: `PK${selector}`,
    vaultRef: `s3://bucket/dkim-keys/example.com/${selector}/private_key.pem`,
    origin: 'generated',
    createdAt,
    notAfter: createdAt.replace('2026', '2027'),
    status,
    statusSince: createdAt,
  };
}

describe('seed-compatible secret JSON', () => {
  it('describes the active key, else the newest one in flight, else the newest', () => {
    const state = (keys: KeyEntry[]): DomainState => ({ ...emptyDomainState('example.com'), keys });
    const old = key('old', 'retired', '2026-01-01T00:00:00Z');
    const active = key('act', 'active', '2026-02-01T00:00:00Z');
    const staged = key('stg', 'staged', '2026-03-01T00:00:00Z');
    const published = key('pub', 'published', '2026-04-01T00:00:00Z');
    expect(seedKeyOf(state([old, staged, active]))?.selector).toBe('act');
    expect(seedKeyOf(state([old, published, staged]))?.selector).toBe('pub');
    expect(seedKeyOf(state([old, key('old2', 'failed', '2026-05-01T00:00:00Z')]))?.selector).toBe('old2');
    expect(seedKeyOf(state([]))).toBeUndefined();
  });

  it('keeps the seed fields it does not own and the style of s3_key_path, and updates expiry aliases', () => {
    const existing = {
      domain: 'example.com',
      selector: 'seed-1',
      dns_record: { name: 'x', type: 'TXT', value: 'old', ttl: 300 },
      s3_key_path: 'dkim-keys/example.com/seed-1/private_key.pem',
      expiry_date: '2025-01-01',
      certificate_validity_days: 365,
    };
    const state = {
      ...emptyDomainState('example.com'),
      keys: [key('new-1', 'active', '2026-02-01T00:00:00Z')],
    };
    const out = withSeedFields(existing, state, new Date('2026-02-02T00:00:00Z'));
    expect(out).toEqual({
      domain: 'example.com',
      selector: 'new-1',
      dns_record: {
        name: 'new-1._domainkey.example.com',
        type: 'TXT',
        value: 'v=DKIM1; k=rsa; p=PKnew-1',
        ttl: 300,
      },
      s3_key_path: 'dkim-keys/example.com/new-1/private_key.pem',
      created_at: '2026-02-01T00:00:00Z',
      expires_at: '2027-02-01T00:00:00Z',
      expiry_date: '2027-02-01T00:00:00Z',
      certificate_validity_days: 365,
      updated_at: '2026-02-02T00:00:00.000Z',
      byodkim: state,
    });
    expect(withSeedFields({}, state, new Date()).s3_key_path).toBe(
      's3://bucket/dkim-keys/example.com/new-1/private_key.pem',
    );
    // With no key yet, the seed's own fields stay as they were.
    const bare = withSeedFields(existing, emptyDomainState('example.com'), new Date(0));
    expect(bare.selector).toBe('seed-1');
    expect(bare.s3_key_path).toBe(existing.s3_key_path);
  });

  it('reads seed fields leniently, by any of the names seen for expiry and creation', () => {
    const seed = seedConfigOf(
      {
        domain: 'goo.ne.jp',
        selector: 'gooid-21-pro-20250917-3',
        dns_record: { value: 'v=DKIM1; k=rsa; p=abc', extra: 1 },
        s3_key_path: 's3://b/k',
        creation_date: '2025-09-17',
        expiration_date: '2026-09-17',
        selectors: ['a', 'b'],
        notes: 'x',
        bogus: 42,
      },
      'aws-ses-migration/prod/dkim-config',
      'v1',
    );
    expect(seed).toEqual({
      secretName: 'aws-ses-migration/prod/dkim-config',
      versionId: 'v1',
      domain: 'goo.ne.jp',
      selector: 'gooid-21-pro-20250917-3',
      dnsRecord: { value: 'v=DKIM1; k=rsa; p=abc' },
      s3KeyPath: 's3://b/k',
      createdAt: '2025-09-17',
      expiresAt: '2026-09-17',
      hasByodkimState: false,
      otherFields: ['bogus', 'notes', 'selectors'],
    });
    expect(seedConfigOf({ selector: 5 }, 'n', 'v').selector).toBeUndefined();
  });
});
