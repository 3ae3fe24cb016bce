import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpExchange, udpExchange } from '../../../emulator/dns/client.js';
import { addRecord, deleteRecord, encodeUpdate } from '../../../emulator/dns/update.js';
import { decodeMessage, encodeQuery, parseTxt, Rcode, RrType, txtRdata } from '../../../emulator/dns/wire.js';
import {
  signMessage,
  type TsigAlgorithm,
  TsigError,
  type TsigKey,
  verifyMessage,
} from '../../../src/adapters/dns/tsig.js';
import { type BindPair, bindSkipReason, startBindPair } from '../../support/bind.js';

const skipReason = bindSkipReason();
if (skipReason !== undefined) console.warn(`skipping TSIG interop with BIND: ${skipReason}`);

const ZONE = 'tsig.example';

async function txtAt(pair: BindPair, name: string): Promise<string[]> {
  const answer = decodeMessage(
    await udpExchange(pair.primary.host, pair.primary.port, encodeQuery(name, 'TXT')),
  );
  return answer.answers
    .filter((rr) => rr.type === RrType.TXT)
    .map((rr) => Buffer.concat(parseTxt(rr.rdata)).toString('utf8'))
    .sort();
}

type Transport = 'udp' | 'tcp';

function send(pair: BindPair, wire: Buffer, transport: Transport): Promise<Buffer> {
  const { host, port } = pair.primary;
  return transport === 'udp' ? udpExchange(host, port, wire) : tcpExchange(host, port, wire);
}

describe.skipIf(skipReason !== undefined).each<TsigAlgorithm>(['hmac-sha256', 'hmac-sha512'])(
  'TSIG against BIND 9 (%s)',
  (algorithm) => {
    let pair: BindPair;
    let key: TsigKey;

    beforeAll(async () => {
      key = { name: `byodkim-${algorithm}`, algorithm, secret: randomBytes(48).toString('base64') };
      pair = await startBindPair({ zones: [{ origin: ZONE }], tsig: key });
    });

    afterAll(async () => {
      await pair?.stop();
    });

    it.each<Transport>(['udp', 'tcp'])(
      'BIND accepts an update we sign over %s, and we verify its signed answer',
      async (transport) => {
        // Prepare
        const name = `sel-${transport}._domainkey.${ZONE}`;
        const update = encodeUpdate(ZONE, {
          updates: [addRecord(name, 'TXT', txtRdata([`v=DKIM1; p=${transport}`]), 60)],
        });
        const { wire, mac } = signMessage(update, key);

        // Act
        const answer = await send(pair, wire, transport);
        const verified = verifyMessage(answer, key, { requestMac: mac });

        // Assess
        const message = decodeMessage(verified.message);
        expect(message.qr).toBe(true);
        expect(message.id).toBe(update.readUInt16BE(0));
        expect(message.rcode).toBe(Rcode.NOERROR);
        expect(verified.keyName).toBe(key.name);
        expect(await txtAt(pair, name)).toEqual([`v=DKIM1; p=${transport}`]);
      },
    );

    it('deletes one TXT record by value and leaves the other (class NONE)', async () => {
      const name = `two._domainkey.${ZONE}`;
      const add = signMessage(
        encodeUpdate(ZONE, {
          updates: [
            addRecord(name, 'TXT', txtRdata(['first']), 60),
            addRecord(name, 'TXT', txtRdata(['second']), 60),
          ],
        }),
        key,
      );
      verifyMessage(await send(pair, add.wire, 'udp'), key, { requestMac: add.mac });
      expect(await txtAt(pair, name)).toEqual(['first', 'second']);

      const remove = signMessage(
        encodeUpdate(ZONE, { updates: [deleteRecord(name, 'TXT', txtRdata(['first']))] }),
        key,
      );
      const verified = verifyMessage(await send(pair, remove.wire, 'tcp'), key, { requestMac: remove.mac });

      expect(decodeMessage(verified.message).rcode).toBe(Rcode.NOERROR);
      expect(await txtAt(pair, name)).toEqual(['second']);
    });

    it('verifies the signed answer BIND gives to a signed query', async () => {
      const { wire, mac } = signMessage(encodeQuery(ZONE, 'SOA'), key);

      const verified = verifyMessage(await send(pair, wire, 'udp'), key, { requestMac: mac });

      const message = decodeMessage(verified.message);
      expect(message.aa).toBe(true);
      expect(message.answers.some((rr) => rr.type === RrType.SOA)).toBe(true);
    });

    it('a wrong secret is refused: BIND answers NOTAUTH/BADSIG and nothing changes', async () => {
      const name = `forged._domainkey.${ZONE}`;
      const forged = { ...key, secret: randomBytes(48).toString('base64') };
      const { wire, mac } = signMessage(
        encodeUpdate(ZONE, { updates: [addRecord(name, 'TXT', txtRdata(['forged']), 60)] }),
        forged,
      );

      const answer = await send(pair, wire, 'udp');

      expect(decodeMessage(answer).rcode).toBe(Rcode.NOTAUTH);
      let caught: unknown;
      try {
        verifyMessage(answer, forged, { requestMac: mac });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TsigError);
      expect(caught).toMatchObject({ code: 'TSIG_BADSIG', origin: 'server' });
      expect((caught as TsigError).message).toContain(key.name);
      expect((caught as TsigError).message).not.toContain(forged.secret);
      expect(await txtAt(pair, name)).toEqual([]);
    });

    it('an unknown key name is refused with BADKEY', async () => {
      const stranger: TsigKey = {
        name: 'nobody-knows-me',
        algorithm,
        secret: randomBytes(32).toString('base64'),
      };
      const { wire, mac } = signMessage(
        encodeUpdate(ZONE, { updates: [addRecord(`x.${ZONE}`, 'TXT', txtRdata(['x']), 60)] }),
        stranger,
      );

      const answer = await send(pair, wire, 'tcp');

      expect(decodeMessage(answer).rcode).toBe(Rcode.NOTAUTH);
      expect(() => verifyMessage(answer, stranger, { requestMac: mac })).toThrowError(
        expect.objectContaining({ code: 'TSIG_BADKEY', origin: 'server' }),
      );
    });

    it('a clock off by an hour gets a signed BADTIME answer carrying the server time', async () => {
      const skewed = new Date(Date.now() - 3600_000);
      const { wire, mac } = signMessage(
        encodeUpdate(ZONE, { updates: [addRecord(`late.${ZONE}`, 'TXT', txtRdata(['late']), 60)] }),
        key,
        { now: skewed },
      );

      const answer = await send(pair, wire, 'udp');

      let caught: unknown;
      try {
        // The client's (skewed) clock verifies: BIND signs BADTIME with the request's time.
        verifyMessage(answer, key, { requestMac: mac, now: skewed });
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'TSIG_BADTIME', origin: 'server' });
      const serverTime = Number((caught as TsigError).context.serverTime);
      expect(Math.abs(serverTime - Date.now() / 1000)).toBeLessThan(60);
      expect(await txtAt(pair, `late.${ZONE}`)).toEqual([]);
    });
  },
);
