/**
 * Every doctor rule, cdk-nag style: at least one compliant case (no finding) and one
 * non-compliant case (the code, with its severity), table-driven. A rule missing from the
 * table fails the suite.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Rule, Severity } from '../../../src/doctor/finding.js';
import {
  DELEGATION_RULES,
  DMARC_RULES,
  MAIL_FROM_MX_RULES,
  MAIL_FROM_RULES,
  MAIL_FROM_SPF_RULES,
  RECORD_RULES,
  SES_RULES,
  STATE_RULES,
  STRAY_NAME_RULES,
} from '../../../src/doctor/rules/index.js';
import { buildDkimRecordValue, REVOKED_RECORD_VALUE } from '../../../src/domain/record.js';
import { testKey } from '../../support/keys.js';
import {
  answer,
  DOMAIN,
  dkimTxt,
  dmarcContext,
  domainState,
  expected,
  keyEntry,
  MAIL_FROM,
  mailFromMxContext,
  mailFromSpfContext,
  mailFromUse,
  recordContext,
  sesContext,
  stateContext,
  strayContext,
  txt,
} from './support.js';

interface Case {
  // biome-ignore lint/suspicious/noExplicitAny: the table mixes rule families
  rule: Rule<any>;
  pass: Array<() => unknown>;
  fail: Array<{ context: () => unknown; code: string; severity: Severity }>;
}

let A: string;
let B: string;
const cases: Case[] = [];

beforeAll(async () => {
  A = (await testKey('doctor-rules-a')).publicKey;
  B = (await testKey('doctor-rules-b')).publicKey;
});

const active = () => expected('sel-1', A);
const standby = () => expected('sel-2', A, { role: 'standby', sesRegions: [] });
const value = () => buildDkimRecordValue(A);

function byId(id: string): Rule<unknown> {
  const all = [
    ...STATE_RULES,
    ...SES_RULES,
    ...MAIL_FROM_RULES,
    ...MAIL_FROM_MX_RULES,
    ...MAIL_FROM_SPF_RULES,
    ...RECORD_RULES,
    ...STRAY_NAME_RULES,
    ...DELEGATION_RULES,
    ...DMARC_RULES,
  ] as Rule<unknown>[];
  const rule = all.find((r) => r.id === id);
  if (rule === undefined) throw new Error(`no rule ${id}`);
  return rule;
}

function add(id: string, c: Omit<Case, 'rule'>): void {
  cases.push({ rule: byId(id), ...c });
}

// ---- state ----
add('state-read-failed', {
  pass: [() => stateContext(undefined)],
  fail: [
    {
      context: () => stateContext(undefined, { readError: 'AccessDenied' }),
      code: 'STATE_READ_FAILED',
      severity: 'error',
    },
  ],
});
add('state-missing', {
  pass: [() => stateContext(domainState([keyEntry('sel-1', A, 'active')]))],
  fail: [
    { context: () => stateContext(undefined), code: 'STATE_MISSING', severity: 'warning' },
    {
      context: () => stateContext(domainState([]), { sesSelectors: { 'us-east-1': 'sel-9' } }),
      code: 'STATE_MISSING',
      severity: 'warning',
    },
  ],
});
add('state-no-active-key', {
  pass: [() => stateContext(domainState([keyEntry('sel-1', A, 'active')])), () => stateContext(undefined)],
  fail: [
    {
      context: () => stateContext(domainState([keyEntry('sel-1', A, 'published')])),
      code: 'STATE_NO_ACTIVE_KEY',
      severity: 'info',
    },
  ],
});
add('state-hand-off-pending', {
  pass: [() => stateContext(domainState([keyEntry('sel-1', A, 'active')]))],
  fail: [
    {
      context: () =>
        stateContext(
          domainState([keyEntry('sel-1', A, 'published')], {
            handOff: {
              sentAt: '2026-02-27T00:00:00.000Z',
              add: [{ name: 'sel-1._domainkey.example.com', value: 'v=DKIM1' }],
              remove: [],
            },
          }),
        ),
      code: 'STATE_HAND_OFF_PENDING',
      severity: 'info',
    },
  ],
});

// ---- SES ----
add('ses-read-failed', {
  pass: [() => sesContext()],
  fail: [
    {
      context: () => sesContext({}, { read: { ok: false, error: 'ThrottlingException' } }),
      code: 'SES_READ_FAILED',
      severity: 'error',
    },
  ],
});
add('ses-identity-missing', {
  pass: [() => sesContext()],
  fail: [
    {
      context: () =>
        sesContext(
          {},
          {
            read: {
              ok: true,
              view: { identity: 'example.com', region: 'us-east-1', exists: false, tokens: [] },
            },
          },
        ),
      code: 'SES_IDENTITY_MISSING',
      severity: 'error',
    },
  ],
});
add('ses-not-verified-for-sending', {
  pass: [() => sesContext()],
  fail: [
    {
      context: () =>
        sesContext({
          verifiedForSending: false,
          verificationStatus: 'PENDING',
          verificationError: 'HOST_NOT_FOUND',
          status: 'PENDING',
          lastSuccessAt: undefined,
        } as never),
      code: 'SES_NOT_VERIFIED_FOR_SENDING',
      severity: 'error',
    },
  ],
});
add('ses-not-byodkim', {
  pass: [() => sesContext()],
  fail: [
    {
      context: () => sesContext({ origin: 'AWS_SES', tokens: ['a', 'b', 'c'] }),
      code: 'SES_NOT_BYODKIM',
      severity: 'error',
    },
    {
      context: () => sesContext({ origin: 'AWS_SES', tokens: ['a', 'b', 'c'] }, { easyDkimTakeover: true }),
      code: 'SES_NOT_BYODKIM',
      severity: 'info',
    },
  ],
});
add('ses-dkim-status', {
  pass: [() => sesContext()],
  fail: [
    {
      context: () => sesContext({ status: 'FAILED', verificationError: 'INVALID_VALUE' }),
      code: 'SES_DKIM_FAILED',
      severity: 'error',
    },
    {
      context: () => sesContext({ status: 'PENDING', verificationError: 'HOST_NOT_FOUND' }),
      code: 'SES_DKIM_PENDING',
      severity: 'warning',
    },
    {
      context: () => sesContext({ status: 'TEMPORARY_FAILURE', verificationError: 'DNS_SERVER_ERROR' }),
      code: 'SES_DKIM_PENDING',
      severity: 'warning',
    },
  ],
});
add('ses-signing-disabled', {
  pass: [() => sesContext()],
  fail: [
    { context: () => sesContext({ signingEnabled: false }), code: 'SES_SIGNING_DISABLED', severity: 'error' },
  ],
});
add('ses-selector', {
  pass: [() => sesContext(), () => sesContext({ origin: 'AWS_SES', tokens: ['a', 'b', 'c'] })],
  fail: [
    { context: () => sesContext({ tokens: ['sel-0'] }), code: 'SES_SELECTOR_MISMATCH', severity: 'error' },
    {
      context: () => sesContext({ tokens: ['sel-0'] }, { activeSelector: undefined, stateKnown: false }),
      code: 'SES_SELECTOR_UNMANAGED',
      severity: 'warning',
    },
    {
      context: () => sesContext({ tokens: ['sel-2'] }, { switchingSelectors: ['sel-2'] }),
      code: 'SES_SWITCHING',
      severity: 'info',
    },
  ],
});

// ---- DKIM record, one nameserver ----
const good = () => recordContext(active(), { txt: [dkimTxt(A)] });
add('dns-nameserver-failed', {
  pass: [good],
  fail: [
    {
      context: () =>
        recordContext(active(), {
          outcome: 'failed',
          failure: { kind: 'servfail', detail: 'SERVFAIL: the server cannot answer for this zone now' },
        }),
      code: 'DNS_NAMESERVER_FAILED',
      severity: 'error',
    },
    {
      context: () =>
        recordContext(active(), { outcome: 'failed', failure: { kind: 'lame', detail: 'AA=0' } }),
      code: 'DNS_NAMESERVER_FAILED',
      severity: 'error',
    },
    {
      context: () =>
        recordContext(active(), { outcome: 'failed', failure: { kind: 'discovery', detail: 'no SOA' } }),
      code: 'DNS_DISCOVERY_FAILED',
      severity: 'error',
    },
  ],
});
add('dns-record-missing', {
  pass: [
    good,
    () => recordContext(active(), { outcome: 'failed', failure: { kind: 'timeout', detail: 'x' } }),
  ],
  fail: [
    {
      context: () => recordContext(active(), { outcome: 'nxdomain' }),
      code: 'DNS_RECORD_MISSING',
      severity: 'error',
    },
    {
      context: () => recordContext(active(), { txt: [txt('v=spf1 -all')] }),
      code: 'DNS_RECORD_MISSING',
      severity: 'error',
    },
    {
      context: () => recordContext(standby(), { outcome: 'nodata' }),
      code: 'DNS_RECORD_MISSING',
      severity: 'warning',
    },
    {
      context: () => recordContext(expected('sel-3', A, { role: 'pending' }), { outcome: 'nodata' }),
      code: 'DNS_RECORD_MISSING',
      severity: 'info',
    },
  ],
});
const easyCname = () => ({
  cnames: [{ owner: 'sel-1._domainkey.example.com', target: 'abc.dkim.amazonses.com', ttl: 1800 }],
});
add('dns-cname-instead-of-txt', {
  pass: [good, () => recordContext(active(), easyCname(), { delegatedTo: 'dkim.example.net' })],
  fail: [
    {
      context: () => recordContext(active(), easyCname()),
      code: 'DNS_CNAME_INSTEAD_OF_TXT',
      severity: 'error',
    },
  ],
});
add('dns-split-across-records', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt(value().slice(0, 255)), txt(value().slice(255))] }),
      code: 'DNS_KEY_SPLIT_ACROSS_RECORDS',
      severity: 'error',
    },
  ],
});
add('dns-multiple-txt', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [dkimTxt(A), dkimTxt(B)] }),
      code: 'DNS_MULTIPLE_TXT',
      severity: 'error',
    },
    {
      context: () => recordContext(active(), { txt: [dkimTxt(A), txt(['v=DKIM1; k=rsa; p=', A])] }),
      code: 'DNS_MULTIPLE_TXT',
      severity: 'warning',
    },
  ],
});
add('dns-placeholder-key', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt('v=DKIM1; k=rsa; p=customerProvidedPublicKey')] }),
      code: 'DNS_PLACEHOLDER_KEY',
      severity: 'error',
    },
    {
      context: () => recordContext(standby(), { txt: [txt('v=DKIM1; k=rsa; p=customerProvidedPublicKey')] }),
      code: 'DNS_PLACEHOLDER_KEY',
      severity: 'warning',
    },
  ],
});
add('dns-key-truncated', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt([value().slice(0, 255)])] }),
      code: 'DNS_KEY_TRUNCATED',
      severity: 'error',
    },
    {
      context: () =>
        recordContext(expected('sel-1', undefined, { role: 'ses' }), { txt: [txt([value().slice(0, 255)])] }),
      code: 'DNS_KEY_TRUNCATED',
      severity: 'error',
    },
    {
      context: () => recordContext(active(), { txt: [txt(value().slice(0, 300))] }),
      code: 'DNS_KEY_TRUNCATED',
      severity: 'error',
    },
  ],
});
add('dns-key-split-wrong', {
  pass: [good],
  fail: [
    {
      context: () =>
        recordContext(active(), {
          txt: [txt([`v=DKIM1; k=rsa; p=${A.slice(0, 150)}" "${A.slice(150, 200)}`, A.slice(200)])],
        }),
      code: 'DNS_KEY_SPLIT_WRONG',
      severity: 'error',
    },
    {
      context: () =>
        recordContext(active(), { txt: [txt([`v=DKIM1; k=rsa; p=${A.slice(0, 200)}"`, A.slice(200)])] }),
      code: 'DNS_KEY_SPLIT_WRONG',
      severity: 'error',
    },
  ],
});
add('dns-chunk-whitespace', {
  pass: [good, () => recordContext(active(), { txt: [txt(['v=DKIM1; ', `k=rsa; p=${A}`])] })],
  fail: [
    {
      context: () =>
        recordContext(active(), { txt: [txt([`v=DKIM1; k=rsa; p=${A.slice(0, 200)}`, ` ${A.slice(200)}`])] }),
      code: 'DNS_CHUNK_WHITESPACE',
      severity: 'warning',
    },
  ],
});
add('dns-stray-quotes', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt(`"${value()}"`)] }),
      code: 'DNS_STRAY_QUOTES',
      severity: 'error',
    },
  ],
});
add('dns-stray-backslash', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt(`v=DKIM1\\; k=rsa\\; p=${A}`)] }),
      code: 'DNS_STRAY_BACKSLASH',
      severity: 'error',
    },
  ],
});
add('dns-key-revoked', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt(REVOKED_RECORD_VALUE)] }),
      code: 'DNS_KEY_REVOKED',
      severity: 'error',
    },
  ],
});
add('dns-key-mismatch', {
  pass: [good, () => recordContext(expected('sel-1', undefined, { role: 'ses' }), { txt: [dkimTxt(B)] })],
  fail: [
    {
      context: () => recordContext(active(), { txt: [dkimTxt(B)] }),
      code: 'DNS_KEY_MISMATCH',
      severity: 'error',
    },
  ],
});
add('dns-key-invalid', {
  pass: [good, () => recordContext(active(), { txt: [txt('v=DKIM1; k=rsa; p=customerProvidedPublicKey')] })],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt(`v=DKIM1; k=ed25519; p=${A}`)] }),
      code: 'DNS_KEY_INVALID',
      severity: 'error',
    },
    {
      context: () => recordContext(standby(), { txt: [txt(`v=DKIM1; k=rsa; h=sha1; p=${A}`)] }),
      code: 'DNS_KEY_INVALID',
      severity: 'warning',
    },
  ],
});
add('dns-extra-txt', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [dkimTxt(A), txt('google-site-verification=abc')] }),
      code: 'DNS_EXTRA_TXT',
      severity: 'warning',
    },
  ],
});
add('dns-testing-flag', {
  pass: [good],
  fail: [
    {
      context: () => recordContext(active(), { txt: [txt(`v=DKIM1; k=rsa; t=y; p=${A}`)] }),
      code: 'DNS_TESTING_FLAG',
      severity: 'warning',
    },
  ],
});
add('dns-ttl-exceeds-grace', {
  pass: [good, () => recordContext(active(), { txt: [dkimTxt(A, 86_400)] })],
  fail: [
    {
      context: () => recordContext(active(), { txt: [dkimTxt(A, 30 * 86_400)] }),
      code: 'DNS_TTL_EXCEEDS_GRACE',
      severity: 'warning',
    },
  ],
});

// ---- stray names ----
add('dns-name-doubled', {
  pass: [
    () => strayContext(active(), 'doubled', { outcome: 'nxdomain' }),
    () => strayContext(active(), 'no-domainkey', { txt: [dkimTxt(A)] }),
  ],
  fail: [
    {
      context: () => strayContext(active(), 'doubled', { txt: [dkimTxt(A)] }),
      code: 'DNS_NAME_DOUBLED',
      severity: 'error',
    },
    {
      context: () => strayContext(active(), 'doubled', { txt: [dkimTxt(A)] }, true),
      code: 'DNS_NAME_DOUBLED',
      severity: 'warning',
    },
  ],
});
add('dns-name-without-domainkey', {
  pass: [() => strayContext(active(), 'no-domainkey', { txt: [txt('v=spf1 include:amazonses.com -all')] })],
  fail: [
    {
      context: () => strayContext(active(), 'no-domainkey', { txt: [dkimTxt(A)] }),
      code: 'DNS_NAME_WITHOUT_DOMAINKEY',
      severity: 'error',
    },
  ],
});

// ---- DMARC ----
add('dmarc-multiple', {
  pass: [() => dmarcContext(['v=DMARC1; p=reject'])],
  fail: [
    {
      context: () => dmarcContext(['v=DMARC1; p=reject', 'v=DMARC1; p=none']),
      code: 'DMARC_MULTIPLE',
      severity: 'error',
    },
  ],
});
add('dmarc-invalid', {
  pass: [() => dmarcContext(['v=DMARC1; p=reject'])],
  fail: [
    { context: () => dmarcContext(['v=DMARC1; p=block']), code: 'DMARC_INVALID', severity: 'error' },
    { context: () => dmarcContext(['"v=DMARC1; p=reject"']), code: 'DMARC_INVALID', severity: 'error' },
    {
      context: () => dmarcContext(['v=DMARC1; p=reject', 'p=none; v=DMARC1']),
      code: 'DMARC_INVALID',
      severity: 'warning',
    },
  ],
});
add('dmarc-missing', {
  pass: [
    () => dmarcContext(['v=DMARC1; p=none']),
    () => dmarcContext([], ['v=DMARC1; p=reject; sp=quarantine']),
    () => dmarcContext([], undefined, 'failed'),
  ],
  fail: [
    { context: () => dmarcContext([]), code: 'DMARC_MISSING', severity: 'warning' },
    { context: () => dmarcContext(['v=spf1 -all'], []), code: 'DMARC_MISSING', severity: 'warning' },
  ],
});
add('dmarc-policy', {
  pass: [() => dmarcContext([]), () => dmarcContext(['v=DMARC1; p=bogus'])],
  fail: [
    {
      context: () => dmarcContext(['v=DMARC1; p=quarantine; pct=50']),
      code: 'DMARC_POLICY',
      severity: 'info',
    },
    {
      context: () => dmarcContext([], ['v=DMARC1; p=reject; sp=none']),
      code: 'DMARC_POLICY',
      severity: 'info',
    },
  ],
});
add('dmarc-adkim-strict', {
  pass: [() => dmarcContext(['v=DMARC1; p=reject']), () => dmarcContext(['v=DMARC1; p=reject; adkim=r'])],
  fail: [
    {
      context: () => dmarcContext(['v=DMARC1; p=reject; adkim=s']),
      code: 'DMARC_ADKIM_STRICT',
      severity: 'info',
    },
  ],
});

add('dmarc-aspf-strict', {
  pass: [
    // Relaxed (the default) with a MAIL FROM subdomain: SPF aligns.
    () => dmarcContext(['v=DMARC1; p=reject'], undefined, undefined, [mailFromUse()]),
    () => dmarcContext(['v=DMARC1; p=reject; aspf=r'], undefined, undefined, [mailFromUse()]),
    // Strict, but no MAIL FROM subdomain: MAIL_FROM_MISSING says what is wrong.
    () =>
      dmarcContext(['v=DMARC1; p=reject; aspf=s'], undefined, undefined, [
        mailFromUse({ mailFromDomain: undefined }),
      ]),
  ],
  fail: [
    {
      context: () => dmarcContext(['v=DMARC1; p=reject; aspf=s'], undefined, undefined, [mailFromUse()]),
      code: 'DMARC_ASPF_STRICT',
      severity: 'warning',
    },
    {
      // Inherited from the organizational domain, while a switch is in flight in one region.
      context: () =>
        dmarcContext([], ['v=DMARC1; p=reject; aspf=s'], undefined, [
          mailFromUse(),
          mailFromUse({ region: 'eu-west-1', dkimAlignedNow: false }),
        ]),
      code: 'DMARC_ASPF_STRICT',
      severity: 'error',
    },
  ],
});

// ---- custom MAIL FROM ----
const FEEDBACK = 'feedback-smtp.us-east-1.amazonses.com';
const aligned = { mailFromDomain: MAIL_FROM, mailFromStatus: 'SUCCESS' };
add('mail-from-missing', {
  pass: [
    () => sesContext(aligned),
    // Not this rule's business: no identity, or SES could not be read.
    () => sesContext({ exists: false }),
    () => sesContext({}, { read: { ok: false, error: 'ThrottlingException' } }),
  ],
  fail: [
    { context: () => sesContext(), code: 'MAIL_FROM_MISSING', severity: 'warning' },
    {
      // A switch in flight: SES does not sign with the domain's key, so DMARC fails now.
      context: () => sesContext({ status: 'PENDING' }),
      code: 'MAIL_FROM_MISSING',
      severity: 'error',
    },
  ],
});
add('mail-from-not-subdomain', {
  pass: [() => sesContext(aligned), () => sesContext({ ...aligned, mailFromDomain: 'Bounce.Example.COM.' })],
  fail: [
    {
      context: () => sesContext({ ...aligned, mailFromDomain: 'bounce.example.org' }),
      code: 'MAIL_FROM_NOT_SUBDOMAIN',
      severity: 'warning',
    },
    {
      context: () => sesContext({ ...aligned, mailFromDomain: 'example.com', signingEnabled: false }),
      code: 'MAIL_FROM_NOT_SUBDOMAIN',
      severity: 'error',
    },
  ],
});
add('mail-from-not-verified', {
  pass: [() => sesContext(aligned), () => sesContext()],
  fail: [
    {
      context: () => sesContext({ ...aligned, mailFromStatus: 'PENDING' }),
      code: 'MAIL_FROM_NOT_VERIFIED',
      severity: 'warning',
    },
    {
      context: () => sesContext({ ...aligned, mailFromStatus: 'FAILED' }),
      code: 'MAIL_FROM_NOT_VERIFIED',
      severity: 'warning',
    },
    {
      // SES refuses to send at all while the MAIL FROM is not SUCCESS.
      context: () =>
        sesContext({
          ...aligned,
          mailFromStatus: 'TEMPORARY_FAILURE',
          mailFromBehaviorOnMxFailure: 'REJECT_MESSAGE',
        }),
      code: 'MAIL_FROM_NOT_VERIFIED',
      severity: 'error',
    },
  ],
});
add('mail-from-mx', {
  pass: [
    () => mailFromMxContext([FEEDBACK]),
    () => mailFromMxContext([FEEDBACK, FEEDBACK]),
    // A nameserver that did not answer is MAIL_FROM_DNS_FAILED's finding.
    () => mailFromMxContext([], {}, { outcome: 'failed', failure: { kind: 'timeout', detail: 'timed out' } }),
  ],
  fail: [
    { context: () => mailFromMxContext([]), code: 'MAIL_FROM_MX_MISSING', severity: 'warning' },
    {
      context: () => mailFromMxContext([], {}, { outcome: 'nxdomain' }),
      code: 'MAIL_FROM_MX_MISSING',
      severity: 'warning',
    },
    {
      context: () => mailFromMxContext([], { behaviorOnMxFailure: 'REJECT_MESSAGE' }),
      code: 'MAIL_FROM_MX_MISSING',
      severity: 'error',
    },
    {
      context: () => mailFromMxContext(['feedback-smtp.eu-west-1.amazonses.com']),
      code: 'MAIL_FROM_MX_WRONG',
      severity: 'warning',
    },
    {
      context: () => mailFromMxContext([FEEDBACK, 'mx.example.com'], { dkimAlignedNow: false }),
      code: 'MAIL_FROM_MX_WRONG',
      severity: 'error',
    },
  ],
});
add('mail-from-dns-failed', {
  pass: [() => mailFromMxContext([FEEDBACK]), () => mailFromMxContext([])],
  fail: [
    {
      context: () =>
        mailFromMxContext([], {}, { outcome: 'failed', failure: { kind: 'servfail', detail: 'SERVFAIL' } }),
      code: 'MAIL_FROM_DNS_FAILED',
      severity: 'warning',
    },
  ],
});
add('mail-from-spf', {
  pass: [
    () => mailFromSpfContext(['v=spf1 include:amazonses.com ~all']),
    () => mailFromSpfContext(['V=SPF1 +include:amazonses.com -all', 'google-site-verification=x']),
    // Split into character-strings, joined without a space (RFC 7208 §3.3).
    () => mailFromSpfContext([['v=spf1 include:amazon', 'ses.com ~all']]),
  ],
  fail: [
    { context: () => mailFromSpfContext([]), code: 'MAIL_FROM_SPF_MISSING', severity: 'warning' },
    {
      context: () => mailFromSpfContext(['v=spf1x include:amazonses.com']),
      code: 'MAIL_FROM_SPF_MISSING',
      severity: 'warning',
    },
    {
      context: () => mailFromSpfContext(['v=spf1 include:_spf.google.com ~all']),
      code: 'MAIL_FROM_SPF_WRONG',
      severity: 'warning',
    },
    {
      context: () => mailFromSpfContext(['v=spf1 -all include:amazonses.com']),
      code: 'MAIL_FROM_SPF_WRONG',
      severity: 'warning',
    },
    {
      context: () => mailFromSpfContext(['v=spf1 ~include:amazonses.com -all']),
      code: 'MAIL_FROM_SPF_WRONG',
      severity: 'warning',
    },
    {
      context: () =>
        mailFromSpfContext(
          ['v=spf1 include:amazonses.com ~all', 'v=spf1 -all'],
          [mailFromUse({ dkimAlignedNow: false })],
        ),
      code: 'MAIL_FROM_SPF_WRONG',
      severity: 'error',
    },
  ],
});

// ---- delegated selectors ----
const ring = { selector: 'mail-a', name: 'mail-a._domainkey.example.com', target: 'mail-a.dkim.example.net' };
const delegationContext = (cnames: string[], inUse = true, txt: string[] = []) => ({
  domain: DOMAIN,
  cname: ring,
  inUse,
  answer: answer(ring.name, {
    cnames: cnames.map((target) => ({ owner: ring.name, target, ttl: 3600 })),
    txt: txt.map((t) => ({ strings: [t], ttl: 300 })),
  }),
});
add('delegation-cname', {
  pass: [
    () => delegationContext(['mail-a.dkim.example.net']),
    () => delegationContext(['MAIL-A.dkim.example.net.']),
  ],
  fail: [
    { context: () => delegationContext([]), code: 'DELEGATION_CNAME_MISSING', severity: 'error' },
    {
      context: () => delegationContext([], false, ['v=DKIM1; p=']),
      code: 'DELEGATION_CNAME_MISSING',
      severity: 'warning',
    },
    {
      context: () => delegationContext(['mail-a.elsewhere.example']),
      code: 'DELEGATION_CNAME_WRONG',
      severity: 'error',
    },
  ],
});

describe('doctor rules: a compliant and a non-compliant case each', () => {
  it('covers every registered rule and every code it declares', () => {
    const all = [
      ...STATE_RULES,
      ...SES_RULES,
      ...MAIL_FROM_RULES,
      ...MAIL_FROM_MX_RULES,
      ...MAIL_FROM_SPF_RULES,
      ...RECORD_RULES,
      ...STRAY_NAME_RULES,
      ...DELEGATION_RULES,
      ...DMARC_RULES,
    ];
    expect(new Set(cases.map((c) => c.rule.id))).toEqual(new Set(all.map((r) => r.id)));
    const declared = all.flatMap((r) => r.codes.map((c) => c.code));
    const exercised = new Set(cases.flatMap((c) => c.fail.map((f) => f.code)));
    for (const code of declared) expect(exercised, code).toContain(code);
  });

  for (const c of cases) {
    describe(c.rule.id, () => {
      it('is silent on compliant data', () => {
        for (const pass of c.pass) expect(c.rule.check(pass())).toEqual([]);
      });
      for (const fail of c.fail) {
        it(`reports ${fail.code} (${fail.severity})`, () => {
          const findings = c.rule.check(fail.context());
          expect(findings.map((f) => [f.code, f.severity])).toEqual([[fail.code, fail.severity]]);
          const [finding] = findings;
          expect(finding?.seen.length).toBeGreaterThan(10);
          expect(finding?.fix.length).toBeGreaterThan(10);
          // Codes are declared by the rule that emits them.
          expect(c.rule.codes.map((x) => x.code)).toContain(fail.code);
        });
      }
    });
  }
});

describe('fix texts', () => {
  it('set up a MAIL FROM subdomain with the SES call, the MX and the SPF record, in the gap warning’s words', () => {
    const [finding] = byId('mail-from-missing').check(sesContext());
    expect(finding?.seen).toContain(
      "while SES re-verifies a new selector after each switch, mail from example.com carries only SES's d=amazonses.com DKIM signature and fails DMARC unless SPF aligns",
    );
    expect(finding?.fix).toContain(
      'aws sesv2 put-email-identity-mail-from-attributes --region us-east-1 --email-identity example.com --mail-from-domain bounce.example.com',
    );
    expect(finding?.fix).toContain(
      '`bounce.example.com. 3600 IN MX 10 feedback-smtp.us-east-1.amazonses.com.`',
    );
    expect(finding?.fix).toContain('`bounce.example.com. 3600 IN TXT "v=spf1 include:amazonses.com ~all"`');
    expect(finding?.fix).toContain('aspf=r');
  });

  it('say why an SPF record does not authorize SES, and that other includes are not followed', () => {
    const check = (record: string) => byId('mail-from-spf').check(mailFromSpfContext([record]))[0]?.seen;
    expect(check('v=spf1 -all include:amazonses.com')).toContain('nothing after "all" is evaluated');
    expect(check('v=spf1 ?include:amazonses.com -all')).toContain('a match gives neutral, not pass');
    expect(check('v=spf1 include:spf.example.net -all')).toContain(
      'byodkim does not follow include:spf.example.net',
    );
  });

  it('name the other region whose feedback endpoint the MX points at', () => {
    const [finding] = byId('mail-from-mx').check(
      mailFromMxContext(['feedback-smtp.eu-west-1.amazonses.com']),
    );
    expect(finding?.seen).toContain('feedback-smtp.eu-west-1.amazonses.com is SES in eu-west-1');
    expect(finding?.fix).toContain('give each region its own MAIL FROM subdomain');
    expect(finding).toMatchObject({ region: 'us-east-1', name: MAIL_FROM });
  });

  it('say that SES refuses mail while a MAIL FROM with REJECT_MESSAGE is not verified', () => {
    const [finding] = byId('mail-from-not-verified').check(
      sesContext({ ...aligned, mailFromStatus: 'PENDING', mailFromBehaviorOnMxFailure: 'REJECT_MESSAGE' }),
    );
    expect(finding?.seen).toContain('SES refuses to send mail from example.com in us-east-1');
    expect(finding?.fix).toContain('USE_DEFAULT_VALUE');
  });

  it('give the exact zone line to publish, split into 255-byte strings', () => {
    const [finding] = byId('dns-record-missing').check(recordContext(active(), { outcome: 'nxdomain' }));
    expect(finding?.fix).toContain(
      `sel-1._domainkey.example.com. 300 IN TXT ( "v=DKIM1; k=rsa; p=${A.slice(0, 237)}" "${A.slice(237)}" )`,
    );
    expect(finding?.nameserver).toBe('ns1.example.com (192.0.2.1)');
  });

  it('say where the key must come from when byodkim does not know it', () => {
    const [finding] = byId('dns-record-missing').check(
      recordContext(expected('sel-9', undefined, { role: 'ses' }), { outcome: 'nxdomain' }),
    );
    expect(finding?.fix).toMatch(/byodkim adopt --key-file/);
  });

  it('name the ErrorType and the last checks for SES', () => {
    const [finding] = byId('ses-not-verified-for-sending').check(
      sesContext({
        verifiedForSending: false,
        verificationStatus: 'PENDING',
        verificationError: 'HOST_NOT_FOUND',
      }),
    );
    expect(finding?.seen).toMatch(
      /ErrorType HOST_NOT_FOUND \(SES got NXDOMAIN.*last checked 2026-02-28T23:00:00Z \(1 h ago\)/,
    );
    expect(finding?.fix).toMatch(/publish the TXT record at sel-1\._domainkey\.example\.com/);
  });
});
