/**
 * The doctor end to end in process: fake state and SES, the embedded authoritative DNS
 * server (a primary and a lagging copy) for DNS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { mxRdata } from '../../../emulator/dns/wire.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { type DoctorDomain, diagnose, mergeFindings } from '../../../src/doctor/diagnose.js';
import { buildDoctorDns } from '../../../src/doctor/dns-lookup.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import type { DomainState } from '../../../src/domain/state.js';
import type { SesDkimView } from '../../../src/ports.js';
import { testKey } from '../../support/keys.js';
import { domainState, keyEntry, NOW, sesView } from './support.js';

let primary: EmbeddedDnsServer;
let lagging: EmbeddedDnsServer;
let A: string;
let B: string;
let states: Record<string, DomainState>;
let views: Record<string, Partial<SesDkimView>>;

function target(domain: string, overrides: Partial<DoctorDomain> = {}): DoctorDomain {
  return {
    domain,
    regions: ['us-east-1'],
    createIdentity: false,
    graceDays: 7,
    ttl: 300,
    delegatedTo: undefined,
    ...overrides,
  };
}

function deps() {
  return {
    state: {
      description: 'memory',
      load: async (domain: string) => (states[domain] ? { value: states[domain], version: '1' } : undefined),
    },
    ses: {
      describe: async (identity: string, region: string): Promise<SesDkimView> => {
        if (identity === 'throttled.example') throw new Error('ThrottlingException: Rate exceeded');
        const view = views[identity];
        return view === undefined
          ? { identity, region, exists: false, tokens: [] }
          : sesView({ identity, region, ...view });
      },
    },
    dns: buildDoctorDns({
      probe: {
        nameservers: [`127.0.0.1:${primary.port}`, `127.0.0.1:${lagging.port}`],
        timeoutMs: 300,
        concurrency: 16,
      },
    }),
    now: NOW,
  };
}

beforeAll(async () => {
  A = (await testKey('doctor-diagnose-a')).publicKey;
  B = (await testKey('doctor-diagnose-b')).publicKey;
  const store = new ZoneStore();
  for (const zone of ['good.example', 'bad.example', 'org.example', 'bounce.example']) store.addZone(zone);
  // good.example: active + standby published, DMARC strict DKIM alignment (relaxed SPF),
  // an aligned MAIL FROM subdomain.
  store.setTxt('good-1._domainkey.good.example', buildDkimRecordValue(A));
  store.setTxt('good-2._domainkey.good.example', buildDkimRecordValue(B));
  store.setTxt('_dmarc.good.example', 'v=DMARC1; p=reject; adkim=s');
  store.setRecords('mail.good.example', 'MX', [mxRdata(10, 'feedback-smtp.us-east-1.amazonses.com')]);
  store.setTxt('mail.good.example', 'v=spf1 include:amazonses.com ~all');
  // bounce.example: its MAIL FROM pointed at another region's SES and had no SPF (fixed
  // on the primary only, below), and its DMARC wants strict SPF alignment.
  store.setTxt('b-1._domainkey.bounce.example', buildDkimRecordValue(A));
  store.setTxt('_dmarc.bounce.example', 'v=DMARC1; p=reject; aspf=s');
  store.setRecords('mail.bounce.example', 'MX', [mxRdata(10, 'feedback-smtp.eu-west-1.amazonses.com')]);
  // bad.example: doubled name, and SES holds a selector byodkim does not know.
  store.setTxt('bad-1._domainkey.bad.example.bad.example', buildDkimRecordValue(A));
  store.setTxt('stranger._domainkey.bad.example', 'v=DKIM1; k=rsa; p=customerProvidedPublicKey');
  // mail.org.example: a subdomain in org.example's zone, DMARC inherited from the organizational domain.
  store.setTxt('org-1._domainkey.mail.org.example', buildDkimRecordValue(A));
  store.setTxt('_dmarc.org.example', 'v=DMARC1; p=quarantine; sp=none; pct=100');
  primary = await EmbeddedDnsServer.start({ store });
  lagging = await EmbeddedDnsServer.start({ store: store.snapshot() });
  // Fixed on the primary only: the lagging server still serves the placeholder.
  store.setTxt('stranger._domainkey.bad.example', buildDkimRecordValue(B));
  store.setRecords('mail.bounce.example', 'MX', [mxRdata(10, 'feedback-smtp.us-east-1.amazonses.com')]);
  store.setTxt('mail.bounce.example', 'v=spf1 include:amazonses.com -all');

  states = {
    'good.example': domainState([keyEntry('good-1', A, 'active'), keyEntry('good-2', B, 'verified')], {
      domain: 'good.example',
    }),
    'bad.example': domainState([keyEntry('bad-1', A, 'active')], { domain: 'bad.example' }),
    'mail.org.example': domainState([keyEntry('org-1', A, 'active')], { domain: 'mail.org.example' }),
    'bounce.example': domainState([keyEntry('b-1', A, 'active')], { domain: 'bounce.example' }),
  };
  views = {
    'good.example': { tokens: ['good-1'], mailFromDomain: 'mail.good.example', mailFromStatus: 'SUCCESS' },
    'bounce.example': {
      tokens: ['b-1'],
      mailFromDomain: 'mail.bounce.example',
      mailFromStatus: 'SUCCESS',
      mailFromBehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    },
    'bad.example': { tokens: ['stranger'], status: 'PENDING', verificationError: 'INVALID_VALUE' },
    'mail.org.example': { tokens: ['org-1'] },
  };
});

afterAll(async () => {
  await primary.stop();
  await lagging.stop();
});

describe('diagnose', () => {
  it('finds nothing wrong with a healthy domain, and shows its policy', async () => {
    const report = await diagnose([target('good.example')], deps());
    const [domain] = report.domains;
    expect(report.healthy).toBe(true);
    expect(domain?.findings.map((f) => f.code).sort()).toEqual(['DMARC_ADKIM_STRICT', 'DMARC_POLICY']);
    expect(domain?.records.map((r) => [r.selector, r.role, r.nameservers.map((n) => n.state)])).toEqual([
      ['good-1', 'active', ['ok', 'ok']],
      ['good-2', 'standby', ['ok', 'ok']],
    ]);
    // One finding for what both nameservers serve alike.
    expect(domain?.findings[0]?.nameservers).toHaveLength(2);
    expect(domain?.dmarc).toEqual({
      name: '_dmarc.good.example',
      record: 'v=DMARC1; p=reject; adkim=s',
      inherited: false,
    });
    expect(domain?.mailFrom).toEqual([
      {
        region: 'us-east-1',
        mailFromDomain: 'mail.good.example',
        status: 'SUCCESS',
        nameservers: [
          { nameserver: `127.0.0.1:${primary.port}`, mx: 'ok', spf: 'ok' },
          { nameserver: `127.0.0.1:${lagging.port}`, mx: 'ok', spf: 'ok' },
        ],
      },
    ]);
  });

  it('reports a region without a custom MAIL FROM: DMARC has nothing during a switch gap', async () => {
    const report = await diagnose([target('bad.example')], deps());
    const missing = report.domains[0]?.findings.filter((f) => f.code === 'MAIL_FROM_MISSING');
    // SES does not sign with the domain's key there now (DKIM PENDING): mail fails DMARC now.
    expect(missing).toMatchObject([{ severity: 'error', region: 'us-east-1', nameservers: [] }]);
    expect(missing?.[0]?.fix).toContain('--mail-from-domain bounce.bad.example');
    expect(report.domains[0]?.mailFrom).toEqual([{ region: 'us-east-1', nameservers: [] }]);
  });

  it('checks the MAIL FROM’s MX and SPF on every nameserver, and DMARC aspf', async () => {
    const report = await diagnose([target('bounce.example')], deps());
    const [domain] = report.domains;
    const laggingLabel = `127.0.0.1:${lagging.port}`;
    const find = (code: string) => domain?.findings.find((f) => f.code === code);
    // Only the lagging server still serves the other region's MX and no SPF.
    expect(find('MAIL_FROM_MX_WRONG')).toMatchObject({
      severity: 'warning',
      region: 'us-east-1',
      name: 'mail.bounce.example',
      nameservers: [laggingLabel],
    });
    expect(find('MAIL_FROM_SPF_MISSING')).toMatchObject({
      severity: 'warning',
      nameservers: [laggingLabel],
    });
    expect(find('DMARC_ASPF_STRICT')).toMatchObject({ severity: 'warning', name: '_dmarc.bounce.example' });
    expect(find('DMARC_ASPF_STRICT')?.nameservers).toHaveLength(2);
    expect(domain?.mailFrom[0]?.nameservers).toEqual([
      { nameserver: `127.0.0.1:${primary.port}`, mx: 'ok', spf: 'ok' },
      { nameserver: laggingLabel, mx: 'wrong', spf: 'missing' },
    ]);
    expect(domain?.mailFrom[0]?.behaviorOnMxFailure).toBe('USE_DEFAULT_VALUE');
    expect(domain?.findings.map((f) => f.code)).not.toContain('MAIL_FROM_MISSING');
  });

  it('names each problem, per nameserver, with SES’s view beside it', async () => {
    const report = await diagnose([target('bad.example')], deps());
    const [domain] = report.domains;
    expect(report.healthy).toBe(false);
    const codes = domain?.findings.map((f) => f.code);
    expect(codes).toEqual(
      expect.arrayContaining([
        'DNS_NAME_DOUBLED',
        'DNS_RECORD_MISSING',
        'SES_SELECTOR_MISMATCH',
        'SES_DKIM_PENDING',
        'DNS_PLACEHOLDER_KEY',
        'DMARC_MISSING',
      ]),
    );
    const doubled = domain?.findings.find((f) => f.code === 'DNS_NAME_DOUBLED');
    expect(doubled).toMatchObject({ severity: 'error', name: 'bad-1._domainkey.bad.example.bad.example' });
    expect(doubled?.nameservers).toHaveLength(2);
    // The placeholder is only on the lagging server; the fixed primary serves a key byodkim cannot compare.
    const placeholder = domain?.findings.find((f) => f.code === 'DNS_PLACEHOLDER_KEY');
    expect(placeholder?.nameservers).toEqual([`127.0.0.1:${lagging.port}`]);
    expect(placeholder?.selector).toBe('stranger');
    const order = (domain?.findings ?? []).map((f) => ['error', 'warning', 'info'].indexOf(f.severity));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('inherits DMARC from the organizational domain for a subdomain', async () => {
    const report = await diagnose([target('mail.org.example')], deps());
    const [domain] = report.domains;
    expect(domain?.zone).toBe('org.example');
    expect(domain?.dmarc).toMatchObject({ name: '_dmarc.org.example', inherited: true });
    const policy = domain?.findings.find((f) => f.code === 'DMARC_POLICY');
    expect(policy?.seen).toMatch(
      /inherited from _dmarc\.org\.example: sp=none applies to mail\.org\.example/,
    );
    expect(domain?.findings.map((f) => f.code)).not.toContain('DMARC_MISSING');
  });

  it('keeps one domain’s failures its own', async () => {
    const report = await diagnose([target('throttled.example'), target('good.example')], deps());
    expect(report.domains.map((d) => d.healthy)).toEqual([false, true]);
    expect(report.domains[0]?.findings.map((f) => f.code)).toContain('SES_READ_FAILED');
    expect(report.counts.error).toBeGreaterThan(0);
  });
});

describe('mergeFindings', () => {
  it('merges the same observation on several nameservers and orders by severity', () => {
    const base = { code: 'X', severity: 'warning' as const, seen: 's', fix: 'f', name: 'n' };
    const merged = mergeFindings('d', [
      { ...base, nameserver: 'ns1' },
      { ...base, code: 'Y', severity: 'error', nameserver: 'ns1' },
      { ...base, nameserver: 'ns2' },
      { ...base, seen: 'other', nameserver: 'ns2' },
    ]);
    expect(merged.map((f) => [f.code, f.nameservers])).toEqual([
      ['Y', ['ns1']],
      ['X', ['ns1', 'ns2']],
      ['X', ['ns2']],
    ]);
  });
});
