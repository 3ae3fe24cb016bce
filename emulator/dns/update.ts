/**
 * RFC 2136 dynamic UPDATE: applying one to a {@link ZoneStore}, and building one (tests, the
 * sandbox). The processing order is the RFC's (§3.2–3.4): zone section, prerequisites, a
 * prescan of every update, then the updates. Nothing is changed until all checks pass, so an
 * update applies entirely or not at all, and the serial moves once per update message.
 */

import {
  canonicalName,
  canonicalRdata,
  emptyMessage,
  encodeMessage,
  isInZone,
  type Message,
  Opcode,
  Rcode,
  type ResourceRecord,
  RrClass,
  RrType,
  typeCode,
} from './wire.js';
import type { Zone, ZoneStore } from './zone-store.js';

/** Types that name a query, not data; never valid as an added record (RFC 2136 §3.4.1.2). */
const META_TYPES = new Set<number>([
  RrType.OPT,
  RrType.TSIG,
  RrType.IXFR,
  RrType.AXFR,
  RrType.MAILB,
  RrType.MAILA,
  RrType.ANY,
]);

/** Applies an UPDATE message (TSIG already checked and stripped) and returns the RCODE. */
export function applyUpdate(store: ZoneStore, message: Message): number {
  const zoneQuestion = message.questions[0];
  if (message.questions.length !== 1 || zoneQuestion === undefined || zoneQuestion.type !== RrType.SOA) {
    return Rcode.FORMERR;
  }
  const zone = store.zone(zoneQuestion.name);
  if (zone === undefined) return Rcode.NOTAUTH;
  const zoneClass = zoneQuestion.class;

  const prerequisite = checkPrerequisites(zone, zoneClass, message.answers);
  if (prerequisite !== Rcode.NOERROR) return prerequisite;
  const prescan = prescanUpdates(zone, zoneClass, message.authorities);
  if (prescan !== Rcode.NOERROR) return prescan;

  store.edit(zone.origin, (z) => {
    for (const rr of message.authorities) applyOne(z, zoneClass, rr);
  });
  return Rcode.NOERROR;
}

function checkPrerequisites(zone: Zone, zoneClass: number, prerequisites: readonly ResourceRecord[]): number {
  // Value-dependent prerequisites are compared per RRset, after collecting all of them (§3.2.3).
  const expected = new Map<string, { name: string; type: number; rdatas: Buffer[] }>();
  for (const rr of prerequisites) {
    if (rr.ttl !== 0) return Rcode.FORMERR;
    if (!isInZone(rr.name, zone.origin)) return Rcode.NOTZONE;
    if (rr.class === RrClass.ANY) {
      if (rr.rdata.length !== 0) return Rcode.FORMERR;
      if (rr.type === RrType.ANY) {
        if (!zone.nameInUse(rr.name)) return Rcode.NXDOMAIN;
      } else if (zone.rrset(rr.name, rr.type) === undefined) {
        return Rcode.NXRRSET;
      }
    } else if (rr.class === RrClass.NONE) {
      if (rr.rdata.length !== 0) return Rcode.FORMERR;
      if (rr.type === RrType.ANY) {
        if (zone.nameInUse(rr.name)) return Rcode.YXDOMAIN;
      } else if (zone.rrset(rr.name, rr.type) !== undefined) {
        return Rcode.YXRRSET;
      }
    } else if (rr.class === zoneClass) {
      const key = `${canonicalName(rr.name)}/${rr.type}`;
      const entry = expected.get(key) ?? { name: rr.name, type: rr.type, rdatas: [] };
      entry.rdatas.push(rr.rdata);
      expected.set(key, entry);
    } else {
      return Rcode.FORMERR;
    }
  }
  for (const { name, type, rdatas } of expected.values()) {
    const want = rdataSet(type, rdatas);
    const have = rdataSet(type, zone.rrset(name, type)?.rdatas ?? []);
    if (want.size !== have.size || [...want].some((r) => !have.has(r))) return Rcode.NXRRSET;
  }
  return Rcode.NOERROR;
}

function prescanUpdates(zone: Zone, zoneClass: number, updates: readonly ResourceRecord[]): number {
  for (const rr of updates) {
    if (!isInZone(rr.name, zone.origin)) return Rcode.NOTZONE;
    if (rr.class === zoneClass) {
      if (META_TYPES.has(rr.type)) return Rcode.FORMERR;
    } else if (rr.class === RrClass.ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0) return Rcode.FORMERR;
      if (META_TYPES.has(rr.type) && rr.type !== RrType.ANY) return Rcode.FORMERR;
    } else if (rr.class === RrClass.NONE) {
      if (rr.ttl !== 0 || META_TYPES.has(rr.type)) return Rcode.FORMERR;
    } else {
      return Rcode.FORMERR;
    }
  }
  return Rcode.NOERROR;
}

function applyOne(zone: Zone, zoneClass: number, rr: ResourceRecord): void {
  const apex = canonicalName(rr.name) === zone.origin;
  if (rr.class === zoneClass) {
    // The serial is ours to manage; BIND likewise only takes an SOA with a higher serial.
    if (rr.type === RrType.SOA) return;
    const types = zone.types(rr.name);
    // CNAME and other data never share a name (§3.4.2.2): the conflicting add is ignored.
    if (rr.type !== RrType.CNAME && types.includes(RrType.CNAME)) return;
    if (rr.type === RrType.CNAME && types.some((t) => t !== RrType.CNAME)) return;
    if (rr.type === RrType.CNAME) zone.setRRset(rr.name, RrType.CNAME, undefined);
    zone.addRecord(rr.name, rr.type, rr.rdata, rr.ttl);
  } else if (rr.class === RrClass.ANY) {
    const types = rr.type === RrType.ANY ? zone.types(rr.name) : [rr.type];
    for (const type of types) {
      if (apex && (type === RrType.SOA || type === RrType.NS)) continue;
      zone.setRRset(rr.name, type, undefined);
    }
  } else if (rr.class === RrClass.NONE) {
    if (rr.type === RrType.SOA) return;
    if (apex && rr.type === RrType.NS && (zone.rrset(rr.name, RrType.NS)?.rdatas.length ?? 0) <= 1) return;
    zone.deleteRecord(rr.name, rr.type, rr.rdata);
  }
}

function rdataSet(type: number, rdatas: readonly Buffer[]): Set<string> {
  return new Set(rdatas.map((r) => canonicalRdata(type, r).toString('hex')));
}

// ---- Building updates ----

/** An update-section record that adds `rdata` (RFC 2136 §2.5.1). */
export function addRecord(name: string, type: string | number, rdata: Buffer, ttl = 300): ResourceRecord {
  return { name, type: typeCode(type), class: RrClass.IN, ttl, rdata };
}

/** Deletes the whole RRset of `type` at `name` (§2.5.2). */
export function deleteRRset(name: string, type: string | number): ResourceRecord {
  return { name, type: typeCode(type), class: RrClass.ANY, ttl: 0, rdata: Buffer.alloc(0) };
}

/** Deletes every RRset at `name` (§2.5.3). */
export function deleteName(name: string): ResourceRecord {
  return { name, type: RrType.ANY, class: RrClass.ANY, ttl: 0, rdata: Buffer.alloc(0) };
}

/** Deletes the one record with this value (§2.5.4, class NONE). */
export function deleteRecord(name: string, type: string | number, rdata: Buffer): ResourceRecord {
  return { name, type: typeCode(type), class: RrClass.NONE, ttl: 0, rdata };
}

/** Prerequisite: the name is in use (type ANY) or the RRset exists, whatever its value (§2.4.1, §2.4.4). */
export function exists(name: string, type: string | number = 'ANY'): ResourceRecord {
  return { name, type: typeCode(type), class: RrClass.ANY, ttl: 0, rdata: Buffer.alloc(0) };
}

/** Prerequisite: the name is not in use (type ANY) or the RRset does not exist (§2.4.3, §2.4.5). */
export function notExists(name: string, type: string | number = 'ANY'): ResourceRecord {
  return { name, type: typeCode(type), class: RrClass.NONE, ttl: 0, rdata: Buffer.alloc(0) };
}

/** Prerequisite: the RRset exists with exactly these values; give one per record (§2.4.2). */
export function existsWithValue(name: string, type: string | number, rdata: Buffer): ResourceRecord {
  return { name, type: typeCode(type), class: RrClass.IN, ttl: 0, rdata };
}

/** Encodes an UPDATE message for `zone`; sign it with `signMessage` from tsig.ts if needed. */
export function encodeUpdate(
  zone: string,
  opts: { id?: number; prerequisites?: ResourceRecord[]; updates: ResourceRecord[] },
): Buffer {
  return encodeMessage(
    emptyMessage({
      id: opts.id ?? Math.floor(Math.random() * 0x10000),
      opcode: Opcode.UPDATE,
      questions: [{ name: zone, type: RrType.SOA, class: RrClass.IN }],
      answers: opts.prerequisites ?? [],
      authorities: opts.updates,
    }),
  );
}
