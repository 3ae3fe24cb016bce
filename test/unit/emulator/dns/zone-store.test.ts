import { describe, expect, it } from 'vitest';
import { parseNameRdata, parseSoa } from '../../../../emulator/dns/wire.js';
import { ZoneStore } from '../../../../emulator/dns/zone-store.js';

function storeWithZone(): ZoneStore {
  const store = new ZoneStore();
  store.addZone('Example.COM', { nameservers: ['ns1.example.com', 'ns2.example.net'], ttl: 120 });
  return store;
}

describe('ZoneStore', () => {
  it('creates SOA and NS at the apex, serial 1', () => {
    const store = storeWithZone();

    const soa = store.get('example.com', 'SOA');
    const ns = store.get('EXAMPLE.com.', 'NS');

    expect(store.zones()).toEqual(['example.com']);
    expect(soa?.ttl).toBe(120);
    expect(parseSoa(soa?.rdatas[0] ?? Buffer.alloc(0))).toMatchObject({
      mname: 'ns1.example.com',
      serial: 1,
    });
    expect(ns?.rdatas.map(parseNameRdata)).toEqual(['ns1.example.com', 'ns2.example.net']);
    expect(store.serial('example.com')).toBe(1);
  });

  it('bumps the serial once per change, never for a read', () => {
    const store = storeWithZone();

    store.setTxt('a.example.com', 'one');
    store.addTxt('a.example.com', 'two');
    store.getTxt('a.example.com');
    store.removeTxt('a.example.com');

    expect(store.serial('example.com')).toBe(4);
  });

  it('setTxt replaces the RRset with one record; addTxt adds one more', () => {
    const store = storeWithZone();
    store.setTxt('s._domainkey.example.com', 'old-1');
    store.addTxt('s._domainkey.example.com', 'old-2');

    store.setTxt('S._DomainKey.Example.com', 'new');
    store.addTxt('s._domainkey.example.com', ['x', 'y']);
    store.addTxt('s._domainkey.example.com', ['x', 'y']); // same value: still one record

    expect(store.getTxt('s._domainkey.example.com')).toEqual([['new'], ['x', 'y']]);
  });

  it('splits one long string into 255-byte strings and keeps a string[] exactly as given', () => {
    const store = storeWithZone();
    const long = `v=DKIM1; k=rsa; p=${'A'.repeat(600)}`;
    const odd = ['v=DKIM1; k=rsa; ', '', 'p=AB "quoted" ;; ', 'C'];

    store.setTxt('long.example.com', long);
    store.setTxt('odd.example.com', odd);

    const chunks = store.getTxt('long.example.com')[0] ?? [];
    expect(chunks.map((c) => c.length)).toEqual([255, 255, long.length - 510]);
    expect(chunks.join('')).toBe(long);
    expect(store.getTxt('odd.example.com')).toEqual([odd]);
    expect(() => store.setTxt('bad.example.com', ['x'.repeat(256)])).toThrow(/255 bytes/);
  });

  it('a CNAME replaces other data at its name, and other data replaces a CNAME', () => {
    const store = storeWithZone();
    store.setTxt('sel.example.com', 'v=DKIM1; p=');

    store.setCname('sel.example.com', 'sel.keys.example.net');
    const asAlias = {
      cname: store.get('sel.example.com', 'CNAME'),
      txt: store.get('sel.example.com', 'TXT'),
    };
    store.setTxt('sel.example.com', 'back');

    expect(asAlias.cname?.rdatas.map(parseNameRdata)).toEqual(['sel.keys.example.net']);
    expect(asAlias.txt).toBeUndefined();
    expect(store.get('sel.example.com', 'CNAME')).toBeUndefined();
    expect(() => store.setCname('example.com', 'elsewhere.net')).toThrow(/apex/);
  });

  it('remove() drops one type or every type at a name, but keeps the apex SOA and NS', () => {
    const store = storeWithZone();
    store.setTxt('example.com', 'v=spf1 -all');
    store.setA('host.example.com', ['192.0.2.1', '192.0.2.2']);
    store.setAaaa('host.example.com', '2001:db8::1');

    store.remove('host.example.com', 'A');
    const afterOne = store.get('host.example.com', 'AAAA');
    store.remove('host.example.com');
    store.remove('example.com');

    expect(afterOne?.rdatas[0]?.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(store.get('host.example.com', 'AAAA')).toBeUndefined();
    expect(store.get('example.com', 'TXT')).toBeUndefined();
    expect(store.get('example.com', 'SOA')).toBeDefined();
    expect(store.get('example.com', 'NS')).toBeDefined();
    expect(() => store.remove('example.com', 'NS')).toThrow(/cannot be removed/);
  });

  it('snapshot() is a deep copy', () => {
    const store = storeWithZone();
    store.setTxt('a.example.com', 'before');

    const frozen = store.snapshot();
    store.setTxt('a.example.com', 'after');
    frozen.addTxt('b.example.com', 'only in the copy');

    expect(frozen.getTxt('a.example.com')).toEqual([['before']]);
    expect(store.getTxt('a.example.com')).toEqual([['after']]);
    expect(store.getTxt('b.example.com')).toEqual([]);
    expect(frozen.serial('example.com')).toBe(store.serial('example.com'));
  });

  it('finds the most specific zone and refuses names outside every zone', () => {
    const store = storeWithZone();
    store.addZone('keys.example.com');

    store.setTxt('s1.keys.example.com', 'in the child zone');

    expect(store.findZone('S1.KEYS.example.com')?.origin).toBe('keys.example.com');
    expect(store.getTxt('s1.keys.example.com')).toEqual([['in the child zone']]);
    expect(store.serial('example.com')).toBe(1);
    expect(() => store.setTxt('a.example.org', 'x')).toThrow(/none of the zones/);
    expect(() => store.addZone('example.com')).toThrow(/already exists/);
  });
});
