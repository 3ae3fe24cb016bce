/**
 * In-memory authoritative zone data for the embedded DNS server.
 *
 * Records are kept as RRsets of raw RDATA (see wire.ts), keyed by canonical (lowercase)
 * owner name and type, so what goes in comes out byte for byte: a TXT record's
 * character-strings are never re-split or joined. Every change bumps the zone's SOA serial,
 * which is how a test (or byodkim's propagation check) tells versions apart.
 *
 * Convenience setters act like an operator editing a zone, not like a strict server:
 * `setCname` replaces whatever the name held, and setting other data at a CNAME replaces
 * the CNAME, since the two can never coexist (RFC 1034 §3.6.2). RFC 2136 UPDATE, which must
 * follow the RFC to the letter, lives in update.ts.
 */
import {
  aaaaRdata,
  aRdata,
  canonicalName,
  canonicalRdata,
  isInZone,
  nameRdata,
  parseSoa,
  parseTxt,
  RrType,
  soaRdata,
  splitTxt,
  txtRdata,
  typeCode,
} from './wire.js';

export interface RRset {
  ttl: number;
  rdatas: Buffer[];
}

/** A TXT value: one string (split into 255-byte character-strings) or the strings as given. */
export type TxtValue = string | readonly (string | Buffer)[];

/** One zone: its origin, default TTL and nodes (owner name → type → RRset). */
export class Zone {
  readonly origin: string;
  readonly defaultTtl: number;
  readonly #nodes = new Map<string, Map<number, RRset>>();
  #changed = false;

  constructor(origin: string, defaultTtl: number) {
    this.origin = canonicalName(origin);
    this.defaultTtl = defaultTtl;
  }

  get serial(): number {
    const soa = this.rrset(this.origin, RrType.SOA)?.rdatas[0];
    return soa === undefined ? 0 : parseSoa(soa).serial;
  }

  rrset(name: string, type: number): RRset | undefined {
    return this.#nodes.get(canonicalName(name))?.get(type);
  }

  /** The types present at a name (empty when the name owns no records). */
  types(name: string): number[] {
    return [...(this.#nodes.get(canonicalName(name))?.keys() ?? [])];
  }

  /** RFC 2136 "name is in use": the name owns at least one record. */
  nameInUse(name: string): boolean {
    return (this.#nodes.get(canonicalName(name))?.size ?? 0) > 0;
  }

  /** True for an empty non-terminal: no records here, but some below (NODATA, not NXDOMAIN). */
  hasDescendants(name: string): boolean {
    const suffix = `.${canonicalName(name)}`;
    for (const [owner, node] of this.#nodes) if (node.size > 0 && owner.endsWith(suffix)) return true;
    return false;
  }

  names(): string[] {
    return [...this.#nodes.keys()].sort();
  }

  setRRset(name: string, type: number, rrset: RRset | undefined): void {
    const owner = canonicalName(name);
    this.#assertInZone(owner);
    let node = this.#nodes.get(owner);
    if (rrset === undefined || rrset.rdatas.length === 0) {
      if (node?.delete(type)) this.#changed = true;
      if (node?.size === 0) this.#nodes.delete(owner);
      return;
    }
    if (node === undefined) {
      node = new Map();
      this.#nodes.set(owner, node);
    }
    node.set(type, { ttl: rrset.ttl, rdatas: rrset.rdatas.map((r) => Buffer.from(r)) });
    this.#changed = true;
  }

  /** Adds one record; an identical record (names compared case-insensitively) is replaced. */
  addRecord(name: string, type: number, rdata: Buffer, ttl: number): void {
    const existing = this.rrset(name, type)?.rdatas ?? [];
    const key = canonicalRdata(type, rdata);
    const others = existing.filter((r) => !canonicalRdata(type, r).equals(key));
    // One TTL per RRset (RFC 2181 §5.2): the newest record sets it.
    this.setRRset(name, type, { ttl, rdatas: [...others, rdata] });
  }

  /** Deletes one record by value; reports whether it was there. */
  deleteRecord(name: string, type: number, rdata: Buffer): boolean {
    const rrset = this.rrset(name, type);
    if (rrset === undefined) return false;
    const key = canonicalRdata(type, rdata);
    const kept = rrset.rdatas.filter((r) => !canonicalRdata(type, r).equals(key));
    if (kept.length === rrset.rdatas.length) return false;
    this.setRRset(name, type, { ttl: rrset.ttl, rdatas: kept });
    return true;
  }

  /** Bumps the SOA serial (RFC 1982 arithmetic, skipping 0) if anything changed since the last call. */
  commit(): boolean {
    if (!this.#changed) return false;
    const soa = this.rrset(this.origin, RrType.SOA);
    const current = soa?.rdatas[0];
    if (soa !== undefined && current !== undefined) {
      const fields = parseSoa(current);
      const serial = (fields.serial + 1) % 2 ** 32 || 1;
      this.#nodes
        .get(this.origin)
        ?.set(RrType.SOA, { ttl: soa.ttl, rdatas: [soaRdata({ ...fields, serial })] });
    }
    this.#changed = false;
    return true;
  }

  /** A zone holding `apex` records, with no pending change (serial as given). */
  static create(origin: string, defaultTtl: number, apex: Array<[number, RRset]>): Zone {
    const zone = new Zone(origin, defaultTtl);
    for (const [type, rrset] of apex) zone.setRRset(zone.origin, type, rrset);
    zone.#changed = false;
    return zone;
  }

  clone(): Zone {
    const copy = new Zone(this.origin, this.defaultTtl);
    for (const [owner, node] of this.#nodes) {
      for (const [type, rrset] of node) copy.setRRset(owner, type, rrset);
    }
    copy.#changed = false;
    return copy;
  }

  #assertInZone(owner: string): void {
    if (!isInZone(owner, this.origin)) throw new RangeError(`"${owner}" is not in zone "${this.origin}"`);
  }
}

/**
 * The zones one or more embedded servers serve. Share one store between two servers and
 * freeze one of them to play a lagging secondary.
 *
 * @example
 * ```ts
 * const store = new ZoneStore();
 * store.addZone('example.com', { nameservers: ['ns1.example.com', 'ns2.example.com'] });
 * store.setTxt('sel1._domainkey.example.com', 'v=DKIM1; k=rsa; p=MIIBIjANBg...');
 * const server = await EmbeddedDnsServer.start({ store });
 * ```
 */
export class ZoneStore {
  readonly #zones = new Map<string, Zone>();

  /** Creates a zone with SOA and NS at the apex. Serial starts at 1 and bumps on every change. */
  addZone(origin: string, opts: { nameservers?: string[]; ttl?: number } = {}): void {
    const key = canonicalName(origin);
    if (this.#zones.has(key)) throw new RangeError(`zone "${key}" already exists`);
    const ttl = opts.ttl ?? 300;
    const nameservers = opts.nameservers ?? [`ns1.${key}`];
    if (nameservers.length === 0) throw new RangeError(`zone "${key}" needs at least one nameserver`);
    const soa = soaRdata({
      mname: nameservers[0] ?? `ns1.${key}`,
      rname: `hostmaster.${key}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86_400,
      // Negative-caching TTL (RFC 2308); short, so tests see new names quickly.
      minimum: Math.min(ttl, 60),
    });
    const zone = Zone.create(key, ttl, [
      [RrType.SOA, { ttl, rdatas: [soa] }],
      [RrType.NS, { ttl, rdatas: nameservers.map((ns) => nameRdata(ns)) }],
    ]);
    this.#zones.set(key, zone);
  }

  removeZone(origin: string): void {
    this.#zones.delete(canonicalName(origin));
  }

  /** Zone origins, lowercase. */
  zones(): string[] {
    return [...this.#zones.keys()].sort();
  }

  /** The zone a name belongs to (longest matching origin), if this store serves it. */
  findZone(name: string): Zone | undefined {
    let best: Zone | undefined;
    for (const zone of this.#zones.values()) {
      if (isInZone(name, zone.origin) && (best === undefined || zone.origin.length > best.origin.length)) {
        best = zone;
      }
    }
    return best;
  }

  /** The zone with exactly this origin. */
  zone(origin: string): Zone | undefined {
    return this.#zones.get(canonicalName(origin));
  }

  serial(origin: string): number {
    return this.#requireZone(origin).serial;
  }

  /** Replaces the TXT RRset at `name` with ONE record. A string[] is kept as its character-strings. */
  setTxt(name: string, value: TxtValue, ttl?: number): void {
    this.#edit(name, (zone) => {
      zone.setRRset(name, RrType.CNAME, undefined);
      zone.setRRset(name, RrType.TXT, { ttl: ttl ?? zone.defaultTtl, rdatas: [txtValueRdata(value)] });
    });
  }

  /** Adds one more TXT record to the RRset at `name` (a duplicate value is not added twice). */
  addTxt(name: string, value: TxtValue, ttl?: number): void {
    this.#edit(name, (zone) => {
      zone.setRRset(name, RrType.CNAME, undefined);
      zone.addRecord(
        name,
        RrType.TXT,
        txtValueRdata(value),
        ttl ?? zone.rrset(name, RrType.TXT)?.ttl ?? zone.defaultTtl,
      );
    });
  }

  /** Removes the whole TXT RRset at `name`. */
  removeTxt(name: string): void {
    this.remove(name, 'TXT');
  }

  /** Makes `name` an alias of `target`, replacing any other data at `name`. */
  setCname(name: string, target: string, ttl?: number): void {
    this.#edit(name, (zone) => {
      if (canonicalName(name) === zone.origin)
        throw new RangeError(`a zone apex cannot be a CNAME ("${name}")`);
      for (const type of zone.types(name)) zone.setRRset(name, type, undefined);
      zone.setRRset(name, RrType.CNAME, { ttl: ttl ?? zone.defaultTtl, rdatas: [nameRdata(target)] });
    });
  }

  setA(name: string, addresses: string | readonly string[], ttl?: number): void {
    this.setRecords(name, 'A', [addresses].flat().map(aRdata), ttl);
  }

  setAaaa(name: string, addresses: string | readonly string[], ttl?: number): void {
    this.setRecords(name, 'AAAA', [addresses].flat().map(aaaaRdata), ttl);
  }

  /** Replaces the RRset of any type with raw RDATA (see the builders in wire.ts). */
  setRecords(name: string, type: string | number, rdatas: readonly Buffer[], ttl?: number): void {
    const code = typeCode(type);
    this.#edit(name, (zone) => {
      if (code === RrType.SOA) throw new RangeError('the SOA is managed by the store');
      if (code !== RrType.CNAME) zone.setRRset(name, RrType.CNAME, undefined);
      zone.setRRset(name, code, { ttl: ttl ?? zone.defaultTtl, rdatas: [...rdatas] });
    });
  }

  /** Removes one RRset, or everything at `name` when no type is given (apex SOA/NS stay). */
  remove(name: string, type?: string): void {
    this.#edit(name, (zone) => {
      const apex = canonicalName(name) === zone.origin;
      const types = type === undefined ? zone.types(name) : [typeCode(type)];
      for (const t of types) {
        if (apex && (t === RrType.SOA || t === RrType.NS)) {
          if (type !== undefined)
            throw new RangeError(`the apex ${type} of "${zone.origin}" cannot be removed`);
          continue;
        }
        zone.setRRset(name, t, undefined);
      }
    });
  }

  /** The RRset at name/type, copied. */
  get(name: string, type: string | number): RRset | undefined {
    const rrset = this.findZone(name)?.rrset(name, typeCode(type));
    return rrset === undefined
      ? undefined
      : { ttl: rrset.ttl, rdatas: rrset.rdatas.map((r) => Buffer.from(r)) };
  }

  /** Each TXT record at `name` as its character-strings (UTF-8); [] when there is none. */
  getTxt(name: string): string[][] {
    return (this.get(name, 'TXT')?.rdatas ?? []).map((r) => parseTxt(r).map((s) => s.toString('utf8')));
  }

  /**
   * Runs `edit` on the zone with this origin and bumps its serial once if anything changed:
   * how a multi-record RFC 2136 update stays one version.
   */
  edit<T>(origin: string, edit: (zone: Zone) => T): T {
    const zone = this.#requireZone(origin);
    try {
      return edit(zone);
    } finally {
      zone.commit();
    }
  }

  /** A deep copy: later changes to either store do not show in the other. */
  snapshot(): ZoneStore {
    const copy = new ZoneStore();
    for (const [origin, zone] of this.#zones) copy.#zones.set(origin, zone.clone());
    return copy;
  }

  #edit(name: string, edit: (zone: Zone) => void): void {
    const zone = this.findZone(name);
    if (zone === undefined)
      throw new RangeError(`"${name}" is in none of the zones of this store (${this.zones().join(', ')})`);
    this.edit(zone.origin, edit);
  }

  #requireZone(origin: string): Zone {
    const zone = this.zone(origin);
    if (zone === undefined) throw new RangeError(`zone "${canonicalName(origin)}" does not exist`);
    return zone;
  }
}

function txtValueRdata(value: TxtValue): Buffer {
  return txtRdata(typeof value === 'string' ? splitTxt(value) : value);
}
