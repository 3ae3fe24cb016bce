/**
 * An embedded authoritative DNS server over a {@link ZoneStore}: UDP and TCP on one port,
 * QUERY and RFC 2136 UPDATE with TSIG, plus the faults tests need (SERVFAIL, silence, a
 * frozen view standing in for a lagging secondary).
 *
 * It answers like BIND where byodkim can tell the difference: AA for its zones, REFUSED
 * outside them, NXDOMAIN vs NODATA with the SOA in the authority section, CNAME chains
 * followed inside its zones, TC when an answer does not fit the UDP payload size, NOTAUTH
 * with a TSIG error for a bad signature. Deliberately missing: delegations below a zone
 * apex, wildcards, DNSSEC, zone transfers, NOTIFY.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import {
  appendUnsignedTsig,
  signMessage,
  TsigError,
  TsigErrorCode,
  type TsigKey,
  verifyMessage,
} from '../../src/adapters/dns/tsig.js';
import { applyUpdate } from './update.js';
import {
  canonicalName,
  decodeMessage,
  emptyMessage,
  encodeMessage,
  type Message,
  Opcode,
  optRecord,
  parseNameRdata,
  parseSoa,
  type Question,
  Rcode,
  type ResourceRecord,
  RrClass,
  RrType,
} from './wire.js';
import { type Zone, ZoneStore } from './zone-store.js';

export type DnsFault = 'servfail' | 'drop';

export interface EmbeddedDnsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: pick a port free for both UDP and TCP. */
  port?: number;
  /** Zones to serve; default an empty store (add zones through `server.store`). */
  store?: ZoneStore;
  /** When given, UPDATE requires a valid TSIG with one of these keys. */
  tsigKeys?: TsigKey[];
  /** Caps UDP answers below what the client advertises, to force TC and a TCP retry. */
  maxUdpPayload?: number;
  /** Clock for TSIG time checks; default the system clock (pass the sandbox's virtual clock). */
  clock?: { now(): Date };
}

export interface RequestLogEntry {
  transport: 'udp' | 'tcp';
  opcode: number;
  name: string;
  type: number;
  rcode: number;
  truncated: boolean;
  tsigKey?: string;
}

/** What a UDP client can take: 512 bytes, or its EDNS size (RFC 6891 §6.2.5). */
const CLASSIC_UDP_LIMIT = 512;
const ADVERTISED_UDP_SIZE = 1232;
const MAX_CNAME_CHAIN = 16;
const LOG_LIMIT = 1000;

/**
 * @example
 * ```ts
 * const server = await EmbeddedDnsServer.start();
 * server.store.addZone('example.com');
 * server.store.setTxt('sel1._domainkey.example.com', 'v=DKIM1; k=rsa; p=MIIB...');
 * const resolver = new Resolver();
 * resolver.setServers([`${server.host}:${server.port}`]);
 * await resolver.resolveTxt('sel1._domainkey.example.com');
 * await server.stop();
 * ```
 */
export class EmbeddedDnsServer {
  readonly host: string;
  readonly port: number;
  readonly store: ZoneStore;
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #connections = new Set<Socket>();
  readonly #tsigKeys: readonly TsigKey[] | undefined;
  readonly #maxUdpPayload: number | undefined;
  readonly #clock: { now(): Date };
  readonly #faults = new Map<string, DnsFault>();
  readonly #log: RequestLogEntry[] = [];
  #frozen: ZoneStore | undefined;

  private constructor(
    host: string,
    udp: UdpSocket,
    tcp: Server,
    opts: EmbeddedDnsServerOptions & { store: ZoneStore },
  ) {
    this.host = host;
    this.#udp = udp;
    this.#tcp = tcp;
    this.port = udp.address().port;
    this.store = opts.store;
    this.#tsigKeys = opts.tsigKeys;
    this.#maxUdpPayload = opts.maxUdpPayload;
    this.#clock = opts.clock ?? { now: () => new Date() };
    udp.on('message', (wire, remote) => {
      const answer = this.#answer(wire, 'udp');
      if (answer !== undefined) udp.send(answer, remote.port, remote.address);
    });
    // A send to a vanished client must not take the test process down.
    udp.on('error', () => {});
    tcp.on('connection', (socket) => this.#serveTcp(socket));
  }

  static async start(opts: EmbeddedDnsServerOptions = {}): Promise<EmbeddedDnsServer> {
    const host = opts.host ?? '127.0.0.1';
    const store = opts.store ?? new ZoneStore();
    // With port 0, UDP picks a free port that TCP may find taken: try again with another.
    const attempts = opts.port === undefined || opts.port === 0 ? 20 : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(opts.port ?? 0, host, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        udp.close();
        throw error;
      }
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(udp.address().port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
        return new EmbeddedDnsServer(host, udp, tcp, { ...opts, store });
      } catch (error) {
        lastError = error;
        udp.close();
        tcp.close();
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
    throw lastError;
  }

  /** Makes every request whose question is `name` fail: SERVFAIL, or no answer at all. */
  setFault(name: string, fault: DnsFault | undefined): void {
    if (fault === undefined) this.#faults.delete(canonicalName(name));
    else this.#faults.set(canonicalName(name), fault);
  }

  /** Keeps answering queries from the data as of now (UPDATEs still change `store`). */
  freeze(): void {
    this.#frozen = this.store.snapshot();
  }

  thaw(): void {
    this.#frozen = undefined;
  }

  get frozen(): boolean {
    return this.#frozen !== undefined;
  }

  /** Requests answered so far (latest last, bounded). */
  requests(): readonly RequestLogEntry[] {
    return [...this.#log];
  }

  async stop(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
  }

  #serveTcp(socket: Socket): void {
    this.#connections.add(socket);
    socket.setTimeout(30_000, () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      // One connection may carry several length-prefixed messages (RFC 7766 §6.2.1).
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const wire = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + wire.length);
        const answer = this.#answer(wire, 'tcp');
        if (answer === undefined) continue;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(answer.length);
        socket.write(Buffer.concat([length, answer]));
      }
    });
  }

  /** A bug or odd input answers SERVFAIL instead of throwing out of a socket handler. */
  #answer(wire: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    try {
      return this.#handle(wire, transport);
    } catch {
      if (wire.length < 12) return undefined;
      return encodeMessage(
        emptyMessage({
          id: wire.readUInt16BE(0),
          qr: true,
          opcode: (wire.readUInt16BE(2) >> 11) & 0xf,
          rcode: Rcode.SERVFAIL,
        }),
      );
    }
  }

  /** One request in, one answer out (undefined: stay silent). */
  #handle(wire: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    let request: Message;
    try {
      request = decodeMessage(wire);
    } catch {
      if (wire.length < 12 || (wire.readUInt16BE(2) & 0x8000) !== 0) return undefined;
      return encodeMessage(emptyMessage({ id: wire.readUInt16BE(0), qr: true, rcode: Rcode.FORMERR }));
    }
    if (request.qr) return undefined;
    const question = request.questions[0];
    const fault = question === undefined ? undefined : this.#faults.get(canonicalName(question.name));
    if (fault === 'drop') return undefined;

    const response = emptyMessage({
      id: request.id,
      qr: true,
      opcode: request.opcode,
      rd: request.rd,
      questions: request.questions.slice(0, 1),
    });
    const requestOpt = request.additionals.find((rr) => rr.type === RrType.OPT);
    if (requestOpt !== undefined)
      response.additionals.push(optRecord(this.#maxUdpPayload ?? ADVERTISED_UDP_SIZE));

    // TSIG first: an answer to a signed request must be signed, or carry the TSIG error.
    let signer: { key: TsigKey; requestMac: Buffer } | undefined;
    if (request.additionals.at(-1)?.type === RrType.TSIG) {
      try {
        const verified = verifyMessage(wire, this.#tsigKeys ?? [], { now: this.#clock.now() });
        const key = this.#findKey(verified.keyName, verified.record.algorithm);
        if (key !== undefined) signer = { key, requestMac: verified.mac };
        request.additionals.pop();
      } catch (error) {
        return this.#tsigFailure(response, error, transport);
      }
    }

    if (fault === 'servfail') {
      response.rcode = Rcode.SERVFAIL;
    } else if (request.questions.length !== 1 || question === undefined) {
      response.rcode = Rcode.FORMERR;
    } else if (request.opcode === Opcode.QUERY) {
      this.#answerQuery(question, response);
    } else if (request.opcode === Opcode.UPDATE) {
      // Unsigned updates are refused once keys are configured, as BIND's allow-update { key ...; }.
      response.rcode =
        this.#tsigKeys !== undefined && signer === undefined
          ? Rcode.REFUSED
          : applyUpdate(this.store, request);
    } else {
      response.rcode = Rcode.NOTIMP;
    }
    return this.#finish(response, transport, signer, requestOpt);
  }

  #answerQuery(question: Question, response: Message): void {
    if (question.class !== RrClass.IN && question.class !== RrClass.ANY) {
      response.rcode = Rcode.REFUSED;
      return;
    }
    if (question.type === RrType.AXFR || question.type === RrType.IXFR) {
      response.rcode = Rcode.REFUSED;
      return;
    }
    const data = this.#frozen ?? this.store;
    let zone = data.findZone(question.name);
    if (zone === undefined) {
      response.rcode = Rcode.REFUSED;
      return;
    }
    response.aa = true;
    let name = question.name;
    const seen = new Set<string>();
    for (;;) {
      const cname = zone.rrset(name, RrType.CNAME);
      if (cname !== undefined && question.type !== RrType.CNAME && question.type !== RrType.ANY) {
        response.answers.push(...records(name, RrType.CNAME, cname));
        seen.add(canonicalName(name));
        const target = parseNameRdata(cname.rdatas[0] ?? Buffer.from([0]));
        const targetZone = data.findZone(target);
        // A chain leaving our zones, or looping, ends here: the resolver takes it from there.
        if (targetZone === undefined || seen.has(canonicalName(target)) || seen.size > MAX_CNAME_CHAIN)
          return;
        zone = targetZone;
        name = target;
        continue;
      }
      const types = question.type === RrType.ANY ? zone.types(name) : [question.type];
      for (const type of types) {
        const rrset = zone.rrset(name, type);
        if (rrset !== undefined) response.answers.push(...records(name, type, rrset));
      }
      if (response.answers.length > 0 && types.some((t) => zone?.rrset(name, t) !== undefined)) return;
      // Negative answer (RFC 2308): the RCODE is about the last name of the chain.
      const exists = zone.nameInUse(name) || zone.hasDescendants(name);
      response.rcode = exists ? Rcode.NOERROR : Rcode.NXDOMAIN;
      response.authorities.push(negativeSoa(zone));
      return;
    }
  }

  #tsigFailure(response: Message, error: unknown, transport: 'udp' | 'tcp'): Buffer {
    const record = error instanceof TsigError ? error.record : undefined;
    if (!(error instanceof TsigError) || record === undefined || error.code === 'TSIG_FORMERR') {
      response.rcode = Rcode.FORMERR;
      return this.#finish(response, transport, undefined, undefined);
    }
    response.rcode = Rcode.NOTAUTH;
    const nowSeconds = Math.floor(this.#clock.now().getTime() / 1000);
    const key = this.#findKey(record.keyName, record.algorithm);
    // RFC 8945 §5.3.2: BADTIME/BADTRUNC answers are signed (the MAC verified); BADKEY/BADSIG never are.
    if (
      key !== undefined &&
      (error.tsigError === TsigErrorCode.BADTIME || error.tsigError === TsigErrorCode.BADTRUNC)
    ) {
      const otherData = Buffer.alloc(error.tsigError === TsigErrorCode.BADTIME ? 6 : 0);
      if (otherData.length === 6) otherData.writeUIntBE(nowSeconds, 0, 6);
      const unsigned = encodeMessage(response);
      this.#record(response, transport, false, key.name);
      return signMessage(unsigned, key, {
        now: this.#clock.now(),
        requestMac: record.mac,
        error: error.tsigError,
        timeSigned: record.timeSigned,
        otherData,
      }).wire;
    }
    this.#record(response, transport, false, record.keyName);
    return appendUnsignedTsig(encodeMessage(response), {
      keyName: record.keyName,
      algorithm: record.algorithm,
      timeSigned: nowSeconds,
      fudge: record.fudge,
      error: error.tsigError ?? TsigErrorCode.BADSIG,
    });
  }

  /** Encodes, signs, and truncates for UDP when the answer does not fit. */
  #finish(
    response: Message,
    transport: 'udp' | 'tcp',
    signer: { key: TsigKey; requestMac: Buffer } | undefined,
    requestOpt: ResourceRecord | undefined,
  ): Buffer {
    const sign = (message: Message): Buffer => {
      const wire = encodeMessage(message);
      return signer === undefined
        ? wire
        : signMessage(wire, signer.key, { now: this.#clock.now(), requestMac: signer.requestMac }).wire;
    };
    let wire = sign(response);
    let truncated = false;
    if (transport === 'udp' && wire.length > this.#udpLimit(requestOpt)) {
      // Answer nothing rather than a partial RRset: the client must retry over TCP.
      truncated = true;
      wire = sign({ ...response, tc: true, answers: [], authorities: [] });
    }
    this.#record(response, transport, truncated, signer?.key.name);
    return wire;
  }

  #udpLimit(requestOpt: ResourceRecord | undefined): number {
    const client =
      requestOpt === undefined ? CLASSIC_UDP_LIMIT : Math.max(CLASSIC_UDP_LIMIT, requestOpt.class);
    return Math.min(client, this.#maxUdpPayload ?? Number.POSITIVE_INFINITY);
  }

  #findKey(name: string, algorithm: string): TsigKey | undefined {
    return this.#tsigKeys?.find(
      (k) => canonicalName(k.name) === canonicalName(name) && k.algorithm === algorithm,
    );
  }

  #record(
    response: Message,
    transport: 'udp' | 'tcp',
    truncated: boolean,
    tsigKey: string | undefined,
  ): void {
    const question = response.questions[0];
    this.#log.push({
      transport,
      opcode: response.opcode,
      name: question?.name ?? '',
      type: question?.type ?? 0,
      rcode: response.rcode,
      truncated,
      ...(tsigKey === undefined ? {} : { tsigKey: canonicalName(tsigKey) }),
    });
    if (this.#log.length > LOG_LIMIT) this.#log.shift();
  }
}

function records(name: string, type: number, rrset: { ttl: number; rdatas: Buffer[] }): ResourceRecord[] {
  return rrset.rdatas.map((rdata) => ({ name, type, class: RrClass.IN, ttl: rrset.ttl, rdata }));
}

/** The SOA for a negative answer, its TTL capped by the SOA minimum (RFC 2308 §3). */
function negativeSoa(zone: Zone): ResourceRecord {
  const soa = zone.rrset(zone.origin, RrType.SOA);
  const rdata = soa?.rdatas[0] ?? Buffer.alloc(0);
  const ttl = Math.min(soa?.ttl ?? 0, rdata.length > 0 ? parseSoa(rdata).minimum : 0);
  return { name: zone.origin, type: RrType.SOA, class: RrClass.IN, ttl, rdata };
}
