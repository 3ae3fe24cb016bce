/** The doctor's pure readers: DKIM value analysis, DMARC parsing, expected records. */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeDkimValue, claimsDkim, lenientTags } from '../../../src/doctor/dkim-value.js';
import { describePolicy, parseDmarc } from '../../../src/doctor/dmarc.js';
import { expectedRecords } from '../../../src/doctor/expectations.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import { testKey } from '../../support/keys.js';
import { DOMAIN, domainState, keyEntry, sesView, txt } from './support.js';

let A: string;
let B: string;

beforeAll(async () => {
  A = (await testKey('doctor-parsing-a')).publicKey;
  B = (await testKey('doctor-parsing-b')).publicKey;
});

describe('analyzeDkimValue', () => {
  it('accepts a well-split record as is', () => {
    const a = analyzeDkimValue(txt(buildDkimRecordValue(A)), A);
    expect(a).toMatchObject({
      matchesExpected: true,
      usableKey: true,
      placeholder: false,
      truncated: undefined,
      strayQuotes: 0,
      backslashes: 0,
      boundaryDefects: [],
      pastedChunks: false,
      testing: false,
    });
  });

  it('explains the quotes of pasted chunks, so they are not also stray quotes', () => {
    const a = analyzeDkimValue(
      txt([`v=DKIM1; k=rsa; p=${A.slice(0, 100)}" "${A.slice(100, 200)}`, A.slice(200)]),
      A,
    );
    expect(a.pastedChunks).toBe(true);
    expect(a.strayQuotes).toBe(0);
    const quoted = analyzeDkimValue(txt(`"v=DKIM1; k=rsa; p=${A.slice(0, 100)}" "${A.slice(100)}"`), A);
    expect(quoted.pastedChunks).toBe(true);
    expect(quoted.strayQuotes).toBe(2);
  });

  it('only looks for boundary defects inside p=', () => {
    expect(analyzeDkimValue(txt(['v=DKIM1; ', `k=rsa; p=${A}`]), A).boundaryDefects).toEqual([]);
    const spaced = analyzeDkimValue(txt([`v=DKIM1; k=rsa; p=${A.slice(0, 100)}`, ` ${A.slice(100)}`]), A);
    expect(spaced.boundaryDefects).toEqual([{ index: 0, offset: 118, what: 'whitespace' }]);
    expect(spaced.matchesExpected).toBe(true);
  });

  it('sees truncation at 255 bytes even without an expected key, and as a prefix with one', () => {
    const value = buildDkimRecordValue(A);
    expect(analyzeDkimValue(txt([value.slice(0, 255)]), undefined).truncated).toEqual({ length: 255 });
    expect(analyzeDkimValue(txt(value.slice(0, 300)), A).truncated).toEqual({
      length: 300,
      expectedLength: value.length,
    });
    // Another key is not a truncated one.
    expect(analyzeDkimValue(txt(buildDkimRecordValue(B)), A).truncated).toBeUndefined();
  });

  it('reads tags leniently through escapes and quotes', () => {
    expect(lenientTags('v=DKIM1\\; t=y\\; p=abc')).toMatchObject({ v: 'DKIM1\\', t: 'y\\', p: 'abc' });
    expect(analyzeDkimValue(txt(`v=DKIM1\\; k=rsa\\; t=y\\; p=${A}`), A).testing).toBe(true);
    expect(claimsDkim('"v=DKIM1; p=x"')).toBe(true);
    expect(claimsDkim('v=spf1 include:amazonses.com -all')).toBe(false);
  });
});

describe('parseDmarc', () => {
  it('reads p, sp, pct and the alignment modes with their defaults', () => {
    const parsed = parseDmarc('v=DMARC1; p=Reject; SP=none; rua=mailto:r@example.com;');
    expect(parsed.ok && parsed.policy).toMatchObject({
      p: 'reject',
      sp: 'none',
      pct: 100,
      adkim: 'r',
      aspf: 'r',
      rua: 'mailto:r@example.com',
    });
    expect(parsed.ok && describePolicy(parsed.policy)).toBe('p=reject sp=none pct=100 adkim=r aspf=r');
  });

  it.each([
    ['p=reject; v=DMARC1', 'NOT_FIRST'],
    ['v=dmarc1; p=reject', 'NOT_FIRST'],
    ['v=DMARC1; reject', 'MALFORMED_TAG_LIST'],
    ['v=DMARC1; rua=mailto:x@example.com', 'MISSING_P'],
    ['v=DMARC1; p=block', 'BAD_P'],
    ['v=DMARC1; p=none; sp=all', 'BAD_SP'],
    ['v=DMARC1; p=none; pct=101', 'BAD_PCT'],
    ['v=DMARC1; p=none; pct=half', 'BAD_PCT'],
    ['v=DMARC1; p=none; adkim=strict', 'BAD_ADKIM'],
    ['v=DMARC1; p=none; aspf=x', 'BAD_ASPF'],
  ])('%s → %s', (record, problem) => {
    const parsed = parseDmarc(record);
    expect(parsed.ok ? 'ok' : parsed.problem).toBe(problem);
  });
});

describe('expectedRecords', () => {
  it('gives each key that should be in DNS its role, and adds what SES holds', () => {
    const state = domainState([
      keyEntry('old-1', B, 'retiring', { retiringSince: '2026-02-01T00:00:00.000Z' }),
      keyEntry('gone-0', B, 'retiring', { removalRequestedAt: '2026-02-10T00:00:00.000Z' }),
      keyEntry('cur-2', A, 'active'),
      keyEntry('next-3', B, 'verified'),
      keyEntry('new-4', B, 'published'),
      keyEntry('staged-5', B, 'staged'),
      keyEntry('dead-6', B, 'retired'),
    ]);
    const records = expectedRecords(DOMAIN, state, {
      'us-east-1': { ok: true, view: sesView({ tokens: ['cur-2'] }) },
      'eu-west-1': { ok: true, view: sesView({ tokens: ['hand-9'] }) },
      'ap-northeast-1': { ok: false, error: 'throttled' },
    });
    expect(
      records.map((r) => [r.selector, r.role, r.publicKey === undefined ? '-' : 'key', r.sesRegions]),
    ).toEqual([
      ['cur-2', 'active', 'key', ['us-east-1']],
      ['hand-9', 'ses', '-', ['eu-west-1']],
      ['next-3', 'standby', 'key', []],
      ['new-4', 'pending', 'key', []],
      ['staged-5', 'pending', 'key', []],
      ['old-1', 'retiring', 'key', []],
    ]);
    expect(records[0]?.name).toBe('cur-2._domainkey.example.com');
  });

  it('treats a key being switched to as switching, and a retired key SES still holds as the SES selector', () => {
    const state = domainState([
      keyEntry('cur-2', A, 'active'),
      keyEntry('next-3', B, 'verified', { switchedAt: '2026-02-28T00:00:00.000Z' }),
      keyEntry('dead-1', B, 'retired'),
    ]);
    const records = expectedRecords(DOMAIN, state, {
      'us-east-1': { ok: true, view: sesView({ tokens: ['dead-1'] }) },
    });
    expect(records.map((r) => [r.selector, r.role, r.publicKey === B])).toEqual([
      ['cur-2', 'active', false],
      ['next-3', 'switching', true],
      ['dead-1', 'ses', true],
    ]);
  });

  it('checks only the selectors SES holds when there is no state', () => {
    expect(
      expectedRecords(DOMAIN, undefined, {
        'us-east-1': { ok: true, view: sesView({ origin: 'AWS_SES', tokens: ['a', 'b', 'c'] }) },
      }),
    ).toEqual([]);
  });
});
