/**
 * RFC 2136 dynamic update publisher (BIND, Knot, PowerDNS), signed with TSIG (RFC 8945).
 *
 * One batch → one UPDATE message per zone, so a batch applies entirely or not at all,
 * and the zone's serial moves once. Records are changed one RR at a time, never as whole
 * RRsets, because a DKIM name may also carry TXT records byodkim does not own:
 *
 *   upsert v at N:  [prereq] N has no CNAME
 *                   delete  N TXT <each other DKIM record served at N>   (class NONE, exact rdata)
 *                   add     N TXT v                                      (class IN)
 *   delete v at N:  delete  N TXT <v exactly as served>                  (class NONE)
 *
 * Before building the message the publisher reads N's TXT records from the primary, so a
 * delete names the record with the character-string split the server actually holds (a
 * record published by hand with other chunk boundaries is a different RR to the server).
 * A primary that refuses queries (hidden primary, allow-query restricted) still gets the
 * update, built without that read.
 *
 * Messages go over TCP: a 2048-bit key record plus TSIG does not fit a 512-byte datagram.
 */

import { randomInt } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { splitTxtValue } from '../../domain/record.js';
import { type ErrorContext, InputError, ServiceError } from '../../errors.js';
import type { DnsPublisher, DnsRecordChange, PublishOutcome } from '../../ports.js';
import { looksLikeDkimRecord } from './probe.js';
import {
  canonicalName,
  DNS_PORT,
  DnsTransportError,
  formatAddress,
  isInZone,
  isIpAddress,
  parentName,
  parseHostPort,
  queryServer,
  Rcode,
  rcodeName,
  type ServerAddress,
  tcpExchange,
} from './transport.js';
import { nameToWire, signMessage, TsigError, type TsigKey, tsigErrorName, verifyMessage } from './tsig.js';

export interface Rfc2136PublisherOptions {
  /** Primary server for updates, `host[:port]` (config `dns.server`). */
  server: string;
  /** Zone to update; found with an SOA query at the server when omitted (config `dns.zone`). */
  zone?: string | undefined;
  /** The TSIG key (see `loadTsigKey`); its secret never appears in errors or output. */
  tsig: TsigKey;
  /** TTL of added records when a change names none. Default 300 (config `dns.ttl`). */
  ttl?: number;
  /** Per exchange. Default 10 000 ms. */
  timeoutMs?: number;
  /** Clock for TSIG signing and checking (a virtual clock in the sandbox). */
  now?: () => Date;
}

const TYPE_TXT = 16;
const TYPE_CNAME = 5;
const TYPE_SOA = 6;
const CLASS_IN = 1;
const CLASS_NONE = 254;
const OPCODE_UPDATE = 5;

/** One RR for an UPDATE message, RDATA already encoded. */
interface UpdateRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
}

/**
 * @example
 * ```ts
 * const publisher = new Rfc2136Publisher({
 *   server: 'ns1.example.com',
 *   tsig: await loadTsigKey({ name: 'byodkim-update', algorithm: 'hmac-sha256', secretEnv: 'TSIG_SECRET' }),
 * });
 * await publisher.apply('example.com', [
 *   { action: 'upsert', name: 'sel2._domainkey.example.com', value, selector: 'sel2', reason: 'publish' },
 * ]);
 * ```
 */
export class Rfc2136Publisher implements DnsPublisher {
  readonly description: string;
  readonly mode = 'automatic' as const;
  readonly #server: ReturnType<typeof parseHostPort>;
  readonly #zone: string | undefined;
  readonly #key: TsigKey;
  readonly #ttl: number;
  readonly #timeoutMs: number;
  readonly #now: () => Date;
  readonly #zones = new Map<string, string>();

  constructor(options: Rfc2136PublisherOptions) {
    this.#server = parseHostPort(options.server, DNS_PORT);
    this.#zone = options.zone === undefined ? undefined : canonicalName(options.zone);
    this.#key = options.tsig;
    this.#ttl = options.ttl ?? 300;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now ?? (() => new Date());
    this.description = `rfc2136:${formatAddress(this.#server)}${this.#zone ? ` zone ${this.#zone}` : ''} (TSIG key ${this.#key.name})`;
  }

  async apply(domain: string, changes: readonly DnsRecordChange[]): Promise<PublishOutcome> {
    if (changes.length === 0) return 'applied';
    const server = await this.#address();
    const byZone = new Map<string, DnsRecordChange[]>();
    for (const change of changes) {
      const zone = await this.#zoneOf(server, change.name, domain);
      byZone.set(zone, [...(byZone.get(zone) ?? []), change]);
    }
    for (const [zone, zoneChanges] of byZone) await this.#applyZone(server, zone, zoneChanges);
    return 'applied';
  }

  async #applyZone(server: ServerAddress, zone: string, changes: readonly DnsRecordChange[]): Promise<void> {
    const names = [...new Set(changes.map((c) => canonicalName(c.name)))];
    const served = new Map(
      await Promise.all(
        names.map(async (name) => [name, await this.#servedTxt(server, zone, name)] as const),
      ),
    );
    const prerequisites: UpdateRecord[] = [];
    const deletes: UpdateRecord[] = [];
    const adds: UpdateRecord[] = [];
    for (const name of names) {
      const forName = changes.filter((c) => canonicalName(c.name) === name);
      const upsert = forName.filter((c) => c.action === 'upsert').at(-1);
      const current = served.get(name) ?? [];
      const removals = new Map<string, Buffer>();
      for (const change of forName.filter((c) => c.action === 'delete')) {
        if (upsert !== undefined && change.value === upsert.value) continue;
        const exact = current.filter((rr) => joined(rr) === change.value);
        // Not served (already gone, or with unknown chunking): delete our own split, a no-op if absent.
        for (const rdata of exact.length > 0 ? exact : [txtRdata(splitTxtValue(change.value))]) {
          removals.set(rdata.toString('hex'), rdata);
        }
      }
      if (upsert !== undefined) {
        const rdata = txtRdata(splitTxtValue(upsert.value));
        // The selector name is byodkim's: any other DKIM key record there is an earlier value
        // it published (a replaced or revoked key). Two would make verification undefined
        // (RFC 6376 §3.6.2.2), so it goes in the same message. Non-DKIM TXT stays.
        for (const rr of current) {
          if (looksLikeDkimRecord(joined(rr)) && !rr.equals(rdata)) removals.set(rr.toString('hex'), rr);
        }
        // Prerequisite "no CNAME at N" (RFC 2136 §2.4.3): a server silently ignores a TXT
        // added beside a CNAME (§3.4.2.2) and still answers NOERROR; this turns that into
        // YXRRSET. No value-dependent prerequisite (§2.4.2) is used: it compares the WHOLE
        // TXT RRset, so any unrelated TXT at the name (a verification token added by
        // someone else) would fail it, and it cannot express "this one record exists".
        // Deleting one RR that is already gone is a no-op, which keeps retries safe.
        prerequisites.push({ name, type: TYPE_CNAME, class: CLASS_NONE, ttl: 0, rdata: Buffer.alloc(0) });
        adds.push({ name, type: TYPE_TXT, class: CLASS_IN, ttl: upsert.ttl ?? this.#ttl, rdata });
      }
      for (const rdata of removals.values()) {
        deletes.push({ name, type: TYPE_TXT, class: CLASS_NONE, ttl: 0, rdata });
      }
    }
    const id = randomInt(0, 0x10000);
    const message = encodeUpdate(id, zone, prerequisites, [...deletes, ...adds]);
    await this.#send(server, zone, names, message);
  }

  async #send(server: ServerAddress, zone: string, names: readonly string[], message: Buffer): Promise<void> {
    const context: ErrorContext = {
      service: 'dns',
      operation: 'update',
      server: formatAddress(server),
      zone,
      records: names.join(' '),
      keyName: this.#key.name,
    };
    const where = `${formatAddress(server)} (zone ${zone}, ${describeNames(names)})`;
    const { wire, mac } = signMessage(message, this.#key, { now: this.#now() });
    let answer: Buffer;
    try {
      answer = await tcpExchange(server, wire, this.#timeoutMs, (a) => a.length >= 12 && (a[2] ?? 0) >= 0x80);
    } catch (error) {
      const timeout = error instanceof DnsTransportError && error.reason === 'timeout';
      throw new ServiceError(
        timeout ? 'DNS_UPDATE_TIMEOUT' : 'DNS_UPDATE_UNREACHABLE',
        timeout
          ? `no answer to the DNS update from ${where} within ${this.#timeoutMs} ms; it may or may not have been applied (retrying is safe)`
          : `cannot send the DNS update to ${where}: ${(error as Error).message}`,
        { context, cause: error, retryable: true },
      );
    }
    const rcode = answer.readUInt16BE(2) & 0x0f;
    const opcode = (answer.readUInt16BE(2) >> 11) & 0x0f;
    if (opcode !== OPCODE_UPDATE) {
      throw new ServiceError('DNS_UPDATE_FAILED', `${where} answered the DNS update with opcode ${opcode}`, {
        context,
      });
    }
    try {
      verifyMessage(answer, this.#key, { requestMac: mac, now: this.#now() });
    } catch (error) {
      if (error instanceof TsigError && error.origin === 'server') {
        throw new ServiceError(
          'DNS_UPDATE_TSIG_REFUSED',
          `TSIG key ${this.#key.name} refused by ${formatAddress(server)} (${tsigErrorName(error.tsigError ?? 0)}) ` +
            `updating zone ${zone} (${describeNames(names)}): ${tsigReason(error.tsigError)}`,
          { context: { ...context, rcode: rcodeName(rcode) }, cause: error },
        );
      }
      // An unsigned error answer (some servers do not sign REFUSED/NOTAUTH) is still an answer.
      if (!(error instanceof TsigError && error.code === 'TSIG_UNSIGNED' && rcode !== Rcode.NOERROR)) {
        throw new ServiceError(
          'DNS_UPDATE_RESPONSE_UNVERIFIED',
          `the answer of ${where} to the DNS update (${rcodeName(rcode)}) does not carry a valid TSIG signature ` +
            `of key ${this.#key.name}; whether the update was applied is unknown: ${(error as Error).message}`,
          { context: { ...context, rcode: rcodeName(rcode) }, cause: error },
        );
      }
    }
    if (rcode === Rcode.NOERROR) return;
    throw rcodeError(rcode, where, zone, names, this.#key.name, formatAddress(server), context);
  }

  /** The TXT records at `name` as the primary serves them, each as its exact RDATA. */
  async #servedTxt(server: ServerAddress, zone: string, name: string): Promise<Buffer[]> {
    try {
      const reply = await queryServer(server, name, 'TXT', {
        recursionDesired: false,
        timeoutMs: this.#timeoutMs,
      });
      // A hidden primary may refuse queries but take signed updates: go on without the read
      // (deletes then use our own split; the update's answer says whether the zone is served).
      if (reply.rcode === Rcode.REFUSED) return [];
      if (reply.rcode !== Rcode.NOERROR && reply.rcode !== Rcode.NXDOMAIN) {
        throw new ServiceError(
          'DNS_UPDATE_READ_FAILED',
          `${formatAddress(server)} answered ${rcodeName(reply.rcode)} when asked for the TXT records at ${name} (zone ${zone})`,
          {
            context: { service: 'dns', server: formatAddress(server), zone, records: name },
            retryable: reply.rcode === Rcode.SERVFAIL,
          },
        );
      }
      return (reply.packet.answers ?? []).flatMap((rr) =>
        rr.type === 'TXT' && canonicalName(rr.name) === name ? [txtRdata(chunksOf(rr.data))] : [],
      );
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'DNS_UPDATE_READ_FAILED') throw error;
      throw new ServiceError(
        'DNS_UPDATE_READ_FAILED',
        `cannot read the TXT records at ${name} from ${formatAddress(server)} (zone ${zone}) before updating: ${(error as Error).message}`,
        {
          context: { service: 'dns', server: formatAddress(server), zone, records: name },
          cause: error,
          retryable: true,
        },
      );
    }
  }

  async #zoneOf(server: ServerAddress, name: string, domain: string): Promise<string> {
    const canonical = canonicalName(name);
    if (this.#zone !== undefined) {
      if (!isInZone(canonical, this.#zone)) {
        throw new InputError(
          'DNS_NOT_IN_ZONE',
          `dns.zone: record ${canonical} of ${domain} is not in the configured zone ${this.#zone}`,
          { context: { zone: this.#zone, record: canonical, domain } },
        );
      }
      return this.#zone;
    }
    const key = parentName(canonical) ?? canonical;
    const known = this.#zones.get(key);
    if (known !== undefined) return known;
    const zone = await this.#findZone(server, canonical);
    this.#zones.set(key, zone);
    return zone;
  }

  /** The primary names the zone in its answer: the SOA of the name, or the negative answer's SOA. */
  async #findZone(server: ServerAddress, name: string): Promise<string> {
    let candidate: string | undefined = name;
    let last = 'no answer';
    while (candidate !== undefined && candidate !== '') {
      let reply: Awaited<ReturnType<typeof queryServer>>;
      try {
        reply = await queryServer(server, candidate, 'SOA', {
          recursionDesired: false,
          timeoutMs: this.#timeoutMs,
        });
      } catch (error) {
        throw new ServiceError(
          'DNS_ZONE_NOT_FOUND',
          `cannot find the zone of ${name} at ${formatAddress(server)}: ${(error as Error).message} (set dns.zone to skip this lookup)`,
          {
            context: { service: 'dns', server: formatAddress(server), record: name },
            cause: error,
            retryable: true,
          },
        );
      }
      last = rcodeName(reply.rcode);
      if (reply.rcode === Rcode.NOERROR || reply.rcode === Rcode.NXDOMAIN) {
        const current: string = candidate;
        const apex = (reply.packet.answers ?? []).find(
          (rr) => rr.type === 'SOA' && canonicalName(rr.name) === current,
        );
        if (apex !== undefined) return current;
        const aliased = (reply.packet.answers ?? []).some((rr) => rr.type === 'CNAME');
        const soa = (reply.packet.authorities ?? []).find((rr) => rr.type === 'SOA');
        if (!aliased && soa !== undefined && isInZone(current, soa.name)) return canonicalName(soa.name);
      } else if (reply.rcode === Rcode.REFUSED) {
        break;
      }
      candidate = parentName(candidate);
    }
    throw new ServiceError(
      'DNS_ZONE_NOT_FOUND',
      `${formatAddress(server)} is not authoritative for any zone holding ${name} (it answered ${last}); ` +
        'check dns.server, or set dns.zone',
      { context: { service: 'dns', server: formatAddress(server), record: name } },
    );
  }

  async #address(): Promise<ServerAddress> {
    if (isIpAddress(this.#server.host)) return this.#server;
    try {
      const found = await lookup(this.#server.host);
      return { host: found.address, port: this.#server.port };
    } catch (error) {
      throw new ServiceError(
        'DNS_UPDATE_UNREACHABLE',
        `cannot resolve the update server ${this.#server.host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { context: { service: 'dns', server: this.#server.host }, cause: error, retryable: true },
      );
    }
  }
}

// ---- errors ----

function describeNames(names: readonly string[]): string {
  if (names.length === 1) return `record ${names[0]}`;
  return `records ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
}

function tsigReason(error: number | undefined): string {
  switch (error) {
    case 17:
      return 'the server does not know this key name and algorithm (BADKEY)';
    case 16:
      return 'the secret differs from the one the server has (BADSIG)';
    case 18:
      return 'the clocks of this host and the server differ by more than 5 minutes (BADTIME)';
    default:
      return 'see the server log';
  }
}

function rcodeError(
  rcode: number,
  where: string,
  zone: string,
  names: readonly string[],
  keyName: string,
  server: string,
  context: ErrorContext,
): ServiceError {
  const ctx = { ...context, rcode: rcodeName(rcode) };
  switch (rcode) {
    case Rcode.NOTAUTH:
      return new ServiceError(
        'DNS_UPDATE_TSIG_REFUSED',
        `TSIG key ${keyName} refused by ${server} (NOTAUTH) updating zone ${zone} (${describeNames(names)}): ` +
          'the server does not accept this key, or is not authoritative (primary) for the zone',
        { context: ctx },
      );
    case Rcode.REFUSED:
      return new ServiceError(
        'DNS_UPDATE_REFUSED',
        `${where} refused the update (REFUSED): TSIG key ${keyName} is not allowed to update zone ${zone} ` +
          '(check allow-update / update-policy on the primary)',
        { context: ctx },
      );
    case Rcode.YXRRSET:
      return new ServiceError(
        'DNS_UPDATE_PREREQUISITE_FAILED',
        `${where} refused the update (YXRRSET): a CNAME exists at the name, so a TXT record cannot be added beside it ` +
          '(is the selector delegated? then publish in the zone the CNAME points to)',
        { context: ctx },
      );
    case Rcode.NOTZONE:
      return new ServiceError(
        'DNS_UPDATE_NOTZONE',
        `${where} refused the update (NOTZONE): a record is outside zone ${zone}`,
        { context: ctx },
      );
    case Rcode.SERVFAIL:
      return new ServiceError('DNS_UPDATE_SERVFAIL', `${where} failed to apply the update (SERVFAIL)`, {
        context: ctx,
        retryable: true,
      });
    default:
      return new ServiceError('DNS_UPDATE_FAILED', `${where} rejected the update (${rcodeName(rcode)})`, {
        context: ctx,
      });
  }
}

// ---- wire ----

function chunksOf(data: unknown): Buffer[] {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(String(p ?? ''), 'utf8')));
}

function joined(rdata: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < rdata.length) {
    const length = rdata[offset] ?? 0;
    parts.push(rdata.subarray(offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** TXT RDATA: each character-string as a length byte and at most 255 bytes. */
export function txtRdata(chunks: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks.length === 0 ? [''] : chunks) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'utf8');
    if (bytes.length > 255) throw new RangeError('a TXT character-string holds at most 255 bytes');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  return Buffer.concat(parts);
}

/**
 * Encodes an UPDATE message (RFC 2136 §2). dns-packet cannot encode class NONE (254), which
 * "delete one RR" and "RRset does not exist" need, so the few sections are written here.
 */
export function encodeUpdate(
  id: number,
  zone: string,
  prerequisites: readonly UpdateRecord[],
  updates: readonly UpdateRecord[],
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(prerequisites.length, 6); // PRCOUNT
  header.writeUInt16BE(updates.length, 8); // UPCOUNT
  header.writeUInt16BE(0, 10); // ADCOUNT (TSIG is appended by signMessage)
  const zoneSection = Buffer.alloc(4);
  zoneSection.writeUInt16BE(TYPE_SOA, 0);
  zoneSection.writeUInt16BE(CLASS_IN, 2);
  const parts = [header, nameToWire(zone), zoneSection];
  for (const rr of [...prerequisites, ...updates]) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(rr.type, 0);
    fixed.writeUInt16BE(rr.class, 2);
    fixed.writeUInt32BE(rr.ttl, 4);
    fixed.writeUInt16BE(rr.rdata.length, 8);
    parts.push(nameToWire(rr.name), fixed, rr.rdata);
  }
  const wire = Buffer.concat(parts);
  if (wire.length > 65_000) {
    throw new InputError(
      'DNS_UPDATE_TOO_LARGE',
      `the update for zone ${zone} is ${wire.length} bytes; split the batch`,
      {
        context: { zone },
      },
    );
  }
  return wire;
}
