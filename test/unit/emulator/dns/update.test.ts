import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../../emulator/clock.js';
import { tcpExchange, udpExchange } from '../../../../emulator/dns/client.js';
import { EmbeddedDnsServer } from '../../../../emulator/dns/server.js';
import {
  addRecord,
  deleteName,
  deleteRecord,
  deleteRRset,
  encodeUpdate,
  exists,
  existsWithValue,
  notExists,
} from '../../../../emulator/dns/update.js';
import {
  decodeMessage,
  encodeRecord,
  nameRdata,
  Opcode,
  Rcode,
  type ResourceRecord,
  RrClass,
  txtRdata,
} from '../../../../emulator/dns/wire.js';
import { ZoneStore } from '../../../../emulator/dns/zone-store.js';
import {
  readTsig,
  signMessage,
  TsigError,
  TsigErrorCode,
  type TsigKey,
  verifyMessage,
} from '../../../../src/adapters/dns/tsig.js';

const ZONE = 'example.com';
const SEL = `s1._domainkey.${ZONE}`;

function newKey(name = 'byodkim-update'): TsigKey {
  return { name, algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
}

describe('EmbeddedDnsServer: RFC 2136 UPDATE with TSIG', () => {
  let key: TsigKey;
  let clock: VirtualClock;
  let server: EmbeddedDnsServer;

  /** Signs, sends, verifies the signed answer and returns its RCODE. */
  async function update(
    opts: { prerequisites?: ResourceRecord[]; updates: ResourceRecord[] },
    transport: 'udp' | 'tcp' = 'udp',
  ): Promise<number> {
    const { wire, mac } = signMessage(encodeUpdate(ZONE, opts), key, { now: clock.now() });
    const send = transport === 'udp' ? udpExchange : tcpExchange;
    const answer = await send(server.host, server.port, wire);
    const { message } = verifyMessage(answer, key, { requestMac: mac, now: clock.now() });
    const decoded = decodeMessage(message);
    expect(decoded.opcode).toBe(Opcode.UPDATE);
    expect(decoded.qr).toBe(true);
    return decoded.rcode;
  }

  beforeEach(async () => {
    key = newKey();
    // The server checks TSIG time against the clock it is given, here a virtual one.
    clock = new VirtualClock('2030-01-01T00:00:00Z');
    const store = new ZoneStore();
    store.addZone(ZONE);
    server = await EmbeddedDnsServer.start({ store, tsigKeys: [newKey('other-key'), key], clock });
  });

  afterEach(async () => {
    await server.stop();
  });

  it.each(['udp', 'tcp'] as const)(
    'applies a signed update over %s and signs its answer',
    async (transport) => {
      const before = server.store.serial(ZONE);

      const rcode = await update(
        {
          updates: [
            addRecord(SEL, 'TXT', txtRdata(['v=DKIM1; k=rsa; ', 'p=KEY']), 60),
            addRecord(`s2._domainkey.${ZONE}`, 'TXT', txtRdata(['v=DKIM1; p=TWO']), 60),
          ],
        },
        transport,
      );

      expect(rcode).toBe(Rcode.NOERROR);
      expect(server.store.getTxt(SEL)).toEqual([['v=DKIM1; k=rsa; ', 'p=KEY']]);
      expect(server.store.get(SEL, 'TXT')?.ttl).toBe(60);
      // One update message, one new version.
      expect(server.store.serial(ZONE)).toBe(before + 1);
      expect(server.requests().at(-1)).toMatchObject({ opcode: Opcode.UPDATE, tsigKey: 'byodkim-update' });
    },
  );

  it('delete-one-RR (class NONE) leaves the other TXT record at the same name', async () => {
    server.store.setTxt(SEL, 'v=DKIM1; p=OLD');
    server.store.addTxt(SEL, 'v=DKIM1; p=NEW');

    const rcode = await update({ updates: [deleteRecord(SEL, 'TXT', txtRdata(['v=DKIM1; p=OLD']))] });

    expect(rcode).toBe(Rcode.NOERROR);
    expect(server.store.getTxt(SEL)).toEqual([['v=DKIM1; p=NEW']]);
  });

  it('delete RRset and delete-all-at-name; the apex keeps its SOA and NS', async () => {
    server.store.setTxt(SEL, 'v=DKIM1; p=X');
    server.store.setA(SEL, '192.0.2.1');
    server.store.setTxt(ZONE, 'v=spf1 -all');

    expect(await update({ updates: [deleteRRset(SEL, 'TXT')] })).toBe(Rcode.NOERROR);
    const afterRRset = { txt: server.store.get(SEL, 'TXT'), a: server.store.get(SEL, 'A') };
    expect(await update({ updates: [deleteName(SEL), deleteName(ZONE)] })).toBe(Rcode.NOERROR);

    expect(afterRRset.txt).toBeUndefined();
    expect(afterRRset.a).toBeDefined();
    expect(server.store.get(SEL, 'A')).toBeUndefined();
    expect(server.store.get(ZONE, 'TXT')).toBeUndefined();
    expect(server.store.get(ZONE, 'SOA')).toBeDefined();
    expect(server.store.get(ZONE, 'NS')).toBeDefined();
  });

  it.each([
    ['name is in use, and it is', () => [exists(SEL)], Rcode.NOERROR],
    ['name in use, but it is not', () => [exists(`none.${ZONE}`)], Rcode.NXDOMAIN],
    ['name not in use, but it is', () => [notExists(SEL)], Rcode.YXDOMAIN],
    ['RRset exists (value-independent), but it does not', () => [exists(SEL, 'A')], Rcode.NXRRSET],
    ['RRset does not exist, but it does', () => [notExists(SEL, 'TXT')], Rcode.YXRRSET],
    [
      'RRset exists with exactly these values',
      () => [existsWithValue(SEL, 'TXT', txtRdata(['v=DKIM1; p=OLD']))],
      Rcode.NOERROR,
    ],
    [
      'RRset exists with these values, but the value differs',
      () => [existsWithValue(SEL, 'TXT', txtRdata(['v=DKIM1; p=OTHER']))],
      Rcode.NXRRSET,
    ],
    [
      'RRset exists with these values, but the zone has one more',
      () => [existsWithValue(`two.${ZONE}`, 'TXT', txtRdata(['a']))],
      Rcode.NXRRSET,
    ],
  ])('prerequisite: %s', async (_label, prerequisites, expected) => {
    server.store.setTxt(SEL, 'v=DKIM1; p=OLD');
    server.store.setTxt(`two.${ZONE}`, 'a');
    server.store.addTxt(`two.${ZONE}`, 'b');
    const before = server.store.serial(ZONE);

    const rcode = await update({
      prerequisites: prerequisites(),
      updates: [addRecord(`marker.${ZONE}`, 'TXT', txtRdata(['applied']))],
    });

    expect(rcode).toBe(expected);
    // A failed prerequisite changes nothing at all.
    const applied = server.store.getTxt(`marker.${ZONE}`).length === 1;
    expect(applied).toBe(expected === Rcode.NOERROR);
    expect(server.store.serial(ZONE)).toBe(expected === Rcode.NOERROR ? before + 1 : before);
  });

  it('rejects records outside the zone (NOTZONE), an unknown zone (NOTAUTH), malformed updates (FORMERR)', async () => {
    expect(await update({ updates: [addRecord('s1.example.org', 'TXT', txtRdata(['x']))] })).toBe(
      Rcode.NOTZONE,
    );
    const badDelete: ResourceRecord = { ...deleteRRset(SEL, 'TXT'), ttl: 60 };
    expect(await update({ updates: [badDelete] })).toBe(Rcode.FORMERR);
    const badAdd: ResourceRecord = { ...addRecord(SEL, 'TXT', Buffer.alloc(0)), type: 255 };
    expect(await update({ updates: [badAdd] })).toBe(Rcode.FORMERR);

    const foreign = signMessage(
      encodeUpdate('example.org', { updates: [addRecord('a.example.org', 'TXT', txtRdata(['x']))] }),
      key,
      { now: clock.now() },
    );
    const answer = await udpExchange(server.host, server.port, foreign.wire);
    const { message } = verifyMessage(answer, key, { requestMac: foreign.mac, now: clock.now() });
    expect(decodeMessage(message).rcode).toBe(Rcode.NOTAUTH);
  });

  it('ignores an add that would put a CNAME beside other data', async () => {
    server.store.setTxt(SEL, 'v=DKIM1; p=X');

    const rcode = await update({ updates: [addRecord(SEL, 'CNAME', nameRdata(`keys.${ZONE}`))] });

    expect(rcode).toBe(Rcode.NOERROR);
    expect(server.store.get(SEL, 'CNAME')).toBeUndefined();
    expect(server.store.getTxt(SEL)).toEqual([['v=DKIM1; p=X']]);
  });

  it('a wrong secret gets NOTAUTH with an unsigned BADSIG, and nothing changes', async () => {
    const forged = { ...key, secret: randomBytes(32).toString('base64') };
    const { wire, mac } = signMessage(
      encodeUpdate(ZONE, { updates: [addRecord(SEL, 'TXT', txtRdata(['forged']))] }),
      forged,
      { now: clock.now() },
    );

    const answer = await udpExchange(server.host, server.port, wire);

    expect(decodeMessage(answer).rcode).toBe(Rcode.NOTAUTH);
    expect(readTsig(answer)?.record).toMatchObject({ error: TsigErrorCode.BADSIG, mac: Buffer.alloc(0) });
    expect(() => verifyMessage(answer, forged, { requestMac: mac, now: clock.now() })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADSIG', origin: 'server' }),
    );
    expect(server.store.getTxt(SEL)).toEqual([]);
  });

  it('an unknown key gets NOTAUTH with an unsigned BADKEY', async () => {
    const stranger = newKey('stranger');
    const { wire, mac } = signMessage(
      encodeUpdate(ZONE, { updates: [addRecord(SEL, 'TXT', txtRdata(['x']))] }),
      stranger,
      { now: clock.now() },
    );

    const answer = await tcpExchange(server.host, server.port, wire);

    expect(decodeMessage(answer).rcode).toBe(Rcode.NOTAUTH);
    expect(() => verifyMessage(answer, stranger, { requestMac: mac, now: clock.now() })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADKEY', origin: 'server' }),
    );
  });

  it('a skewed clock gets a signed BADTIME carrying the server time', async () => {
    const skewed = new Date(clock.now().getTime() - 3600_000);
    const { wire, mac } = signMessage(
      encodeUpdate(ZONE, { updates: [addRecord(SEL, 'TXT', txtRdata(['late']))] }),
      key,
      { now: skewed },
    );

    const answer = await udpExchange(server.host, server.port, wire);

    let caught: unknown;
    try {
      verifyMessage(answer, key, { requestMac: mac, now: skewed });
    } catch (error) {
      caught = error;
    }
    expect(decodeMessage(answer).rcode).toBe(Rcode.NOTAUTH);
    expect(caught).toBeInstanceOf(TsigError);
    expect(caught).toMatchObject({ code: 'TSIG_BADTIME', origin: 'server' });
    expect((caught as TsigError).context.serverTime).toBe(clock.now().getTime() / 1000);
    expect(server.store.getTxt(SEL)).toEqual([]);
  });

  it('refuses an unsigned update when keys are configured', async () => {
    const unsigned = encodeUpdate(ZONE, { updates: [addRecord(SEL, 'TXT', txtRdata(['x']))] });

    const answer = decodeMessage(await udpExchange(server.host, server.port, unsigned));

    expect(answer.rcode).toBe(Rcode.REFUSED);
    expect(server.store.getTxt(SEL)).toEqual([]);
  });

  it('signs the answer to a signed query', async () => {
    server.store.setTxt(SEL, 'v=DKIM1; p=Q');
    const query = encodeUpdate(ZONE, { updates: [] });
    query.writeUInt16BE(0, 2); // opcode QUERY
    const { wire, mac } = signMessage(query, key, { now: clock.now() });

    const answer = await udpExchange(server.host, server.port, wire);

    expect(() => verifyMessage(answer, key, { requestMac: mac, now: clock.now() })).not.toThrow();
  });
});

describe('EmbeddedDnsServer: UPDATE without keys', () => {
  it('accepts unsigned updates when no tsigKeys are configured', async () => {
    const server = await EmbeddedDnsServer.start();
    server.store.addZone(ZONE);
    try {
      const answer = decodeMessage(
        await udpExchange(
          server.host,
          server.port,
          encodeUpdate(ZONE, { updates: [addRecord(SEL, 'TXT', txtRdata(['open']))] }),
        ),
      );

      expect(answer.rcode).toBe(Rcode.NOERROR);
      expect(server.store.getTxt(SEL)).toEqual([['open']]);
    } finally {
      await server.stop();
    }
  });

  it('encodes class NONE and empty RDATA as RFC 2136 wants them', () => {
    const wire = encodeRecord(deleteRecord(SEL, 'TXT', txtRdata(['x'])));
    const anyWire = encodeRecord(deleteRRset(SEL, 'A'));
    const nameLength = SEL.length + 2;

    expect(wire.readUInt16BE(nameLength + 2)).toBe(RrClass.NONE);
    expect(wire.readUInt32BE(nameLength + 4)).toBe(0);
    expect(anyWire.readUInt16BE(nameLength + 2)).toBe(RrClass.ANY);
    expect(anyWire.readUInt16BE(nameLength + 8)).toBe(0);
    expect(
      decodeMessage(encodeUpdate(ZONE, { updates: [deleteRRset(SEL, 'A')] })).authorities[0],
    ).toMatchObject({
      type: 1,
      class: RrClass.ANY,
      rdata: Buffer.alloc(0),
    });
  });
});
