/**
 * The DnsPublisher contract (src/ports.ts): one call is one batch; an automatic publisher
 * changes DNS itself — an upsert leaves exactly the given DKIM value at the name, repeated
 * upserts change nothing more, a delete removes exactly the record named (other records at
 * the name and other names stay), a record that is already gone deletes quietly — and a
 * batch it cannot place in a zone it controls is refused whole. A manual publisher hands
 * the batch to the DNS team instead, whole and as given, one request per batch.
 *
 * A new publisher is proved by one call from a test file, with a rig that shows what the
 * authoritative server serves (automatic) or what the DNS team received (manual):
 *
 *   describeDnsPublisherContract('Rfc2136Publisher (embedded DNS)', async () => ({ publisher, zone, served, plant }));
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDkimRecordValue, REVOKED_RECORD_VALUE } from '../../src/domain/record.js';
import type { DnsPublisher, DnsRecordChange } from '../../src/ports.js';
import { testKey } from '../support/keys.js';

/** A record as the DNS team reads it from a hand-off. */
export interface HandedOffRecord {
  action: 'add' | 'remove';
  name: string;
  value: string;
  notBefore?: string;
}

export interface PublisherRig {
  publisher: DnsPublisher;
  /** A zone the publisher may change: the records of the tests go under it. */
  zone: string;
  /** Automatic publishers: the TXT records the authoritative server serves at `name` now, each joined. */
  served?(name: string): Promise<string[]>;
  /** Automatic publishers: adds a TXT record at `name` that byodkim does not own. */
  plant?(name: string, value: string): Promise<void>;
  /** Manual publishers: every request handed to the DNS team so far, oldest first, as the team reads it. */
  handOffs?(): Promise<HandedOffRecord[][]>;
}

export type PublisherRigFactory = () => PublisherRig | Promise<PublisherRig>;

const FOREIGN = 'site-verification=contract-keep-me';

function selector(label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`;
}

function change(
  rig: PublisherRig,
  action: DnsRecordChange['action'],
  sel: string,
  value: string,
  notBefore?: string,
): DnsRecordChange {
  return {
    action,
    name: `${sel}._domainkey.${rig.zone}`,
    value,
    selector: sel,
    reason: 'contract',
    ...(notBefore ? { notBefore } : {}),
  };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the rig must provide ${what}() for this kind of publisher`);
  return value;
}

export function describeDnsPublisherContract(
  name: string,
  mode: DnsPublisher['mode'],
  factory: PublisherRigFactory,
): void {
  describe(`DnsPublisher contract: ${name}`, () => {
    let rig: PublisherRig;
    let long: string;
    let short: string;
    let other: string;

    beforeAll(async () => {
      long = buildDkimRecordValue((await testKey('publisher-contract-2048', 2048)).publicKey);
      short = buildDkimRecordValue((await testKey('publisher-contract-1024', 1024)).publicKey);
      other = buildDkimRecordValue((await testKey('publisher-contract-other', 1024)).publicKey);
    });

    beforeEach(async () => {
      rig = await factory();
    });

    it(`is ${mode}`, () => {
      expect(rig.publisher.mode).toBe(mode);
      expect(rig.publisher.description).not.toBe('');
    });

    if (mode === 'automatic') describeAutomatic();
    else describeManual();

    function describeAutomatic(): void {
      const served = (sel: string) => required(rig.served, 'served')(`${sel}._domainkey.${rig.zone}`);
      const dkimServed = async (sel: string) => (await served(sel)).filter((v) => v.startsWith('v=DKIM1'));

      it('applies an empty batch as a no-op', async () => {
        await expect(rig.publisher.apply(rig.zone, [])).resolves.toBe('applied');
      });

      it('publishes a batch: every record served whole, a 2048-bit key split and joined back exactly', async () => {
        const [a, b] = [selector('long'), selector('short')];
        await expect(
          rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, long), change(rig, 'upsert', b, short)]),
        ).resolves.toBe('applied');
        expect(await served(a)).toEqual([long]);
        expect(await served(b)).toEqual([short]);
      });

      it('upserts idempotently: the same batch again leaves exactly one record', async () => {
        const a = selector('again');
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short)]);
        await expect(rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short)])).resolves.toBe(
          'applied',
        );
        expect(await served(a)).toEqual([short]);
      });

      it('upserting another value replaces the earlier DKIM record at the name (new key, or revocation)', async () => {
        const a = selector('replace');
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short)]);
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, other)]);
        expect(await dkimServed(a)).toEqual([other]);
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, REVOKED_RECORD_VALUE)]);
        expect(await dkimServed(a)).toEqual([REVOKED_RECORD_VALUE]);
      });

      it('deletes exactly the record named: other records at the name and other names stay', async () => {
        const [a, b] = [selector('delete'), selector('keep')];
        await rig.publisher.apply(rig.zone, [
          change(rig, 'upsert', a, short),
          change(rig, 'upsert', b, other),
        ]);
        await required(rig.plant, 'plant')(`${a}._domainkey.${rig.zone}`, FOREIGN);
        await expect(rig.publisher.apply(rig.zone, [change(rig, 'delete', a, short)])).resolves.toBe(
          'applied',
        );
        expect(await served(a)).toEqual([FOREIGN]);
        expect(await served(b)).toEqual([other]);
      });

      it('deletes quietly what is already gone, changing nothing else', async () => {
        const [a, b] = [selector('gone'), selector('stays')];
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', b, short)]);
        await expect(rig.publisher.apply(rig.zone, [change(rig, 'delete', a, short)])).resolves.toBe(
          'applied',
        );
        expect(await served(a)).toEqual([]);
        expect(await served(b)).toEqual([short]);
      });

      it('does not delete a record with another value than the one named', async () => {
        const a = selector('other-value');
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short)]);
        await rig.publisher.apply(rig.zone, [change(rig, 'delete', a, other)]);
        expect(await served(a)).toEqual([short]);
      });

      it('applies additions and removals of one batch together', async () => {
        const [a, b] = [selector('batch-old'), selector('batch-new')];
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short)]);
        await expect(
          rig.publisher.apply(rig.zone, [change(rig, 'upsert', b, other), change(rig, 'delete', a, short)]),
        ).resolves.toBe('applied');
        expect(await served(a)).toEqual([]);
        expect(await served(b)).toEqual([other]);
      });

      it('refuses a batch with a record in no zone it can change, and applies none of it', async () => {
        const a = selector('refused');
        const outside: DnsRecordChange = {
          action: 'upsert',
          name: `${a}._domainkey.not-served-${randomBytes(3).toString('hex')}.invalid`,
          value: short,
          selector: a,
          reason: 'contract',
        };
        await expect(
          rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short), outside]),
        ).rejects.toThrow();
        expect(await served(a)).toEqual([]);
      });
    }

    function describeManual(): void {
      const handOffs = () => required(rig.handOffs, 'handOffs')();

      it('hands off nothing for an empty batch', async () => {
        await expect(rig.publisher.apply(rig.zone, [])).resolves.toBe('applied');
        expect(await handOffs()).toEqual([]);
      });

      it('hands a batch to the DNS team whole and as given, as one request', async () => {
        const [a, b] = [selector('add'), selector('remove')];
        const notBefore = '2026-01-08T00:00:00.000Z';
        await expect(
          rig.publisher.apply(rig.zone, [
            change(rig, 'upsert', a, long),
            change(rig, 'delete', b, short, notBefore),
          ]),
        ).resolves.toBe('handed-off');
        expect(await handOffs()).toEqual([
          [
            { action: 'add', name: `${a}._domainkey.${rig.zone}`, value: long },
            { action: 'remove', name: `${b}._domainkey.${rig.zone}`, value: short, notBefore },
          ],
        ]);
      });

      it('makes a new request for every batch, even within the same second; earlier ones stay', async () => {
        const [a, b] = [selector('first'), selector('second')];
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', a, short)]);
        await rig.publisher.apply(rig.zone, [change(rig, 'upsert', b, other)]);
        expect(await handOffs()).toEqual([
          [{ action: 'add', name: `${a}._domainkey.${rig.zone}`, value: short }],
          [{ action: 'add', name: `${b}._domainkey.${rig.zone}`, value: other }],
        ]);
      });
    }
  });
}
