import { createHmac, randomBytes } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  appendUnsignedTsig,
  readTsig,
  signMessage,
  TsigError,
  TsigErrorCode,
  type TsigKey,
  verifyMessage,
} from '../../../src/adapters/dns/tsig.js';

function newKey(name = 'update-key', algorithm: TsigKey['algorithm'] = 'hmac-sha256'): TsigKey {
  return { name, algorithm, secret: randomBytes(32).toString('base64') };
}

function query(id = 4242): Buffer {
  return dnsPacket.encode({
    id,
    type: 'query',
    questions: [{ type: 'TXT', name: 'sel1._domainkey.example.com' }],
  });
}

function response(id = 4242): Buffer {
  return dnsPacket.encode({
    id,
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'TXT', name: 'sel1._domainkey.example.com' }],
    answers: [{ type: 'TXT', name: 'sel1._domainkey.example.com', ttl: 300, data: ['v=DKIM1; p=abc'] }],
  });
}

/** A name in wire format, built label by label (independent of the code under test). */
function wireName(...labels: string[]): Buffer {
  return Buffer.concat([
    ...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'ascii')]),
    Buffer.from([0]),
  ]);
}

function u16(value: number): Buffer {
  return Buffer.from([value >> 8, value & 0xff]);
}

function u48(seconds: number): Buffer {
  const high = Math.floor(seconds / 2 ** 32);
  const low = seconds % 2 ** 32;
  return Buffer.from([
    high >> 8,
    high & 0xff,
    low >>> 24,
    (low >>> 16) & 0xff,
    (low >>> 8) & 0xff,
    low & 0xff,
  ]);
}

const signedAt = new Date('2025-09-11T00:00:00Z');
const signedAtSeconds = Date.UTC(2025, 8, 11) / 1000;

describe('signMessage: reference computation from the RFC 8945 field list', () => {
  it('computes the request MAC over message + TSIG variables in canonical form', () => {
    // Prepare: a mixed-case key name must be digested lowercase (canonical wire format).
    const key = newKey('Update-Key.Example.');
    const message = query();

    // Act
    const { wire, mac } = signMessage(message, key, { now: signedAt });

    // Assess: the MAC input, assembled by hand field by field (RFC 8945 §4.3.1–4.3.3).
    const macInput = Buffer.concat([
      message, // DNS message, ARCOUNT 0, original ID
      wireName('update-key', 'example'), // NAME
      u16(255), // CLASS ANY
      Buffer.from([0, 0, 0, 0]), // TTL 0
      wireName('hmac-sha256'), // Algorithm Name
      u48(signedAtSeconds), // Time Signed
      u16(300), // Fudge
      u16(0), // Error
      u16(0), // Other Len
    ]);
    const expectedMac = createHmac('sha256', Buffer.from(key.secret, 'base64')).update(macInput).digest();
    expect(mac.equals(expectedMac)).toBe(true);

    // ... and the TSIG RR appended after the message, ARCOUNT incremented.
    const expectedRecord = Buffer.concat([
      wireName('update-key', 'example'),
      u16(250), // TYPE TSIG
      u16(255), // CLASS ANY
      Buffer.from([0, 0, 0, 0]),
      u16(wireName('hmac-sha256').length + 10 + 32 + 6), // RDLENGTH
      wireName('hmac-sha256'),
      u48(signedAtSeconds),
      u16(300),
      u16(32), // MAC Size
      expectedMac,
      message.subarray(0, 2), // Original ID
      u16(0), // Error
      u16(0), // Other Len
    ]);
    expect(wire.subarray(message.length).equals(expectedRecord)).toBe(true);
    expect(wire.readUInt16BE(10)).toBe(1);
    expect(wire.subarray(12, message.length).equals(message.subarray(12))).toBe(true);
    const decoded = dnsPacket.decode(wire);
    expect(decoded.additionals?.[0]?.type).toBe('TSIG');
  });

  it('prefixes a response MAC input with the request MAC size and MAC', () => {
    // Prepare
    const key = newKey('update-key', 'hmac-sha512');
    const { mac: requestMac } = signMessage(query(), key, { now: signedAt });
    const answer = response();

    // Act
    const { mac } = signMessage(answer, key, { now: signedAt, requestMac, fudge: 60 });

    // Assess
    const macInput = Buffer.concat([
      u16(requestMac.length),
      requestMac,
      answer,
      wireName('update-key'),
      u16(255),
      Buffer.from([0, 0, 0, 0]),
      wireName('hmac-sha512'),
      u48(signedAtSeconds),
      u16(60),
      u16(0),
      u16(0),
    ]);
    const expectedMac = createHmac('sha512', Buffer.from(key.secret, 'base64')).update(macInput).digest();
    expect(requestMac.length).toBe(64);
    expect(mac.equals(expectedMac)).toBe(true);
  });
});

describe('verifyMessage', () => {
  it('round-trips a signed request and gives back the unsigned message', () => {
    const key = newKey();
    const message = query();
    const { wire, mac } = signMessage(message, key, { now: signedAt });

    const verified = verifyMessage(wire, key, { now: new Date(signedAt.getTime() + 299_000) });

    expect(verified.message.equals(message)).toBe(true);
    expect(verified.mac.equals(mac)).toBe(true);
    expect(verified.keyName).toBe('update-key');
    expect(verified.record.timeSigned).toBe(signedAtSeconds);
  });

  it('round-trips request and response, matching the key among several, case-insensitively', () => {
    const other = newKey('other-key');
    const key = newKey('Update-Key');
    const { wire: request, mac: requestMac } = signMessage(query(), key, { now: signedAt });

    const atServer = verifyMessage(request, [other, { ...key, name: 'update-key.' }], { now: signedAt });
    const { wire: answer } = signMessage(response(), key, { now: signedAt, requestMac: atServer.mac });
    const atClient = verifyMessage(answer, key, { now: signedAt, requestMac });

    expect(atServer.keyName).toBe('update-key');
    expect(atClient.message.equals(response())).toBe(true);
  });

  it('uses the original ID when a forwarder changed the message ID', () => {
    const key = newKey();
    const { wire } = signMessage(query(1111), key, { now: signedAt });
    const forwarded = Buffer.from(wire);
    forwarded.writeUInt16BE(2222, 0);

    const verified = verifyMessage(forwarded, key, { now: signedAt });

    expect(verified.record.originalId).toBe(1111);
    expect(verified.message.readUInt16BE(0)).toBe(2222);
  });

  it('rejects a tampered message with BADSIG', () => {
    const key = newKey();
    const { wire } = signMessage(query(), key, { now: signedAt });
    const tampered = Buffer.from(wire);
    tampered[20] = (tampered[20] ?? 0) ^ 0x20; // one bit of the question name

    expect(() => verifyMessage(tampered, key, { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADSIG', tsigError: TsigErrorCode.BADSIG, origin: 'local' }),
    );
  });

  it('rejects the right key name with the wrong secret (BADSIG) and an unknown key (BADKEY)', () => {
    const key = newKey();
    const { wire } = signMessage(query(), key, { now: signedAt });

    const wrongSecret = { ...key, secret: randomBytes(32).toString('base64') };
    expect(() => verifyMessage(wire, wrongSecret, { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADSIG' }),
    );
    expect(() => verifyMessage(wire, newKey('another-key'), { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADKEY', tsigError: TsigErrorCode.BADKEY }),
    );
    expect(() => verifyMessage(wire, { ...key, algorithm: 'hmac-sha512' }, { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADKEY' }),
    );
  });

  it.each([
    ['late', 301_000],
    ['early', -301_000],
  ])('rejects a time outside the fudge (%s) with BADTIME, after checking the MAC', (_label, skewMs) => {
    const key = newKey();
    const { wire, mac } = signMessage(query(), key, { now: signedAt });

    let caught: unknown;
    try {
      verifyMessage(wire, key, { now: new Date(signedAt.getTime() + skewMs) });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(TsigError);
    const error = caught as TsigError;
    expect(error.code).toBe('TSIG_BADTIME');
    expect(error.retryable).toBe(true);
    // The MAC verified, so a server can sign its BADTIME answer with the request MAC.
    expect(error.record?.mac.equals(mac)).toBe(true);
  });

  it('rejects an unsigned message and a wrong request MAC on a response', () => {
    const key = newKey();
    expect(() => verifyMessage(query(), key)).toThrowError(
      expect.objectContaining({ code: 'TSIG_UNSIGNED' }),
    );

    const { mac: requestMac } = signMessage(query(), key, { now: signedAt });
    const { wire: answer } = signMessage(response(), key, { now: signedAt, requestMac });
    const otherRequestMac = randomBytes(32);
    expect(() => verifyMessage(answer, key, { now: signedAt, requestMac: otherRequestMac })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADSIG' }),
    );
  });

  it('rejects a truncated MAC (BADTRUNC) and a too-short one (FORMERR)', () => {
    const key = newKey();
    const { wire } = signMessage(query(), key, { now: signedAt });
    const found = readTsig(wire);
    if (found === undefined) throw new Error('no TSIG');

    // Rebuild the RR by hand with a shorter MAC.
    const truncateTo = (size: number): Buffer => {
      const message = found.message;
      const rdata = Buffer.concat([
        wireName('hmac-sha256'),
        u48(found.record.timeSigned),
        u16(300),
        u16(size),
        found.record.mac.subarray(0, size),
        message.subarray(0, 2),
        u16(0),
        u16(0),
      ]);
      const rr = Buffer.concat([
        wireName('update-key'),
        u16(250),
        u16(255),
        Buffer.alloc(4),
        u16(rdata.length),
        rdata,
      ]);
      const out = Buffer.concat([message, rr]);
      out.writeUInt16BE(1, 10);
      return out;
    };

    expect(() => verifyMessage(truncateTo(20), key, { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADTRUNC', tsigError: TsigErrorCode.BADTRUNC }),
    );
    expect(() => verifyMessage(truncateTo(8), key, { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_FORMERR' }),
    );
  });

  it('reports a server error carried by an unsigned response (BADSIG) as origin "server"', () => {
    const key = newKey();
    const { mac: requestMac } = signMessage(query(), key, { now: signedAt });
    const errorAnswer = appendUnsignedTsig(response(), {
      keyName: key.name,
      algorithm: key.algorithm,
      timeSigned: signedAtSeconds,
      fudge: 300,
      error: TsigErrorCode.BADSIG,
    });

    expect(() => verifyMessage(errorAnswer, key, { now: signedAt, requestMac })).toThrowError(
      expect.objectContaining({ code: 'TSIG_BADSIG', origin: 'server' }),
    );
  });

  it('reports a signed BADTIME response with the server time', () => {
    const key = newKey();
    const { mac: requestMac } = signMessage(query(), key, { now: signedAt });
    const serverTime = signedAtSeconds + 3600;
    const otherData = u48(serverTime);
    const { wire } = signMessage(response(), key, {
      now: signedAt,
      requestMac,
      error: TsigErrorCode.BADTIME,
      otherData,
      timeSigned: signedAtSeconds,
    });

    let caught: unknown;
    try {
      verifyMessage(wire, key, { now: signedAt, requestMac });
    } catch (error) {
      caught = error;
    }

    expect(caught).toMatchObject({ code: 'TSIG_BADTIME', origin: 'server' });
    expect((caught as TsigError).context.serverTime).toBe(serverTime);
  });

  it('never puts the secret in an error', () => {
    const key = newKey();
    const { wire } = signMessage(query(), key, { now: signedAt });
    const wrongSecret = { ...key, secret: randomBytes(32).toString('base64') };

    let caught: unknown;
    try {
      verifyMessage(wire, wrongSecret, { now: signedAt });
    } catch (error) {
      caught = error;
    }

    const error = caught as TsigError;
    const everything = `${error.message} ${JSON.stringify(error.context)} ${String(error.stack)}`;
    expect(everything).toContain('update-key');
    expect(everything).not.toContain(key.secret);
    expect(everything).not.toContain(wrongSecret.secret);
  });

  it('rejects a TSIG record that is not the last record', () => {
    const key = newKey();
    const { wire } = signMessage(query(), key, { now: signedAt });
    const extra = Buffer.concat([
      wire,
      wireName('x'),
      u16(1),
      u16(1),
      Buffer.alloc(4),
      u16(4),
      Buffer.from([1, 2, 3, 4]),
    ]);
    extra.writeUInt16BE(2, 10);

    expect(() => verifyMessage(extra, key, { now: signedAt })).toThrowError(
      expect.objectContaining({ code: 'TSIG_FORMERR' }),
    );
  });

  it('rejects a key with an empty secret as bad input, naming the key', () => {
    expect(() => signMessage(query(), { name: 'k1', algorithm: 'hmac-sha256', secret: '' })).toThrowError(
      expect.objectContaining({ code: 'TSIG_KEY_INVALID', message: expect.stringContaining('k1') }),
    );
  });
});
