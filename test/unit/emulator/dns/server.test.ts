import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DnsTimeoutError, tcpExchange, udpExchange } from '../../../../emulator/dns/client.js';
import { EmbeddedDnsServer } from '../../../../emulator/dns/server.js';
import {
  decodeMessage,
  encodeQuery,
  parseNameRdata,
  parseSoa,
  parseTxt,
  Rcode,
  RrType,
} from '../../../../emulator/dns/wire.js';
import { ZoneStore } from '../../../../emulator/dns/zone-store.js';

function resolverFor(server: EmbeddedDnsServer, timeout = 1000): Resolver {
  const resolver = new Resolver({ timeout, tries: 1 });
  resolver.setServers([`${server.host}:${server.port}`]);
  return resolver;
}

function dkimValue(bits: number): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
}

/** A value the size of a 4096-bit key record (~740 bytes): does not fit 512 bytes. */
function bigValue(): string {
  return `v=DKIM1; k=rsa; p=${randomBytes(550).toString('base64')}`;
}

async function udp(server: EmbeddedDnsServer, name: string, type: string, edns?: number) {
  const query = encodeQuery(name, type, edns === undefined ? {} : { edns });
  const wire = await udpExchange(server.host, server.port, query);
  return { wire, message: decodeMessage(wire) };
}

describe('EmbeddedDnsServer: queries', () => {
  let store: ZoneStore;
  let server: EmbeddedDnsServer;

  beforeEach(async () => {
    store = new ZoneStore();
    store.addZone('example.com', { nameservers: ['ns1.example.com'] });
    store.addZone('keys.example.net');
    server = await EmbeddedDnsServer.start({ store });
  });

  afterEach(async () => {
    await server.stop();
  });

  it('listens on one port for UDP and TCP', async () => {
    const overUdp = decodeMessage(
      await udpExchange(server.host, server.port, encodeQuery('example.com', 'SOA')),
    );
    const overTcp = decodeMessage(
      await tcpExchange(server.host, server.port, encodeQuery('example.com', 'SOA')),
    );

    expect(server.port).toBeGreaterThan(0);
    expect(overUdp.answers[0]?.type).toBe(RrType.SOA);
    expect(overTcp.answers[0]?.rdata.equals(overUdp.answers[0]?.rdata ?? Buffer.alloc(0))).toBe(true);
    expect(server.requests().map((r) => r.transport)).toEqual(['udp', 'tcp']);
  });

  it('round-trips a 2048-bit DKIM record split in 255-byte strings, byte-exact', async () => {
    const value = dkimValue(2048);
    const strings = value.match(/.{1,255}/g) ?? [];
    store.setTxt('s2048._domainkey.example.com', strings);

    const records = await resolverFor(server).resolveTxt('s2048._domainkey.example.com');
    const raw = await udp(server, 's2048._domainkey.example.com', 'TXT');

    expect(strings.length).toBeGreaterThan(1);
    expect(records).toEqual([strings]);
    expect(records[0]?.join('')).toBe(value);
    expect(parseTxt(raw.message.answers[0]?.rdata ?? Buffer.alloc(0)).map((b) => b.toString())).toEqual(
      strings,
    );
  });

  it('keeps odd character-string boundaries, empty strings and several records as given', async () => {
    const odd = ['v=DKIM1; ', '', 'p=a "b" c;', ' ', 'd'];
    store.setTxt('odd.example.com', odd);
    store.addTxt('odd.example.com', ['second record']);

    const records = await resolverFor(server).resolveTxt('odd.example.com');

    expect(records).toHaveLength(2);
    expect(records).toContainEqual(odd);
    expect(records).toContainEqual(['second record']);
  });

  it('answers authoritatively (AA) in its zones and REFUSED outside them', async () => {
    store.setTxt('a.example.com', 'x');

    const inside = await udp(server, 'A.EXAMPLE.COM', 'TXT');
    const outside = await udp(server, 'example.org', 'TXT');

    expect(inside.message.aa).toBe(true);
    expect(inside.message.questions[0]?.name).toBe('A.EXAMPLE.COM');
    expect(inside.message.answers).toHaveLength(1);
    expect(outside.message.rcode).toBe(Rcode.REFUSED);
    expect(outside.message.aa).toBe(false);
    await expect(resolverFor(server).resolveTxt('example.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('tells NXDOMAIN from NODATA, with the SOA in the authority section', async () => {
    store.setTxt('sel._domainkey.example.com', 'v=DKIM1; p=');
    store.setA('host.example.com', '192.0.2.7');

    const missingName = await udp(server, 'nope.example.com', 'TXT');
    const missingType = await udp(server, 'host.example.com', 'TXT');
    const emptyNonTerminal = await udp(server, '_domainkey.example.com', 'TXT');

    expect(missingName.message.rcode).toBe(Rcode.NXDOMAIN);
    expect(missingType.message.rcode).toBe(Rcode.NOERROR);
    expect(emptyNonTerminal.message.rcode).toBe(Rcode.NOERROR);
    for (const { message } of [missingName, missingType, emptyNonTerminal]) {
      expect(message.answers).toEqual([]);
      expect(message.authorities[0]?.type).toBe(RrType.SOA);
      expect(message.authorities[0]?.name).toBe('example.com');
      expect(message.authorities[0]?.ttl).toBe(
        parseSoa(message.authorities[0]?.rdata ?? Buffer.alloc(0)).minimum,
      );
    }
    const resolver = resolverFor(server);
    await expect(resolver.resolveTxt('nope.example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolveTxt('host.example.com')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('serves NS, SOA, A and AAAA', async () => {
    store.setA('host.example.com', ['192.0.2.1', '192.0.2.2']);
    store.setAaaa('host.example.com', '2001:db8::53');
    const resolver = resolverFor(server);

    expect(await resolver.resolveNs('example.com')).toEqual(['ns1.example.com']);
    expect(await resolver.resolveSoa('example.com')).toMatchObject({ nsname: 'ns1.example.com', serial: 3 });
    expect((await resolver.resolve4('host.example.com')).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(await resolver.resolve6('host.example.com')).toEqual(['2001:db8::53']);
  });

  it('follows CNAME chains inside its zones, across zones it serves, and stops at the edge', async () => {
    store.setCname('s1._domainkey.example.com', 'hop.example.com');
    store.setCname('hop.example.com', 's1.keys.example.net');
    store.setTxt('s1.keys.example.net', 'v=DKIM1; p=KEY');
    store.setCname('out._domainkey.example.com', 'somewhere.example.org');
    store.setCname('dangling._domainkey.example.com', 'missing.keys.example.net');

    const chased = await udp(server, 's1._domainkey.example.com', 'TXT');
    const leaving = await udp(server, 'out._domainkey.example.com', 'TXT');
    const dangling = await udp(server, 'dangling._domainkey.example.com', 'TXT');

    expect(chased.message.answers.map((rr) => rr.type)).toEqual([RrType.CNAME, RrType.CNAME, RrType.TXT]);
    expect(chased.message.answers.map((rr) => rr.name)).toEqual([
      's1._domainkey.example.com',
      'hop.example.com',
      's1.keys.example.net',
    ]);
    expect(leaving.message.rcode).toBe(Rcode.NOERROR);
    expect(leaving.message.answers.map((rr) => parseNameRdata(rr.rdata))).toEqual(['somewhere.example.org']);
    // As BIND: the RCODE is about the end of the chain (RFC 6604).
    expect(dangling.message.rcode).toBe(Rcode.NXDOMAIN);
    expect(dangling.message.answers).toHaveLength(1);
    expect(dangling.message.authorities[0]?.name).toBe('keys.example.net');
    expect(await resolverFor(server).resolveTxt('s1._domainkey.example.com')).toEqual([['v=DKIM1; p=KEY']]);
  });

  it('answers a CNAME query with the CNAME itself, without chasing', async () => {
    store.setCname('alias.example.com', 'host.example.com');
    store.setA('host.example.com', '192.0.2.1');

    const { message } = await udp(server, 'alias.example.com', 'CNAME');

    expect(message.answers.map((rr) => rr.type)).toEqual([RrType.CNAME]);
  });

  it('survives a CNAME loop', async () => {
    store.setCname('a.example.com', 'b.example.com');
    store.setCname('b.example.com', 'a.example.com');

    const { message } = await udp(server, 'a.example.com', 'TXT');

    expect(message.answers.map((rr) => rr.type)).toEqual([RrType.CNAME, RrType.CNAME]);
  });
});

describe('EmbeddedDnsServer: truncation', () => {
  let store: ZoneStore;

  beforeEach(() => {
    store = new ZoneStore();
    store.addZone('example.com');
    store.setTxt('big._domainkey.example.com', bigValue());
  });

  it('sets TC over UDP when the answer exceeds 512 bytes without EDNS; TCP carries it whole', async () => {
    const server = await EmbeddedDnsServer.start({ store });
    try {
      const overUdp = await udp(server, 'big._domainkey.example.com', 'TXT');
      const overTcp = decodeMessage(
        await tcpExchange(server.host, server.port, encodeQuery('big._domainkey.example.com', 'TXT')),
      );
      const viaResolver = await resolverFor(server).resolveTxt('big._domainkey.example.com');

      expect(overUdp.wire.length).toBeLessThanOrEqual(512);
      expect(overUdp.message.tc).toBe(true);
      expect(overUdp.message.answers).toEqual([]);
      expect(overTcp.tc).toBe(false);
      expect(overTcp.answers).toHaveLength(1);
      expect(viaResolver[0]?.join('')).toBe(store.getTxt('big._domainkey.example.com')[0]?.join(''));
    } finally {
      await server.stop();
    }
  });

  it('fits the answer in the EDNS size the client advertises, and in maxUdpPayload when set', async () => {
    const roomy = await EmbeddedDnsServer.start({ store });
    const capped = await EmbeddedDnsServer.start({ store, maxUdpPayload: 600 });
    try {
      const withEdns = await udp(roomy, 'big._domainkey.example.com', 'TXT', 4096);
      const cappedAnswer = await udp(capped, 'big._domainkey.example.com', 'TXT', 4096);
      const small = await udp(capped, 'example.com', 'SOA', 4096);

      expect(withEdns.message.tc).toBe(false);
      expect(withEdns.message.answers).toHaveLength(1);
      expect(withEdns.message.additionals.some((rr) => rr.type === RrType.OPT)).toBe(true);
      expect(cappedAnswer.message.tc).toBe(true);
      expect(small.message.tc).toBe(false);
    } finally {
      await Promise.all([roomy.stop(), capped.stop()]);
    }
  });

  it('answers a dns-packet client the same way', async () => {
    const server = await EmbeddedDnsServer.start({ store });
    try {
      const query = dnsPacket.encode({
        id: 7,
        type: 'query',
        questions: [{ type: 'TXT', name: 'big._domainkey.example.com' }],
      });
      const truncated = dnsPacket.decode(await udpExchange(server.host, server.port, query));
      const whole = dnsPacket.decode(await tcpExchange(server.host, server.port, query));

      expect(truncated.flag_tc).toBe(true);
      expect(whole.flag_aa).toBe(true);
      const data = whole.answers?.[0]?.type === 'TXT' ? whole.answers[0].data : [];
      expect(Buffer.concat([data].flat().map((d) => Buffer.from(d))).toString()).toBe(
        store.getTxt('big._domainkey.example.com')[0]?.join(''),
      );
    } finally {
      await server.stop();
    }
  });
});

describe('EmbeddedDnsServer: faults and lag', () => {
  let server: EmbeddedDnsServer;

  beforeEach(async () => {
    server = await EmbeddedDnsServer.start();
    server.store.addZone('example.com');
    server.store.setTxt('sel._domainkey.example.com', 'v=DKIM1; p=OLD');
  });

  afterEach(async () => {
    await server.stop();
  });

  it('setFault servfail answers SERVFAIL; clearing it restores answers', async () => {
    server.setFault('SEL._domainkey.example.com', 'servfail');
    const resolver = resolverFor(server);

    await expect(resolver.resolveTxt('sel._domainkey.example.com')).rejects.toMatchObject({
      code: 'ESERVFAIL',
    });
    server.setFault('sel._domainkey.example.com', undefined);
    expect(await resolver.resolveTxt('sel._domainkey.example.com')).toEqual([['v=DKIM1; p=OLD']]);
  });

  it('setFault drop never answers, over UDP and TCP: the client times out', async () => {
    server.setFault('sel._domainkey.example.com', 'drop');
    const query = encodeQuery('sel._domainkey.example.com', 'TXT');

    await expect(resolverFor(server, 200).resolveTxt('sel._domainkey.example.com')).rejects.toMatchObject({
      code: 'ETIMEOUT',
    });
    await expect(udpExchange(server.host, server.port, query, { timeoutMs: 200 })).rejects.toBeInstanceOf(
      DnsTimeoutError,
    );
    await expect(tcpExchange(server.host, server.port, query, { timeoutMs: 200 })).rejects.toBeInstanceOf(
      DnsTimeoutError,
    );
    // Other names are unaffected.
    expect(await resolverFor(server).resolveSoa('example.com')).toMatchObject({ serial: 2 });
  });

  it('freeze keeps serving the data as of then; thaw serves live data again', async () => {
    const resolver = resolverFor(server);

    server.freeze();
    server.store.setTxt('sel._domainkey.example.com', 'v=DKIM1; p=NEW');
    server.store.setTxt('added._domainkey.example.com', 'v=DKIM1; p=ADDED');
    const whileFrozen = {
      sel: await resolver.resolveTxt('sel._domainkey.example.com'),
      soa: await resolver.resolveSoa('example.com'),
    };
    await expect(resolver.resolveTxt('added._domainkey.example.com')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    server.thaw();

    expect(whileFrozen.sel).toEqual([['v=DKIM1; p=OLD']]);
    expect(whileFrozen.soa.serial).toBe(2);
    expect(await resolver.resolveTxt('sel._domainkey.example.com')).toEqual([['v=DKIM1; p=NEW']]);
    expect((await resolver.resolveSoa('example.com')).serial).toBe(4);
  });

  it('two servers on one store: a frozen one plays the lagging secondary', async () => {
    const secondary = await EmbeddedDnsServer.start({ store: server.store });
    try {
      secondary.freeze();
      server.store.setTxt('sel._domainkey.example.com', 'v=DKIM1; p=NEW');

      expect(await resolverFor(server).resolveTxt('sel._domainkey.example.com')).toEqual([
        ['v=DKIM1; p=NEW'],
      ]);
      expect(await resolverFor(secondary).resolveTxt('sel._domainkey.example.com')).toEqual([
        ['v=DKIM1; p=OLD'],
      ]);
      secondary.thaw();
      expect(await resolverFor(secondary).resolveTxt('sel._domainkey.example.com')).toEqual([
        ['v=DKIM1; p=NEW'],
      ]);
    } finally {
      await secondary.stop();
    }
  });

  it('answers FORMERR to a garbled request and ignores stray responses', async () => {
    const garbled = Buffer.concat([
      encodeQuery('example.com', 'SOA').subarray(0, 14),
      Buffer.from([0xff, 0xff]),
    ]);
    const stray = Buffer.from(encodeQuery('example.com', 'SOA'));
    stray.writeUInt16BE(stray.readUInt16BE(2) | 0x8000, 2);

    const answer = decodeMessage(await udpExchange(server.host, server.port, garbled));

    expect(answer.rcode).toBe(Rcode.FORMERR);
    await expect(udpExchange(server.host, server.port, stray, { timeoutMs: 200 })).rejects.toBeInstanceOf(
      DnsTimeoutError,
    );
  });
});
