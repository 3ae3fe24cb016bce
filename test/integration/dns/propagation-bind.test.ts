import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpExchange } from '../../../emulator/dns/client.js';
import { addRecord, encodeUpdate } from '../../../emulator/dns/update.js';
import { decodeMessage, encodeQuery, parseTxt, Rcode, RrType, txtRdata } from '../../../emulator/dns/wire.js';
import { AuthoritativeProbe, isGone, isPropagated } from '../../../src/adapters/dns/probe.js';
import { Rfc2136Publisher } from '../../../src/adapters/dns/rfc2136.js';
import { queryServer } from '../../../src/adapters/dns/transport.js';
import { signMessage } from '../../../src/adapters/dns/tsig.js';
import {
  buildDkimRecordValue,
  quoteTxtChunk,
  REVOKED_RECORD_VALUE,
  splitTxtValue,
} from '../../../src/domain/record.js';
import { ByodkimError } from '../../../src/errors.js';
import type { DnsRecordChange, ProbeResult } from '../../../src/ports.js';
import { describeDnsPublisherContract } from '../../contract/dns-publisher.js';
import { type BindPair, type BindServerAddress, bindSkipReason, startBindPair } from '../../support/bind.js';
import { testKey } from '../../support/keys.js';

const skipReason = bindSkipReason();
if (skipReason !== undefined) console.warn(`skipping DNS propagation tests against BIND: ${skipReason}`);

const ZONE = 'prop.example';
const BROKEN = 'broken.example';
const CONTRACT = 'contract.example';

/** The TXT records BIND's primary serves at `name`, each joined (over TCP: 2048-bit keys do not fit UDP). */
async function txtAt(server: BindServerAddress, owner: string): Promise<string[]> {
  const answer = decodeMessage(await tcpExchange(server.host, server.port, encodeQuery(owner, 'TXT')));
  return answer.answers
    .filter((rr) => rr.type === RrType.TXT)
    .map((rr) => Buffer.concat(parseTxt(rr.rdata)).toString('utf8'));
}

/** Adds a TXT record byodkim does not own, with a signed update of our own. */
async function plantTxt(pair: BindPair, owner: string, value: string): Promise<void> {
  const { wire } = signMessage(
    encodeUpdate(CONTRACT, { updates: [addRecord(owner, 'TXT', txtRdata([value]), 60)] }),
    pair.tsig,
  );
  const answer = decodeMessage(await tcpExchange(pair.primary.host, pair.primary.port, wire));
  if (answer.rcode !== Rcode.NOERROR)
    throw new Error(`BIND refused the planted record (rcode ${answer.rcode})`);
}

/** A zone-file line for a TXT value, split into ≤255-byte strings. */
function txtLine(owner: string, value: string): string {
  return `${owner} IN TXT ( ${splitTxtValue(value).map(quoteTxtChunk).join(' ')} )`;
}

function label(server: BindServerAddress): string {
  return `${server.host}:${server.port}`;
}

function name(selector: string): string {
  return `${selector}._domainkey.${ZONE}`;
}

function upsert(selector: string, value: string): DnsRecordChange {
  return { action: 'upsert', name: name(selector), value, selector, reason: 'test' };
}

function remove(selector: string, value: string): DnsRecordChange {
  return { action: 'delete', name: name(selector), value, selector, reason: 'test' };
}

/** [server label, outcome] per answer, in server order. */
function byServer(result: ProbeResult): Array<[string, string]> {
  return result.answers.map((a) => [a.nameserver, a.outcome]);
}

describe.skipIf(skipReason !== undefined)(
  'DNS propagation and RFC 2136 against BIND 9 (primary + secondary)',
  () => {
    let pair: BindPair;
    let probe: AuthoritativeProbe;
    let publisher: Rfc2136Publisher;
    let key: string;
    let otherKey: string;

    beforeAll(async () => {
      key = (await testKey('bind-prop-key')).publicKey;
      otherKey = (await testKey('bind-prop-other')).publicKey;
      pair = await startBindPair({
        zones: [
          {
            origin: ZONE,
            records: [
              txtLine('other._domainkey', buildDkimRecordValue(otherKey)),
              txtLine('revoked._domainkey', REVOKED_RECORD_VALUE),
              txtLine('broken._domainkey', 'v=DKIM1; k=rsa; p=this-is-not-base64'),
              txtLine('served._domainkey', buildDkimRecordValue(key)),
              'alias._domainkey IN CNAME served._domainkey',
              'shared._domainkey IN TXT "site-verification=keep-me"',
            ],
          },
          { origin: BROKEN, records: ['sel._domainkey IN TXT "v=DKIM1; p="'] },
          { origin: CONTRACT },
        ],
      });
      probe = new AuthoritativeProbe({
        nameservers: [label(pair.primary), label(pair.secondary)],
        timeoutMs: 1000,
      });
      publisher = new Rfc2136Publisher({ server: label(pair.primary), tsig: pair.tsig, ttl: 60 });
    });

    afterAll(async () => {
      await pair?.stop();
    });

    describeDnsPublisherContract('Rfc2136Publisher (BIND 9 primary)', 'automatic', () => ({
      publisher: new Rfc2136Publisher({ server: label(pair.primary), tsig: pair.tsig, ttl: 60 }),
      zone: CONTRACT,
      served: (owner) => txtAt(pair.primary, owner),
      plant: (owner, value) => plantTxt(pair, owner, value),
    }));

    it('tells match, missing, other key, revoked (p=) and invalid apart on both servers, following a CNAME', async () => {
      const expectations: Array<[string, string]> = [
        ['served', 'match'],
        ['alias', 'match'],
        ['absent', 'missing'],
        ['shared', 'missing'],
        ['other', 'other-key'],
        ['revoked', 'revoked'],
        ['broken', 'invalid'],
      ];
      for (const [selector, outcome] of expectations) {
        const result = await probe.probe(name(selector), key);
        expect(byServer(result), selector).toEqual([
          [label(pair.primary), outcome],
          [label(pair.secondary), outcome],
        ]);
      }
      const alias = await probe.probe(name('alias'), key);
      expect(alias.answers[0]?.cnames).toEqual([name('served')]);
      expect(alias.answers[0]?.served).toEqual([buildDkimRecordValue(key)]);
    });

    it('an added record is propagated only once the secondary has it; the lagging server is named', async () => {
      // Prepare: the secondary keeps its old copy.
      await pair.holdSecondary();
      try {
        // Act
        expect(await publisher.apply(ZONE, [upsert('fresh', buildDkimRecordValue(key))])).toBe('applied');
        const lagging = await probe.probe(name('fresh'), key);
        await pair.releaseSecondary();
        const synced = await probe.probe(name('fresh'), key);

        // Assess
        expect(byServer(lagging)).toEqual([
          [label(pair.primary), 'match'],
          [label(pair.secondary), 'missing'],
        ]);
        expect(isPropagated(lagging)).toBe(false);
        expect(byServer(synced)).toEqual([
          [label(pair.primary), 'match'],
          [label(pair.secondary), 'match'],
        ]);
        expect(isPropagated(synced)).toBe(true);
      } finally {
        await pair.releaseSecondary();
      }
    });

    it('a delete removes only byodkim’s record: another TXT at the same name survives on both servers', async () => {
      const value = buildDkimRecordValue(key);
      await publisher.apply(ZONE, [upsert('shared', value)]);
      await pair.waitForSync(ZONE);
      const published = await probe.probe(name('shared'), key);
      expect(isPropagated(published)).toBe(true);
      expect([...(published.answers[1]?.served ?? [])].sort()).toEqual(
        [value, 'site-verification=keep-me'].sort(),
      );

      await publisher.apply(ZONE, [remove('shared', value)]);
      await pair.waitForSync(ZONE);
      const removed = await probe.probe(name('shared'), undefined);

      expect(isGone(removed)).toBe(true);
      for (const answer of removed.answers) expect(answer.served).toEqual(['site-verification=keep-me']);
    });

    it('revokes in one update: the key record is replaced by p= on both servers', async () => {
      await publisher.apply(ZONE, [upsert('torevoke', buildDkimRecordValue(key))]);
      await publisher.apply(ZONE, [upsert('torevoke', REVOKED_RECORD_VALUE)]);
      await pair.waitForSync(ZONE);
      const result = await probe.probe(name('torevoke'), key);
      expect(byServer(result).map(([, outcome]) => outcome)).toEqual(['revoked', 'revoked']);
      for (const answer of result.answers) expect(answer.served).toEqual([REVOKED_RECORD_VALUE]);
    });

    it('refuses a wrong TSIG secret and an unknown key with a clear error, and changes nothing', async () => {
      const serial = await pair.serial('primary', ZONE);
      const wrongSecret = new Rfc2136Publisher({
        server: label(pair.primary),
        tsig: { ...pair.tsig, secret: randomBytes(32).toString('base64') },
      });
      const unknownKey = new Rfc2136Publisher({
        server: label(pair.primary),
        tsig: { ...pair.tsig, name: 'not-configured-key' },
      });

      const badSig = (await wrongSecret
        .apply(ZONE, [upsert('nope', buildDkimRecordValue(key))])
        .catch((e) => e)) as ByodkimError | undefined;
      const badKey = (await unknownKey
        .apply(ZONE, [upsert('nope', buildDkimRecordValue(key))])
        .catch((e) => e)) as ByodkimError | undefined;

      expect(badSig).toBeInstanceOf(ByodkimError);
      expect(badSig?.code).toBe('DNS_UPDATE_TSIG_REFUSED');
      expect(badSig?.message).toContain(`TSIG key ${pair.tsig.name} refused by ${label(pair.primary)}`);
      expect(badSig?.message).toContain('BADSIG');
      expect(badSig?.message).toContain(ZONE);
      expect(badSig?.message).not.toContain(pair.tsig.secret);
      expect(badKey?.code).toBe('DNS_UPDATE_TSIG_REFUSED');
      expect(badKey?.message).toContain('TSIG key not-configured-key refused by');
      expect(badKey?.message).toContain('BADKEY');
      expect(await pair.serial('primary', ZONE)).toBe(serial);
    });

    it('a 2048-bit record arrives intact through TCP when UDP truncates (no EDNS: 512 bytes)', async () => {
      const value = buildDkimRecordValue(key);
      expect(Buffer.byteLength(value)).toBeGreaterThan(255);

      const direct = await queryServer(pair.secondary, name('served'), 'TXT', {
        recursionDesired: false,
        timeoutMs: 1000,
        udpPayloadSize: 0,
      });
      const noEdns = new AuthoritativeProbe({
        nameservers: [label(pair.primary), label(pair.secondary)],
        timeoutMs: 1000,
        udpPayloadSize: 0,
      });
      const result = await noEdns.probe(name('served'), key);

      expect(direct.transport).toBe('tcp');
      expect(isPropagated(result)).toBe(true);
      for (const answer of result.answers) expect(answer.served).toEqual([value]);
    });

    it('reports SERVFAIL from a server configured for a zone it could not load', async () => {
      // Prepare: restart the secondary with a damaged copy of BROKEN while the primary
      // refuses transfers, so the zone stays unloaded there (BIND answers SERVFAIL).
      // The harness waits for every zone to load on start, which this never does: its
      // start is left running and the probe waits for named itself.
      await pair.holdSecondary();
      await pair.stopSecondary();
      await writeFile(join(pair.directories.secondary, `${BROKEN}.db`), 'this is not a zone file\n');
      const starting = pair.startSecondary().catch(() => undefined);
      const brokenProbe = new AuthoritativeProbe({
        nameservers: [label(pair.primary), label(pair.secondary)],
        timeoutMs: 300,
      });
      try {
        let result: ProbeResult | undefined;
        for (let attempt = 0; attempt < 50; attempt++) {
          result = await brokenProbe.probe(`sel._domainkey.${BROKEN}`, undefined);
          if (result.answers[1]?.outcome !== 'timeout') break;
        }

        // Assess
        expect(byServer(result as ProbeResult)).toEqual([
          [label(pair.primary), 'revoked'],
          [label(pair.secondary), 'servfail'],
        ]);
        expect(isPropagated(result as ProbeResult) || isGone(result as ProbeResult)).toBe(false);
      } finally {
        await pair.releaseSecondary();
        await starting;
      }
    });
  },
);
