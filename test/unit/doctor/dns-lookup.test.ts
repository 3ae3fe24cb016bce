/** The doctor's raw TXT lookups against the embedded authoritative server (two of them, one lagging). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { mxRdata } from '../../../emulator/dns/wire.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { NameserverFinder } from '../../../src/adapters/dns/resolve.js';
import { AuthoritativeLookup, buildDoctorDns } from '../../../src/doctor/dns-lookup.js';

let primary: EmbeddedDnsServer;
let secondary: EmbeddedDnsServer;

beforeAll(async () => {
  const store = new ZoneStore();
  store.addZone('lookup.example', { nameservers: ['ns1.lookup.example'] });
  store.setTxt('a._domainkey.lookup.example', ['v=DKIM1; k=rsa; p=AAAA', 'BBBB'], 3600);
  store.addTxt('a._domainkey.lookup.example', 'second record');
  store.setCname('c._domainkey.lookup.example', 'x.dkim.amazonses.com', 1800);
  store.setCname('in._domainkey.lookup.example', 'a._domainkey.lookup.example');
  store.setTxt('sub.lookup.example', 'v=spf1 -all');
  store.setRecords(
    'bounce.lookup.example',
    'MX',
    [mxRdata(10, 'Feedback-SMTP.us-east-1.amazonses.com.'), mxRdata(20, 'mx.lookup.example')],
    900,
  );
  primary = await EmbeddedDnsServer.start({ store });
  secondary = await EmbeddedDnsServer.start({ store: store.snapshot() });
  store.setTxt('late._domainkey.lookup.example', 'v=DKIM1; p=');
});

afterAll(async () => {
  await primary.stop();
  await secondary.stop();
});

function lookup(): AuthoritativeLookup {
  return buildDoctorDns({
    probe: {
      nameservers: [`127.0.0.1:${primary.port}`, `127.0.0.1:${secondary.port}`],
      timeoutMs: 300,
      concurrency: 8,
    },
  }) as AuthoritativeLookup;
}

describe('AuthoritativeLookup', () => {
  it('keeps each record’s character-strings and TTL, per nameserver', async () => {
    const answers = await lookup().lookupTxt('A._domainkey.lookup.example.');
    expect(answers.map((a) => a.nameserver)).toEqual([
      `127.0.0.1:${primary.port}`,
      `127.0.0.1:${secondary.port}`,
    ]);
    for (const a of answers) {
      expect(a.outcome).toBe('answer');
      expect(a.name).toBe('a._domainkey.lookup.example');
      expect(a.txt).toHaveLength(2);
      expect(a.txt).toContainEqual({ strings: ['v=DKIM1; k=rsa; p=AAAA', 'BBBB'], ttl: 3600 });
      expect(a.txt).toContainEqual({ strings: ['second record'], ttl: 3600 });
    }
  });

  it('tells NXDOMAIN from NODATA and names the zone from the SOA', async () => {
    const [nx] = await lookup().lookupTxt('nope._domainkey.lookup.example');
    expect(nx).toMatchObject({ outcome: 'nxdomain', txt: [], zone: 'lookup.example' });
    const [nodata] = await lookup().lookupTxt('lookup.example');
    expect(nodata).toMatchObject({ outcome: 'nodata', zone: 'lookup.example' });
  });

  it('reports CNAMEs, and the TXT at the end of an in-zone chain', async () => {
    const [out] = await lookup().lookupTxt('c._domainkey.lookup.example');
    expect(out).toMatchObject({
      outcome: 'answer',
      txt: [],
      cnames: [{ owner: 'c._domainkey.lookup.example', target: 'x.dkim.amazonses.com', ttl: 1800 }],
    });
    const [inZone] = await lookup().lookupTxt('in._domainkey.lookup.example');
    expect(inZone?.cnames.map((c) => c.target)).toEqual(['a._domainkey.lookup.example']);
    expect(inZone?.txt).toHaveLength(2);
  });

  it('asks every server for MX records: preference, exchange (canonical) and TTL', async () => {
    const answers = await lookup().lookupMx('bounce.lookup.example');
    expect(answers).toHaveLength(2);
    for (const a of answers) {
      expect(a).toMatchObject({ name: 'bounce.lookup.example', outcome: 'answer', cnames: [] });
      expect([...a.mx].sort((x, y) => x.preference - y.preference)).toEqual([
        { preference: 10, exchange: 'feedback-smtp.us-east-1.amazonses.com', ttl: 900 },
        { preference: 20, exchange: 'mx.lookup.example', ttl: 900 },
      ]);
    }
    const [nodata] = await lookup().lookupMx('sub.lookup.example');
    expect(nodata).toMatchObject({ outcome: 'nodata', mx: [], zone: 'lookup.example' });
    const [nx] = await lookup().lookupMx('nope.lookup.example');
    expect(nx).toMatchObject({ outcome: 'nxdomain', mx: [] });
  });

  it('shows a lagging server as it is', async () => {
    const answers = await lookup().lookupTxt('late._domainkey.lookup.example');
    expect(answers.map((a) => a.outcome)).toEqual(['answer', 'nxdomain']);
  });

  it('reports REFUSED and silence as failures, naming the server', async () => {
    const [refused] = await lookup().lookupTxt('x._domainkey.other.example');
    expect(refused).toMatchObject({ outcome: 'failed', failure: { kind: 'refused' } });
    primary.setFault('drop._domainkey.lookup.example', 'drop');
    try {
      const [dropped] = await lookup().lookupTxt('drop._domainkey.lookup.example');
      expect(dropped).toMatchObject({ outcome: 'failed', failure: { kind: 'timeout' } });
    } finally {
      primary.setFault('drop._domainkey.lookup.example', undefined);
    }
  });

  it('finds the zone of a domain through the configured servers', async () => {
    expect(await lookup().zoneOf('lookup.example')).toBe('lookup.example');
    expect(await lookup().zoneOf('sub.lookup.example')).toBe('lookup.example');
    expect(await lookup().zoneOf('other.example')).toBeUndefined();
  });

  it('reports a discovery failure as one pseudo-answer', async () => {
    const broken = new AuthoritativeLookup({
      finder: new NameserverFinder({ resolvers: [`127.0.0.1:${primary.port}`], timeoutMs: 200 }),
      timeoutMs: 200,
    });
    const [answer] = await broken.lookupTxt('x._domainkey.nowhere.invalid');
    expect(answer).toMatchObject({
      nameserver: '(discovery)',
      outcome: 'failed',
      failure: { kind: 'discovery' },
    });
  });
});
