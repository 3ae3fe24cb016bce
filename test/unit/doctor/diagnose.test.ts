/**
 * The doctor end to end in process: fake state and SES, the embedded authoritative DNS
 * server (a primary and a lagging copy) for DNS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
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
  for (const zone of ['good.example', 'bad.example', 'org.example']) store.addZone(zone);
  // good.example: active + standby published, DMARC strict.
  store.setTxt('good-1._domainkey.good.example', buildDkimRecordValue(A));
  store.setTxt('good-2._domainkey.good.example', buildDkimRecordValue(B));
  store.setTxt('_dmarc.good.example', 'v=DMARC1; p=reject; adkim=s');
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

  states = {
    'good.example': domainState([keyEntry('good-1', A, 'active'), keyEntry('good-2', B, 'verified')], {
      domain: 'good.example',
    }),
    'bad.example': domainState([keyEntry('bad-1', A, 'active')], { domain: 'bad.example' }),
    'mail.org.example': domainState([keyEntry('org-1', A, 'active')], { domain: 'mail.org.example' }),
  };
  views = {
    'good.example': { tokens: ['good-1'] },
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
