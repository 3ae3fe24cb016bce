/**
 * `byodkim doctor` through the real CLI against BIND 9 (primary + secondary) and the SES
 * emulator: one zone per classic mistake, each found by its stable code on every
 * nameserver that serves it, and a clean zone that exits 0.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEmailIdentityMailFromAttributesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { SesSigningService } from '../../../src/adapters/aws/ses.js';
import { Rfc2136Publisher } from '../../../src/adapters/dns/rfc2136.js';
import { FileStateStore } from '../../../src/adapters/local/file-state.js';
import type { DoctorReport } from '../../../src/doctor/diagnose.js';
import type { DkimPrivateKey } from '../../../src/domain/key.js';
import { buildDkimRecordValue, quoteTxtChunk, splitTxtValue } from '../../../src/domain/record.js';
import type { DomainState, KeyEntry, KeyStatus } from '../../../src/domain/state.js';
import { type BindPair, type BindZone, bindSkipReason, startBindPair } from '../../support/bind.js';
import { runCli } from '../../support/cli.js';
import { testKey } from '../../support/keys.js';

const skipReason = bindSkipReason();
if (skipReason !== undefined) console.warn(`skipping doctor tests against BIND: ${skipReason}`);

const REGION = 'us-east-1';
const SEL = 'mail-20260101-1';
const NEXT = 'mail-20260201-1';
const GOOD_DMARC = '_dmarc IN TXT "v=DMARC1; p=reject; adkim=s; rua=mailto:dmarc@example.net"';
/** A custom MAIL FROM at bounce.<domain> as the SES guide sets it up (aspf is relaxed in GOOD_DMARC). */
const MAIL_FROM_MX = `bounce IN MX 10 feedback-smtp.${REGION}.amazonses.com.`;
const MAIL_FROM_SPF = 'bounce IN TXT "v=spf1 include:amazonses.com ~all"';

/** `<owner> [ttl] IN TXT ( "…" "…" )` from strings as they should be served. */
function txtLine(owner: string, strings: readonly string[], ttl?: number): string {
  return `${owner}${ttl === undefined ? '' : ` ${ttl}`} IN TXT ( ${strings.map(quoteTxtChunk).join(' ')} )`;
}

function chunks(value: string): string[] {
  return splitTxtValue(value);
}

function entry(selector: string, key: DkimPrivateKey, status: KeyStatus): KeyEntry {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    selector,
    bits: 2048,
    publicKey: key.publicKey,
    vaultRef: `file:${selector}`,
    origin: 'generated',
    createdAt: at,
    notAfter: '2027-01-01T00:00:00.000Z',
    status,
    statusSince: at,
  };
}

interface Scenario {
  domain: string;
  records: (key: DkimPrivateKey, other: DkimPrivateKey) => string[];
  /** SES: the selector (and key) the identity holds; 'easy' for Easy DKIM; undefined for none. */
  ses?: { selector: string; key: 'key' | 'other' } | 'easy';
  signingDisabled?: boolean;
  standby?: boolean;
  /** A custom MAIL FROM at bounce.<domain>, set in SES through the SDK; `reject`: with REJECT_MESSAGE. */
  mailFrom?: 'default' | 'reject';
  /** Codes that must be found, with their severity. */
  expect: Array<[string, string]>;
}

const SCENARIOS: Scenario[] = [
  {
    domain: 'clean.example',
    standby: true,
    records: (k, o) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      txtLine(`${NEXT}._domainkey`, chunks(buildDkimRecordValue(o.publicKey))),
      GOOD_DMARC,
      MAIL_FROM_MX,
      MAIL_FROM_SPF,
    ],
    ses: { selector: SEL, key: 'key' },
    mailFrom: 'default',
    expect: [
      ['DMARC_POLICY', 'info'],
      ['DMARC_ADKIM_STRICT', 'info'],
    ],
  },
  {
    // The zone-file missing-dot mistake: the origin is appended to a name written in full.
    domain: 'doubled.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey.doubled.example`, chunks(buildDkimRecordValue(k.publicKey))),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [
      ['DNS_NAME_DOUBLED', 'error'],
      ['DNS_RECORD_MISSING', 'error'],
      ['SES_NOT_VERIFIED_FOR_SENDING', 'error'],
      ['SES_DKIM_PENDING', 'warning'],
    ],
  },
  {
    // A console that keeps only the first 255 characters.
    domain: 'truncated.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, [buildDkimRecordValue(k.publicKey).slice(0, 255)]),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_KEY_TRUNCATED', 'error']],
  },
  {
    // Zone-file chunks pasted, quotes and all, into a console field that stores one string.
    domain: 'splitwrong.example',
    records: (k) => {
      const p = k.publicKey;
      const pasted = `v=DKIM1; k=rsa; p=${p.slice(0, 150)}\\" \\"${p.slice(150, 220)}`;
      return [`${SEL}._domainkey IN TXT ( "${pasted}" "${p.slice(220)}" )`, GOOD_DMARC];
    },
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_KEY_SPLIT_WRONG', 'error']],
  },
  {
    // A chunk boundary that kept a space inside p=: tolerated by RFC verifiers, fragile.
    domain: 'space.example',
    records: (k) => {
      const value = buildDkimRecordValue(k.publicKey);
      return [txtLine(`${SEL}._domainkey`, [`${value.slice(0, 200)} `, value.slice(200)]), GOOD_DMARC];
    },
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_CHUNK_WHITESPACE', 'warning']],
  },
  {
    // The value copied from a CSV cell with its quotes.
    domain: 'quotes.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(`"${buildDkimRecordValue(k.publicKey)}"`)),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_STRAY_QUOTES', 'error']],
  },
  {
    // Escaped semicolons stored as data.
    domain: 'backslash.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(`v=DKIM1\\; k=rsa\\; p=${k.publicKey}`)),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_STRAY_BACKSLASH', 'error']],
  },
  {
    // The SES console's CSV, published as is.
    domain: 'placeholder.example',
    records: () => [
      txtLine(`${SEL}._domainkey`, ['v=DKIM1; k=rsa; p=customerProvidedPublicKey']),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [
      ['DNS_PLACEHOLDER_KEY', 'error'],
      ['SES_NOT_VERIFIED_FOR_SENDING', 'error'],
    ],
  },
  {
    domain: 'testing.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(`v=DKIM1; k=rsa; t=y; p=${k.publicKey}`)),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_TESTING_FLAG', 'warning']],
  },
  {
    // An Easy DKIM CNAME left where the BYODKIM TXT record belongs.
    domain: 'cname.example',
    records: () => [`${SEL}._domainkey IN CNAME ${SEL}.dkim.amazonses.com.`, GOOD_DMARC],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_CNAME_INSTEAD_OF_TXT', 'error']],
  },
  {
    // The old key left next to the new one.
    domain: 'multi.example',
    records: (k, o) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(o.publicKey))),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_MULTIPLE_TXT', 'error']],
  },
  {
    // Each 255-character chunk published as its own record.
    domain: 'splitrecords.example',
    records: (k) =>
      chunks(buildDkimRecordValue(k.publicKey))
        .map((c) => txtLine(`${SEL}._domainkey`, [c]))
        .concat(GOOD_DMARC),
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_KEY_SPLIT_ACROSS_RECORDS', 'error']],
  },
  {
    // 30 days, against a 7-day grace period.
    domain: 'ttl.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey)), 2_592_000),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_TTL_EXCEEDS_GRACE', 'warning']],
  },
  {
    domain: 'nodmarc.example',
    records: (k) => [txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey)))],
    ses: { selector: SEL, key: 'key' },
    expect: [['DMARC_MISSING', 'warning']],
  },
  {
    domain: 'baddmarc.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      '_dmarc IN TXT "v=DMARC1; p=block; pct=150"',
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DMARC_INVALID', 'error']],
  },
  {
    // SES was switched by hand to a selector byodkim does not consider active, and signing turned off.
    domain: 'ses.example',
    records: (k, o) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      txtLine(`${NEXT}._domainkey`, chunks(buildDkimRecordValue(o.publicKey))),
      GOOD_DMARC,
    ],
    ses: { selector: NEXT, key: 'other' },
    signingDisabled: true,
    expect: [
      ['SES_SELECTOR_MISMATCH', 'error'],
      ['SES_SIGNING_DISABLED', 'error'],
    ],
  },
  {
    domain: 'noidentity.example',
    records: (k) => [txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))), GOOD_DMARC],
    expect: [['SES_IDENTITY_MISSING', 'error']],
  },
  {
    domain: 'easy.example',
    records: (k) => [txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))), GOOD_DMARC],
    ses: 'easy',
    expect: [
      ['SES_NOT_BYODKIM', 'error'],
      ['SES_DKIM_PENDING', 'warning'],
    ],
  },
  {
    // Signed and verified, but SES keeps its own MAIL FROM: DMARC fails during every switch gap.
    domain: 'nomailfrom.example',
    records: (k) => [txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))), GOOD_DMARC],
    ses: { selector: SEL, key: 'key' },
    expect: [['MAIL_FROM_MISSING', 'warning']],
  },
  {
    // The MAIL FROM subdomain given the organization's mail server as MX: SES never verifies it.
    domain: 'mfmx.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      GOOD_DMARC,
      'bounce IN MX 10 mx.mfmx.example.',
      MAIL_FROM_SPF,
    ],
    ses: { selector: SEL, key: 'key' },
    mailFrom: 'default',
    expect: [
      ['MAIL_FROM_MX_WRONG', 'warning'],
      ['MAIL_FROM_NOT_VERIFIED', 'warning'],
    ],
  },
  {
    // The MX without the SPF record: SES reports SUCCESS (its check is the MX), SPF fails.
    domain: 'mfspf.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      GOOD_DMARC,
      MAIL_FROM_MX,
    ],
    ses: { selector: SEL, key: 'key' },
    mailFrom: 'default',
    expect: [['MAIL_FROM_SPF_MISSING', 'warning']],
  },
  {
    // A complete MAIL FROM under strict SPF alignment: a subdomain never aligns.
    domain: 'mfaspf.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      '_dmarc IN TXT "v=DMARC1; p=reject; aspf=s"',
      MAIL_FROM_MX,
      MAIL_FROM_SPF,
    ],
    ses: { selector: SEL, key: 'key' },
    mailFrom: 'default',
    expect: [['DMARC_ASPF_STRICT', 'warning']],
  },
  {
    // REJECT_MESSAGE and no MX yet: SES refuses to send from the domain at all.
    domain: 'mfreject.example',
    records: (k) => [
      txtLine(`${SEL}._domainkey`, chunks(buildDkimRecordValue(k.publicKey))),
      GOOD_DMARC,
      MAIL_FROM_SPF,
    ],
    ses: { selector: SEL, key: 'key' },
    mailFrom: 'reject',
    expect: [
      ['MAIL_FROM_NOT_VERIFIED', 'error'],
      ['MAIL_FROM_MX_MISSING', 'error'],
    ],
  },
  {
    // Fixed on the primary while the secondary is held: only the secondary serves the mistake.
    domain: 'lagging.example',
    records: () => [
      txtLine(`${SEL}._domainkey`, ['v=DKIM1; k=rsa; p=customerProvidedPublicKey']),
      GOOD_DMARC,
    ],
    ses: { selector: SEL, key: 'key' },
    expect: [['DNS_PLACEHOLDER_KEY', 'error']],
  },
];

describe.skipIf(skipReason !== undefined)('byodkim doctor against BIND 9 and the SES emulator', () => {
  let pair: BindPair;
  let ses: SesEmulator;
  let clients: AwsClientFactory;
  let dir: string;
  let key: DkimPrivateKey;
  let other: DkimPrivateKey;
  let primaryLabel: string;
  let secondaryLabel: string;
  const env = {
    AWS_ACCESS_KEY_ID: 'AKIDDOCTOR',
    AWS_SECRET_ACCESS_KEY: 'doctor-not-secret',
    AWS_REGION: REGION,
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  };
  const doctor = (...args: string[]) => runCli(['doctor', ...args], { cwd: dir, env });

  beforeAll(async () => {
    key = await testKey('doctor-bind-key');
    other = await testKey('doctor-bind-other');
    const zones: BindZone[] = SCENARIOS.map((s) => ({ origin: s.domain, records: s.records(key, other) }));
    pair = await startBindPair({ zones });
    primaryLabel = `${pair.primary.host}:${pair.primary.port}`;
    secondaryLabel = `${pair.secondary.host}:${pair.secondary.port}`;
    ses = await SesEmulator.start({
      dns: { host: pair.primary.host, port: pair.primary.port },
      dnsTimeoutMs: 500,
      ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
    });
    clients = new AwsClientFactory({
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
      endpoints: { sesv2: ses.endpoint },
      env: {},
    });
    const service = new SesSigningService({ clients });

    dir = await mkdtemp(join(tmpdir(), 'doctor-bind-'));
    await writeFile(
      join(dir, 'byodkim.config.yaml'),
      [
        'policy: { graceDays: 7 }',
        `probe: { nameservers: ["${primaryLabel}", "${secondaryLabel}"], timeoutMs: 1000 }`,
        `aws: { endpoints: { sesv2: "${ses.endpoint}" }, maxAttempts: 2 }`,
        'domains:',
        ...SCENARIOS.map((s) => `  - { domain: ${s.domain}, regions: [${REGION}], selectorPrefix: mail }`),
        '',
      ].join('\n'),
    );
    const store = new FileStateStore({ dir: join(dir, '.byodkim', 'state') });
    for (const s of SCENARIOS) {
      const state: DomainState = {
        schema: 1,
        domain: s.domain,
        keys: [entry(SEL, key, 'active'), ...(s.standby ? [entry(NEXT, other, 'verified')] : [])],
        history: [],
      };
      await store.save(state, undefined);
      if (s.ses === 'easy') await service.createIdentity(s.domain, REGION);
      else if (s.ses !== undefined) {
        await service.createIdentity(s.domain, REGION, {
          selector: s.ses.selector,
          key: s.ses.key === 'key' ? key : other,
        });
      }
      if (s.signingDisabled) await service.setSigningEnabled(s.domain, REGION, false);
      if (s.mailFrom !== undefined) {
        await clients
          .client('sesv2', REGION, (c) => new SESv2Client(c))
          .send(
            new PutEmailIdentityMailFromAttributesCommand({
              EmailIdentity: s.domain,
              MailFromDomain: `bounce.${s.domain}`,
              BehaviorOnMxFailure: s.mailFrom === 'reject' ? 'REJECT_MESSAGE' : 'USE_DEFAULT_VALUE',
            }),
          );
      }
    }
  });

  afterAll(async () => {
    clients?.destroy();
    await ses?.stop();
    await pair?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives exit 0 for a clean zone, with its policy shown', async () => {
    const result = await doctor('--domain', 'clean.example');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('0 errors, 0 warnings, 2 info in 1 domain: healthy');
    expect(result.stdout).toMatch(
      /SES\s+us-east-1\s+EXTERNAL mail-20260101-1, DKIM SUCCESS, signing on, verified for sending/,
    );
    expect(result.stdout).toMatch(
      new RegExp(`mail-20260101-1 \\(active\\)\\s+${primaryLabel}: ok ttl 60; ${secondaryLabel}: ok ttl 60`),
    );
    expect(result.stdout).toContain(`mail-20260201-1 (standby)`);
    expect(result.stdout).toContain('DMARC_ADKIM_STRICT');
    // An aligned MAIL FROM: SES SUCCESS, MX and SPF right on both nameservers, aspf relaxed.
    expect(result.stdout).toMatch(
      new RegExp(
        `MAIL FROM\\s+us-east-1\\s+bounce\\.clean\\.example SUCCESS; ${primaryLabel}: MX ok, SPF ok; ${secondaryLabel}: MX ok, SPF ok`,
      ),
    );
  });

  it('finds each seeded mistake by its code, on both nameservers, and nothing in the clean zone', async () => {
    const result = await doctor('--output', 'json');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.healthy).toBe(false);
    for (const scenario of SCENARIOS) {
      const domain = report.domains.find((d) => d.domain === scenario.domain);
      expect(domain, scenario.domain).toBeDefined();
      const found = (domain?.findings ?? []).map((f) => [f.code, f.severity]);
      for (const wanted of scenario.expect) expect(found, scenario.domain).toContainEqual(wanted);
      for (const f of domain?.findings ?? []) {
        expect(f.seen, f.code).not.toBe('');
        expect(f.fix, f.code).not.toBe('');
        // DNS findings name the nameservers; the zone is the same on both here.
        if (f.code.startsWith('DNS_') || /^MAIL_FROM_(MX|SPF)/.test(f.code))
          expect(f.nameservers.sort(), `${scenario.domain} ${f.code}`).toEqual(
            [primaryLabel, secondaryLabel].sort(),
          );
      }
      expect(domain?.healthy, scenario.domain).toBe(scenario.domain === 'clean.example');
    }
    const clean = report.domains.find((d) => d.domain === 'clean.example');
    expect(clean?.findings.every((f) => f.severity === 'info')).toBe(true);
    // The fix for the doubled name is the record at the right name, ready to paste.
    const doubled = report.domains
      .find((d) => d.domain === 'doubled.example')
      ?.findings.find((f) => f.code === 'DNS_NAME_DOUBLED');
    expect(doubled?.name).toBe(`${SEL}._domainkey.doubled.example.doubled.example`);
    expect(doubled?.fix).toContain(
      `publish \`${SEL}._domainkey.doubled.example. 300 IN TXT ( "v=DKIM1; k=rsa; p=`,
    );
    // SES's VerificationInfo is carried: the ErrorType and the last check.
    const notVerified = report.domains
      .find((d) => d.domain === 'placeholder.example')
      ?.findings.find((f) => f.code === 'SES_NOT_VERIFIED_FOR_SENDING');
    expect(notVerified?.seen).toMatch(/ErrorType INVALID_VALUE .*last checked \d{4}-.*last success never/);
  });

  it('prints severity, the nameservers, what was seen and the fix as a table', async () => {
    const result = await doctor('--domain', 'placeholder.example');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /ERROR {3}DNS_PLACEHOLDER_KEY {2}mail-20260101-1\._domainkey\.placeholder\.example/,
    );
    expect(result.stdout).toContain(`on:   ${primaryLabel}, ${secondaryLabel}`);
    expect(result.stdout).toContain('seen: serves "v=DKIM1; k=rsa; p=customerProvidedPublicKey"');
    expect(result.stdout).toMatch(
      /fix: {2}remove the TXT record at mail-20260101-1\._domainkey\.placeholder\.example and publish `mail-20260101-1\._domainkey\.placeholder\.example\. 300 IN TXT \( "v=DKIM1; k=rsa; p=/,
    );
  });

  it('attributes a mistake only the secondary still serves to the secondary', async () => {
    await pair.holdSecondary();
    try {
      const publisher = new Rfc2136Publisher({ server: primaryLabel, tsig: pair.tsig, ttl: 60 });
      await publisher.apply('lagging.example', [
        {
          action: 'upsert',
          name: `${SEL}._domainkey.lagging.example`,
          value: buildDkimRecordValue(key.publicKey),
          selector: SEL,
          reason: 'test',
        },
      ]);
      const result = await doctor('--domain', 'lagging.example', '--output', 'json');
      const report = JSON.parse(result.stdout) as DoctorReport;
      const findings = report.domains[0]?.findings ?? [];
      const placeholder = findings.find((f) => f.code === 'DNS_PLACEHOLDER_KEY');
      expect(placeholder?.nameservers).toEqual([secondaryLabel]);
      expect(report.domains[0]?.records[0]?.nameservers.map((n) => [n.nameserver, n.state])).toEqual([
        [primaryLabel, 'ok'],
        [secondaryLabel, 'wrong'],
      ]);
      expect(result.code).toBe(1);
    } finally {
      await pair.releaseSecondary();
    }
    const healed = await doctor('--domain', 'lagging.example', '--output', 'json');
    const codes = (JSON.parse(healed.stdout) as DoctorReport).domains[0]?.findings.map((f) => f.code);
    expect(codes).not.toContain('DNS_PLACEHOLDER_KEY');
  });

  it('exits 2 for a domain that is not configured', async () => {
    const result = await doctor('--domain', 'unknown.example');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--domain: "unknown.example" is not configured/);
  });
});
