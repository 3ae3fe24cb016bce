/**
 * Talking to one DNS server: a query over UDP (one retry on silence, TCP when the answer
 * is truncated) or a raw exchange over TCP (dynamic updates). Queries are built and read
 * with dns-packet; the few header bits that matter (RCODE, AA, TC) are read straight from
 * the wire, since dns-packet's decoded header is not fully typed.
 *
 * Every exchange checks that the answer is for us: same message ID, from the address
 * and port asked, and (for queries) the same question. Anything else is ignored, so a
 * late answer to an earlier query, or a spoofed datagram, never counts.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIP, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import { InputError, ServiceError } from '../../errors.js';
import type { ConcurrencyLimiter } from './limiter.js';

export const DNS_PORT = 53;

/** A server to send to: an IP address and a port. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** A configured `host[:port]`: the host may be a name (resolved later) or an address. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
 *
 * @example
 * ```ts
 * parseHostPort('127.0.0.1:5300', 53); // { host: '127.0.0.1', port: 5300 }
 * parseHostPort('[::1]:53', 53);       // { host: '::1', port: 53 }
 * parseHostPort('ns1.example.com', 53) // { host: 'ns1.example.com', port: 53 }
 * ```
 */
export function parseHostPort(text: string, defaultPort: number = DNS_PORT): HostPort {
  const trimmed = text.trim();
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(trimmed);
  if (bracketed?.[1] !== undefined)
    return { host: bracketed[1], port: portOf(bracketed[2], defaultPort, text) };
  if (isIPv6(trimmed)) return { host: trimmed, port: defaultPort };
  const plain = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(trimmed);
  if (plain?.[1] !== undefined)
    return { host: plain[1].replace(/\.$/, ''), port: portOf(plain[2], defaultPort, text) };
  throw new InputError('DNS_HOST_INVALID', `"${text}" is not host or host:port`, {
    context: { value: text },
  });
}

function portOf(text: string | undefined, defaultPort: number, whole: string): number {
  if (text === undefined) return defaultPort;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InputError('DNS_HOST_INVALID', `"${whole}": port ${text} is out of range`, {
      context: { value: whole },
    });
  }
  return port;
}

/** `192.0.2.1`, `192.0.2.1:5300`, `[2001:db8::1]:5300`: the port only when it is not 53. */
export function formatAddress(address: ServerAddress): string {
  if (address.port === DNS_PORT) return address.host;
  return isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export function isIpAddress(host: string): boolean {
  return isIP(host) !== 0;
}

/** Lowercase, no trailing dot; the root is ''. */
export function canonicalName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** True when `name` is `zone` or below it. */
export function isInZone(name: string, zone: string): boolean {
  const n = canonicalName(name);
  const z = canonicalName(zone);
  return z === '' || n === z || n.endsWith(`.${z}`);
}

export function parentName(name: string): string | undefined {
  const n = canonicalName(name);
  if (n === '') return undefined;
  const dot = n.indexOf('.');
  return dot < 0 ? '' : n.slice(dot + 1);
}

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;

const RCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Rcode).map(([name, value]) => [value, name]),
);

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** Why a query got no usable answer: silence, a network error, or bytes that are not DNS. */
export class DnsTransportError extends ServiceError {
  readonly reason: 'timeout' | 'network' | 'malformed';
  constructor(
    reason: 'timeout' | 'network' | 'malformed',
    message: string,
    options: { server: ServerAddress; name?: string; cause?: unknown },
  ) {
    super(
      reason === 'timeout' ? 'DNS_TIMEOUT' : reason === 'network' ? 'DNS_NETWORK_ERROR' : 'DNS_BAD_RESPONSE',
      message,
      {
        context: { service: 'dns', server: formatAddress(options.server), name: options.name },
        ...(options.cause === undefined ? {} : { cause: options.cause }),
        retryable: reason !== 'malformed',
      },
    );
    this.reason = reason;
  }
}

export interface QueryOptions {
  /** RD bit: false when asking an authoritative server, true when asking a resolver. */
  recursionDesired: boolean;
  /** Per attempt. */
  timeoutMs: number;
  /** EDNS(0) UDP payload size to advertise; 0 sends no OPT record (512-byte answers). Default 1232. */
  udpPayloadSize?: number;
  /** UDP attempts after the first when the server stays silent. Default 1. */
  udpRetries?: number;
  /** Every DNS exchange takes a slot here, so many probes together stay bounded. */
  limiter?: ConcurrencyLimiter;
}

export interface QueryAnswer {
  rcode: number;
  authoritative: boolean;
  truncated: boolean;
  /** Which transport the final answer came over. */
  transport: 'udp' | 'tcp';
  packet: dnsPacket.DecodedPacket;
}

const DEFAULT_UDP_PAYLOAD = 1232;

/**
 * Asks one server one question: UDP first (retried once on silence), TCP when the answer
 * comes back truncated.
 *
 * @throws {@link DnsTransportError} when no usable answer arrives.
 * @example
 * ```ts
 * const answer = await queryServer({ host: '192.0.2.53', port: 53 }, 'sel._domainkey.example.com', 'TXT', {
 *   recursionDesired: false,
 *   timeoutMs: 2000,
 * });
 * if (answer.rcode === Rcode.NOERROR && answer.authoritative) console.log(answer.packet.answers);
 * ```
 */
export async function queryServer(
  server: ServerAddress,
  name: string,
  type: dnsPacket.RecordType,
  options: QueryOptions,
): Promise<QueryAnswer> {
  const run = (): Promise<QueryAnswer> => queryUnlimited(server, name, type, options);
  return options.limiter ? options.limiter.run(run) : run();
}

async function queryUnlimited(
  server: ServerAddress,
  name: string,
  type: dnsPacket.RecordType,
  options: QueryOptions,
): Promise<QueryAnswer> {
  const payload = options.udpPayloadSize ?? DEFAULT_UDP_PAYLOAD;
  const wire = (): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id: randomInt(0, 0x10000),
      flags: options.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ type, name: canonicalName(name) || '.', class: 'IN' }],
      additionals:
        payload > 0 ? [{ type: 'OPT', name: '.', udpPayloadSize: payload } as dnsPacket.Answer] : [],
    });
  const accept = (answer: Buffer): boolean => sameQuestion(answer, name, type);
  const attempts = 1 + (options.udpRetries ?? 1);
  let raw: Buffer | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts && raw === undefined; attempt++) {
    try {
      // A fresh ID and socket (so a fresh source port) per attempt.
      raw = await udpExchange(server, wire(), options.timeoutMs, accept);
    } catch (error) {
      lastError = error;
      if (!(error instanceof DnsTransportError) || error.reason !== 'timeout') throw error;
    }
  }
  if (raw === undefined) {
    throw new DnsTransportError(
      'timeout',
      `${formatAddress(server)} did not answer ${type} ${name} over UDP (${attempts} tries of ${options.timeoutMs} ms)`,
      { server, name, cause: lastError },
    );
  }
  let transport: 'udp' | 'tcp' = 'udp';
  if (isTruncated(raw)) {
    raw = await tcpExchange(server, wire(), options.timeoutMs, accept);
    transport = 'tcp';
  }
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(raw);
  } catch (error) {
    throw new DnsTransportError('malformed', `${formatAddress(server)} sent an answer that cannot be read`, {
      server,
      name,
      cause: error,
    });
  }
  const flags = raw.readUInt16BE(2);
  return {
    rcode: flags & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    transport,
    packet,
  };
}

function isTruncated(wire: Buffer): boolean {
  return (wire.readUInt16BE(2) & 0x0200) !== 0;
}

/** The answer repeats our question (name compared case-insensitively). */
function sameQuestion(answer: Buffer, name: string, type: dnsPacket.RecordType): boolean {
  try {
    const decoded = dnsPacket.decode(answer);
    const question = decoded.questions?.[0];
    return (
      question !== undefined && canonicalName(question.name) === canonicalName(name) && question.type === type
    );
  } catch {
    // A truncated answer may not decode past the question; accept it on ID alone.
    return isTruncated(answer);
  }
}

/**
 * Sends one datagram and waits for the answer with the same ID from the same address.
 * @param accept Further check on a candidate answer (e.g. the question matches).
 */
export function udpExchange(
  server: ServerAddress,
  wire: Buffer,
  timeoutMs: number,
  accept: (answer: Buffer) => boolean = () => true,
): Promise<Buffer> {
  const id = wire.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (error: Error | undefined, answer?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(
      () =>
        finish(
          new DnsTransportError('timeout', `${formatAddress(server)} did not answer within ${timeoutMs} ms`, {
            server,
          }),
        ),
      timeoutMs,
    );
    socket.on('message', (answer, remote) => {
      if (answer.length < 12 || answer.readUInt16BE(0) !== id || (answer[2] ?? 0) < 0x80) return;
      if (remote.port !== server.port || !sameHost(remote.address, server.host)) return;
      if (!accept(answer)) return;
      finish(undefined, answer);
    });
    socket.on('error', (error) =>
      finish(
        new DnsTransportError('network', `cannot reach ${formatAddress(server)} over UDP: ${error.message}`, {
          server,
          cause: error,
        }),
      ),
    );
    socket.send(wire, server.port, server.host, (error) => {
      if (error)
        finish(
          new DnsTransportError(
            'network',
            `cannot send to ${formatAddress(server)} over UDP: ${error.message}`,
            {
              server,
              cause: error,
            },
          ),
        );
    });
  });
}

/** One length-prefixed message over a fresh TCP connection (RFC 1035 §4.2.2, RFC 7766). */
export function tcpExchange(
  server: ServerAddress,
  wire: Buffer,
  timeoutMs: number,
  accept: (answer: Buffer) => boolean = () => true,
): Promise<Buffer> {
  const id = wire.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (error: Error | undefined, answer?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(
      () =>
        finish(
          new DnsTransportError(
            'timeout',
            `${formatAddress(server)} did not answer over TCP within ${timeoutMs} ms`,
            { server },
          ),
        ),
      timeoutMs,
    );
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(wire.length);
      socket.write(Buffer.concat([length, wire]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // A server may send other messages first (it should not, but skip them if it does).
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const message = received.subarray(2, 2 + received.readUInt16BE(0));
        received = received.subarray(2 + message.length);
        if (message.length >= 12 && message.readUInt16BE(0) === id && accept(message)) {
          finish(undefined, Buffer.from(message));
          return;
        }
      }
    });
    socket.on('error', (error) =>
      finish(
        new DnsTransportError('network', `cannot reach ${formatAddress(server)} over TCP: ${error.message}`, {
          server,
          cause: error,
        }),
      ),
    );
    socket.on('close', () =>
      finish(
        new DnsTransportError(
          'network',
          `${formatAddress(server)} closed the TCP connection without an answer`,
          {
            server,
          },
        ),
      ),
    );
  });
}

function sameHost(a: string, b: string): boolean {
  const strip = (h: string): string => h.replace(/^::ffff:/i, '').toLowerCase();
  return strip(a) === strip(b);
}
