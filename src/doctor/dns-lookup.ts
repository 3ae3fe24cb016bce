/**
 * The doctor's eyes on DNS: asks every authoritative nameserver of a name directly (RD=0)
 * for its TXT records and keeps what the propagation probe boils away — each record's
 * character-strings as served, its TTL, the CNAMEs on the way, the zone named by a negative
 * answer's SOA. It reuses the probe's transport (`queryServer`: UDP, TCP on truncation)
 * and nameserver discovery (`NameserverFinder`), so it honours `probe.nameservers`,
 * `probe.resolvers`, timeouts and the concurrency limit exactly as the engine does.
 */
import type dnsPacket from 'dns-packet';
import { ConcurrencyLimiter } from '../adapters/dns/limiter.js';
import { type AuthoritativeServer, NameserverFinder, type ServerSet } from '../adapters/dns/resolve.js';
import {
  canonicalName,
  DNS_PORT,
  DnsTransportError,
  formatAddress,
  type QueryAnswer,
  queryServer,
  Rcode,
  rcodeName,
} from '../adapters/dns/transport.js';
import type { Config } from '../config/schema.js';
import type { AnswerBase, CnameSeen, LookupAnswer, MxLookupAnswer, MxRecordSeen } from './observation.js';

/** What the doctor asks of DNS. */
export interface DoctorDns {
  /** Every authoritative nameserver's answer to `TXT? name`. */
  lookupTxt(name: string): Promise<LookupAnswer[]>;
  /** Every authoritative nameserver's answer to `MX? name` (a custom MAIL FROM domain). */
  lookupMx(name: string): Promise<MxLookupAnswer[]>;
  /** The zone `domain` lives in (its apex), if it can be found. */
  zoneOf(domain: string): Promise<string | undefined>;
}

export interface AuthoritativeLookupOptions {
  finder: NameserverFinder;
  limiter?: ConcurrencyLimiter;
  timeoutMs?: number;
  udpPayloadSize?: number;
}

/** Longest CNAME chain followed inside one answer. */
const MAX_CHAIN = 8;

/**
 * @example
 * ```ts
 * const dns = buildDoctorDns(loaded.config);
 * for (const answer of await dns.lookupTxt('sel._domainkey.example.com')) {
 *   console.log(answer.nameserver, answer.outcome, answer.txt.map((r) => [r.ttl, r.strings]));
 * }
 * ```
 */
export class AuthoritativeLookup implements DoctorDns {
  readonly #finder: NameserverFinder;
  readonly #limiter: ConcurrencyLimiter | undefined;
  readonly #timeoutMs: number;
  readonly #udpPayloadSize: number | undefined;

  constructor(options: AuthoritativeLookupOptions) {
    this.#finder = options.finder;
    this.#limiter = options.limiter;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#udpPayloadSize = options.udpPayloadSize;
  }

  async lookupTxt(name: string): Promise<LookupAnswer[]> {
    const answers = await this.#askAll(name, 'TXT');
    return answers.map(({ records, ...base }) => ({
      ...base,
      txt: records.map((rr) => ({ strings: txtStrings(rr.data), ttl: rr.ttl ?? 0 })),
    }));
  }

  async lookupMx(name: string): Promise<MxLookupAnswer[]> {
    const answers = await this.#askAll(name, 'MX');
    return answers.map(({ records, ...base }) => ({ ...base, mx: records.map(mxSeen) }));
  }

  async #askAll(name: string, type: AskedType): Promise<RawAnswer[]> {
    const canonical = canonicalName(name);
    let set: ServerSet;
    try {
      set = await this.#finder.serversFor(canonical);
    } catch (error) {
      return [discoveryFailure(canonical, (error as Error).message)];
    }
    if (set.servers.length === 0) return [discoveryFailure(canonical, 'no nameservers to ask')];
    return Promise.all(set.servers.map((server) => this.#ask(server, canonical, type)));
  }

  async zoneOf(domain: string): Promise<string | undefined> {
    const canonical = canonicalName(domain);
    if (!this.#finder.configured) return this.#finder.findZone(canonical).catch(() => undefined);
    // Configured servers: ask them for the SOA; a negative answer's SOA names the zone.
    const set = await this.#finder.serversFor(canonical).catch(() => undefined);
    for (const server of set?.servers ?? []) {
      if (server.address === undefined) continue;
      const reply = await this.#query(server, canonical, 'SOA').catch(() => undefined);
      if (reply === undefined || !reply.authoritative) continue;
      if (
        (reply.packet.answers ?? []).some((rr) => rr.type === 'SOA' && canonicalName(rr.name) === canonical)
      )
        return canonical;
      const soa = (reply.packet.authorities ?? []).find((rr) => rr.type === 'SOA');
      if (soa !== undefined) return canonicalName(soa.name);
    }
    return undefined;
  }

  #query(server: AuthoritativeServer, name: string, type: dnsPacket.RecordType): Promise<QueryAnswer> {
    if (server.address === undefined) return Promise.reject(new Error(server.problem ?? 'no address'));
    return queryServer(server.address, name, type, {
      recursionDesired: false,
      timeoutMs: this.#timeoutMs,
      ...(this.#limiter === undefined ? {} : { limiter: this.#limiter }),
      ...(this.#udpPayloadSize === undefined ? {} : { udpPayloadSize: this.#udpPayloadSize }),
    });
  }

  async #ask(server: AuthoritativeServer, name: string, type: AskedType): Promise<RawAnswer> {
    const nameserver = labelOf(server);
    const base: RawAnswer = { nameserver, name, outcome: 'failed', records: [], cnames: [] };
    if (server.address === undefined) {
      return {
        ...base,
        failure: { kind: 'unreachable', detail: server.problem ?? 'the nameserver has no address' },
      };
    }
    let reply: QueryAnswer;
    try {
      reply = await this.#query(server, name, type);
    } catch (error) {
      const timeout = error instanceof DnsTransportError && error.reason === 'timeout';
      return { ...base, failure: { kind: timeout ? 'timeout' : 'error', detail: (error as Error).message } };
    }
    if (reply.rcode === Rcode.SERVFAIL) {
      return {
        ...base,
        failure: { kind: 'servfail', detail: 'SERVFAIL: the server cannot answer for this zone now' },
      };
    }
    if (reply.rcode === Rcode.REFUSED) {
      return {
        ...base,
        failure: { kind: 'refused', detail: 'REFUSED: the server does not serve this zone' },
      };
    }
    if (reply.rcode !== Rcode.NOERROR && reply.rcode !== Rcode.NXDOMAIN) {
      return { ...base, failure: { kind: 'error', detail: `the server answered ${rcodeName(reply.rcode)}` } };
    }
    if (!reply.authoritative) {
      return {
        ...base,
        failure: {
          kind: 'lame',
          detail:
            'the answer is not authoritative (AA=0): the server does not serve the zone (lame delegation)',
        },
      };
    }
    const answers = (reply.packet.answers ?? []) as readonly PlainRecord[];
    const cnames: CnameSeen[] = [];
    let current = name;
    for (let i = 0; i < MAX_CHAIN; i++) {
      const rr = answers.find((a) => a.type === 'CNAME' && canonicalName(a.name) === current);
      if (rr === undefined) break;
      const target = canonicalName(String(rr.data));
      cnames.push({ owner: current, target, ttl: rr.ttl ?? 0 });
      if (target === name || cnames.some((c) => c.owner === target)) break;
      current = target;
    }
    const records = answers.filter((rr) => rr.type === type && canonicalName(rr.name) === current);
    const soa = (reply.packet.authorities ?? []).find((rr) => rr.type === 'SOA');
    const outcome =
      reply.rcode === Rcode.NXDOMAIN
        ? 'nxdomain'
        : records.length === 0 && cnames.length === 0
          ? 'nodata'
          : 'answer';
    return {
      nameserver,
      name,
      outcome,
      records,
      cnames,
      ...(soa === undefined ? {} : { zone: canonicalName(soa.name) }),
    };
  }
}

type AskedType = 'TXT' | 'MX';

/** One nameserver's answer with the asked type's records still raw. */
interface RawAnswer extends AnswerBase {
  records: PlainRecord[];
}

/** What the doctor reads of an answer record (dns-packet's union type, flattened). */
interface PlainRecord {
  type: string;
  name: string;
  ttl?: number;
  data?: unknown;
}

function mxSeen(rr: PlainRecord): MxRecordSeen {
  const data = (rr.data ?? {}) as { preference?: number; exchange?: string };
  return { preference: data.preference ?? 0, exchange: canonicalName(data.exchange ?? ''), ttl: rr.ttl ?? 0 };
}

/** A TXT record's character-strings as served. */
function txtStrings(data: unknown): string[] {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p ?? '')));
}

function labelOf(server: AuthoritativeServer): string {
  if (server.address === undefined) return server.nameserver;
  const address = formatAddress(server.address);
  return server.nameserver === address ? address : `${server.nameserver} (${address})`;
}

function discoveryFailure(name: string, detail: string): RawAnswer {
  return {
    nameserver: '(discovery)',
    name,
    outcome: 'failed',
    records: [],
    cnames: [],
    failure: { kind: 'discovery', detail },
  };
}

export interface DoctorDnsWiringOptions {
  limiter?: ConcurrencyLimiter;
  /** Port for servers given without one and for discovered nameservers (tests). Default 53. */
  defaultPort?: number;
}

/**
 * The doctor's DNS lookups from the config's `probe` settings (nameservers, resolvers,
 * timeoutMs, concurrency), as `buildProbe` wires the propagation probe.
 */
export function buildDoctorDns(
  config: Pick<Config, 'probe'>,
  options: DoctorDnsWiringOptions = {},
): DoctorDns {
  const { probe } = config;
  const limiter = options.limiter ?? new ConcurrencyLimiter(probe.concurrency);
  const finder = new NameserverFinder({
    ...(probe.nameservers === undefined ? {} : { nameservers: probe.nameservers }),
    ...(probe.resolvers === undefined ? {} : { resolvers: probe.resolvers }),
    defaultPort: options.defaultPort ?? DNS_PORT,
    timeoutMs: probe.timeoutMs,
    limiter,
  });
  return new AuthoritativeLookup({ finder, limiter, timeoutMs: probe.timeoutMs });
}
