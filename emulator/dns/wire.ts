/**
 * A small DNS wire codec for the embedded server and its tests.
 *
 * Why not dns-packet alone: RFC 2136 UPDATE needs class NONE (254), which dns-packet cannot
 * encode, and records with empty RDATA of any type ("delete RRset"), which it mis-decodes
 * for fixed-size types such as A. Here every record keeps its RDATA as bytes, with names
 * inside RDATA decompressed, so records can be stored, compared and re-encoded as they are.
 * Encoding never compresses names: simpler, and still within every size limit we need.
 */

import { Rcode } from '../../src/adapters/dns/transport.js';

export const RrType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

export const RrClass = { IN: 1, NONE: 254, ANY: 255 } as const;

export const Opcode = { QUERY: 0, NOTIFY: 4, UPDATE: 5 } as const;

// RFC 1035/2136 response codes: one table, the product's.
export { Rcode };

const RCODE_NAMES = Object.fromEntries(Object.entries(Rcode).map(([name, value]) => [value, name]));
const TYPE_NAMES = Object.fromEntries(Object.entries(RrType).map(([name, value]) => [value, name]));

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

/** Accepts `'TXT'`, `'txt'` or `16`. */
export function typeCode(type: string | number): number {
  if (typeof type === 'number') return type;
  const code = (RrType as Record<string, number>)[type.toUpperCase()];
  if (code !== undefined) return code;
  const generic = /^TYPE(\d+)$/i.exec(type);
  if (generic?.[1] !== undefined) return Number(generic[1]);
  throw new RangeError(`unknown record type "${type}"`);
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** RDATA bytes, names inside it uncompressed (case as received). */
  rdata: Buffer;
}

export interface Message {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The low four bits of the RCODE (no EDNS extended RCODE). */
  rcode: number;
  questions: Question[];
  /** QUERY: answers. UPDATE: prerequisites. */
  answers: ResourceRecord[];
  /** QUERY: authority. UPDATE: updates. */
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export function emptyMessage(fields: Partial<Message> = {}): Message {
  return {
    id: 0,
    qr: false,
    opcode: Opcode.QUERY,
    aa: false,
    tc: false,
    rd: false,
    ra: false,
    rcode: Rcode.NOERROR,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    ...fields,
  };
}

/** Lowercase (ASCII only: DNS case-insensitivity is ASCII, RFC 4343), no trailing dot. */
export function canonicalName(name: string): string {
  return name.replace(/\.$/, '').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** True when `name` is `origin` or below it. */
export function isInZone(name: string, origin: string): boolean {
  const n = canonicalName(name);
  const o = canonicalName(origin);
  return o === '' || n === o || n.endsWith(`.${o}`);
}

export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const bytes = Buffer.from(label, 'utf8');
      if (bytes.length === 0 || bytes.length > 63)
        throw new RangeError(`"${name}" is not a valid domain name`);
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) throw new RangeError(`"${name}" is longer than 255 bytes`);
  return wire;
}

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

export function decodeName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let next: number | undefined;
  let position = offset;
  for (let jumps = 0; jumps < 64; ) {
    const length = buf[position];
    if (length === undefined) throw new WireFormatError('name runs past the end of the message');
    if (length === 0) return { name: labels.join('.'), next: next ?? position + 1 };
    if ((length & 0xc0) === 0xc0) {
      if (position + 1 >= buf.length) throw new WireFormatError('name runs past the end of the message');
      next ??= position + 2;
      position = buf.readUInt16BE(position) & 0x3fff;
      jumps++;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new WireFormatError('unknown label type');
    if (position + 1 + length > buf.length)
      throw new WireFormatError('label runs past the end of the message');
    labels.push(buf.toString('utf8', position + 1, position + 1 + length));
    position += 1 + length;
  }
  throw new WireFormatError('too many compression pointers in a name');
}

/**
 * Where the RDATA of each type holds names: [bytes before the name, names, bytes after].
 * Only these types get their names decompressed and canonicalised; others stay opaque.
 */
const NAME_LAYOUT: Record<number, { before: number; names: number }> = {
  [RrType.NS]: { before: 0, names: 1 },
  [RrType.CNAME]: { before: 0, names: 1 },
  [RrType.PTR]: { before: 0, names: 1 },
  [RrType.DNAME]: { before: 0, names: 1 },
  [RrType.MX]: { before: 2, names: 1 },
  [RrType.SRV]: { before: 6, names: 1 },
  [RrType.SOA]: { before: 0, names: 2 },
};

function decodeRdata(buf: Buffer, type: number, start: number, length: number): Buffer {
  const end = start + length;
  const layout = NAME_LAYOUT[type];
  if (layout === undefined || length === 0) return Buffer.from(buf.subarray(start, end));
  const parts: Buffer[] = [buf.subarray(start, start + layout.before)];
  let offset = start + layout.before;
  for (let i = 0; i < layout.names; i++) {
    const decoded = decodeName(buf, offset);
    parts.push(encodeName(decoded.name));
    offset = decoded.next;
  }
  if (offset > end) throw new WireFormatError(`${typeName(type)} RDATA overruns its length`);
  parts.push(buf.subarray(offset, end));
  return Buffer.concat(parts);
}

/** RDATA with the names inside lowercased, for comparing records (RFC 4034 §6.2). */
export function canonicalRdata(type: number, rdata: Buffer): Buffer {
  const layout = NAME_LAYOUT[type];
  if (layout === undefined || rdata.length === 0) return rdata;
  const parts: Buffer[] = [rdata.subarray(0, layout.before)];
  let offset = layout.before;
  for (let i = 0; i < layout.names; i++) {
    const decoded = decodeName(rdata, offset);
    parts.push(encodeName(canonicalName(decoded.name)));
    offset = decoded.next;
  }
  parts.push(rdata.subarray(offset));
  return Buffer.concat(parts);
}

export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new WireFormatError('shorter than a DNS header');
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let offset = 12;
  const need = (bytes: number): void => {
    if (offset + bytes > buf.length) throw new WireFormatError('message ends in the middle of a record');
  };

  const questions: Question[] = [];
  for (let i = 0; i < (counts[0] ?? 0); i++) {
    const { name, next } = decodeName(buf, offset);
    offset = next;
    need(4);
    questions.push({ name, type: buf.readUInt16BE(offset), class: buf.readUInt16BE(offset + 2) });
    offset += 4;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < (counts[s + 1] ?? 0); i++) {
      const { name, next } = decodeName(buf, offset);
      offset = next;
      need(10);
      const type = buf.readUInt16BE(offset);
      const klass = buf.readUInt16BE(offset + 2);
      const ttl = buf.readUInt32BE(offset + 4);
      const length = buf.readUInt16BE(offset + 8);
      offset += 10;
      need(length);
      sections[s]?.push({ name, type, class: klass, ttl, rdata: decodeRdata(buf, type, offset, length) });
      offset += length;
    }
  }
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: sections[0] ?? [],
    authorities: sections[1] ?? [],
    additionals: sections[2] ?? [],
  };
}

export function encodeMessage(message: Message): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(message.id, 0);
  const flags =
    (message.qr ? 0x8000 : 0) |
    ((message.opcode & 0xf) << 11) |
    (message.aa ? 0x0400 : 0) |
    (message.tc ? 0x0200 : 0) |
    (message.rd ? 0x0100 : 0) |
    (message.ra ? 0x0080 : 0) |
    (message.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(message.questions.length, 4);
  header.writeUInt16BE(message.answers.length, 6);
  header.writeUInt16BE(message.authorities.length, 8);
  header.writeUInt16BE(message.additionals.length, 10);
  const parts: Buffer[] = [header];
  for (const q of message.questions) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), tail);
  }
  for (const rr of [...message.answers, ...message.authorities, ...message.additionals]) {
    parts.push(encodeRecord(rr));
  }
  return Buffer.concat(parts);
}

export function encodeRecord(rr: ResourceRecord): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(rr.type, 0);
  head.writeUInt16BE(rr.class, 2);
  head.writeUInt32BE(rr.ttl >>> 0, 4);
  head.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([encodeName(rr.name), head, rr.rdata]);
}

// ---- RDATA builders and readers for the types the test bed speaks ----

/** TXT RDATA from character-strings, each at most 255 bytes, kept byte-exact. */
export function txtRdata(strings: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of strings) {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    if (bytes.length > 255)
      throw new RangeError(`a TXT character-string holds at most 255 bytes, got ${bytes.length}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  return Buffer.concat(parts);
}

export function parseTxt(rdata: Buffer): Buffer[] {
  const strings: Buffer[] = [];
  let offset = 0;
  while (offset < rdata.length) {
    const length = rdata[offset] ?? 0;
    if (offset + 1 + length > rdata.length) throw new WireFormatError('TXT character-string overruns RDATA');
    strings.push(Buffer.from(rdata.subarray(offset + 1, offset + 1 + length)));
    offset += 1 + length;
  }
  return strings;
}

/** Splits a long value into 255-byte character-strings, as zone files do for DKIM keys. */
export function splitTxt(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  return chunks;
}

export function nameRdata(name: string): Buffer {
  return encodeName(name);
}

/** MX RDATA: 16-bit preference, then the exchange's name (RFC 1035 §3.3.9). */
export function mxRdata(preference: number, exchange: string): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(preference);
  return Buffer.concat([head, encodeName(exchange)]);
}

export function parseNameRdata(rdata: Buffer): string {
  return decodeName(rdata, 0).name;
}

export function aRdata(address: string): Buffer {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new RangeError(`"${address}" is not an IPv4 address`);
  }
  return Buffer.from(octets);
}

export function aaaaRdata(address: string): Buffer {
  const [head = '', tail, ...rest] = address.split('::');
  if (rest.length > 0) throw new RangeError(`"${address}" is not an IPv6 address`);
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  if ((tail === undefined && missing !== 0) || missing < 0)
    throw new RangeError(`"${address}" is not an IPv6 address`);
  const all = [...left, ...Array<string>(missing).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) throw new RangeError(`"${address}" is not an IPv6 address`);
    out.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  return out;
}

export interface SoaFields {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export function soaRdata(soa: SoaFields): Buffer {
  const numbers = Buffer.alloc(20);
  for (const [i, n] of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum].entries()) {
    numbers.writeUInt32BE(n >>> 0, i * 4);
  }
  return Buffer.concat([encodeName(soa.mname), encodeName(soa.rname), numbers]);
}

export function parseSoa(rdata: Buffer): SoaFields {
  const mname = decodeName(rdata, 0);
  const rname = decodeName(rdata, mname.next);
  const o = rname.next;
  if (o + 20 > rdata.length) throw new WireFormatError('SOA RDATA too short');
  return {
    mname: mname.name,
    rname: rname.name,
    serial: rdata.readUInt32BE(o),
    refresh: rdata.readUInt32BE(o + 4),
    retry: rdata.readUInt32BE(o + 8),
    expire: rdata.readUInt32BE(o + 12),
    minimum: rdata.readUInt32BE(o + 16),
  };
}

/** An EDNS(0) OPT pseudo-record advertising `udpSize` (RFC 6891). */
export function optRecord(udpSize: number): ResourceRecord {
  return { name: '', type: RrType.OPT, class: udpSize, ttl: 0, rdata: Buffer.alloc(0) };
}

/** Builds a query; `edns` adds an OPT record advertising that UDP payload size. */
export function encodeQuery(
  name: string,
  type: string | number,
  opts: { id?: number; edns?: number; rd?: boolean } = {},
): Buffer {
  return encodeMessage(
    emptyMessage({
      id: opts.id ?? Math.floor(Math.random() * 0x10000),
      rd: opts.rd ?? false,
      questions: [{ name, type: typeCode(type), class: RrClass.IN }],
      additionals: opts.edns === undefined ? [] : [optRecord(opts.edns)],
    }),
  );
}
