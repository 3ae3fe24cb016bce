/**
 * Finding who is authoritative for a name: the zone it lives in (an SOA walk up from the
 * name through recursive resolvers), the zone's NS set, and each nameserver's addresses
 * (A and AAAA). Or, when `nameservers` are configured (split horizon, private zones,
 * tests), exactly those servers for every name.
 *
 *   name ──SOA?──▶ resolver ──▶ zone ──NS?──▶ ns names ──A/AAAA?──▶ addresses
 *        (walk up a label at a time until an SOA names the zone)
 *
 * Discovery is cached per zone (and zone lookups per parent name) for a short while, and
 * concurrent callers share one lookup in flight, so probing a thousand selectors of one
 * domain costs one discovery.
 */
import { getServers } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type dnsPacket from 'dns-packet';
import { ServiceError } from '../../errors.js';
import type { NameserverOutcome } from '../../ports.js';
import type { ConcurrencyLimiter } from './limiter.js';
import {
  canonicalName,
  DNS_PORT,
  DnsTransportError,
  formatAddress,
  type HostPort,
  isInZone,
  isIpAddress,
  parentName,
  parseHostPort,
  type QueryAnswer,
  queryServer,
  Rcode,
  rcodeName,
  type ServerAddress,
} from './transport.js';

/** One authoritative server address to ask, or a nameserver that has no usable address. */
export interface AuthoritativeServer {
  /** NS host name, or the configured text when configured. */
  nameserver: string;
  address: ServerAddress | undefined;
  /** Why `address` is missing. */
  problem?: string;
}

export interface ServerSet {
  /** The zone the servers are authoritative for; undefined for configured nameservers. */
  zone: string | undefined;
  servers: AuthoritativeServer[];
  source: 'configured' | 'discovered';
}

/** Discovery failed: the resolvers could not say who is authoritative. */
export class DiscoveryError extends ServiceError {
  /** The probe outcome this failure amounts to. */
  readonly outcome: NameserverOutcome;
  readonly resolvers: string;
  constructor(
    outcome: NameserverOutcome,
    message: string,
    options: { name: string; resolvers: string; cause?: unknown },
  ) {
    super('DNS_DISCOVERY_FAILED', message, {
      context: { service: 'dns', name: options.name, resolvers: options.resolvers },
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      retryable: outcome !== 'error',
    });
    this.outcome = outcome;
    this.resolvers = options.resolvers;
  }
}

export interface NameserverFinderOptions {
  /** Recursive resolvers, `host[:port]`; default the system's (`dns.getServers()`). */
  resolvers?: readonly string[];
  /** Used instead of discovery, for every name: `host[:port]`, name or address. */
  nameservers?: readonly string[];
  /** Port for servers given without one and for discovered nameserver addresses. Default 53. */
  defaultPort?: number;
  /** Per query attempt. Default 2000. */
  timeoutMs?: number;
  limiter?: ConcurrencyLimiter;
  /** EDNS UDP size for discovery queries (0: no EDNS). Default 1232. */
  udpPayloadSize?: number;
  /** How long a zone's discovered servers are reused. Default 60 s. */
  cacheTtlMs?: number;
  /**
   * Address families of nameservers to ask. Default `'auto'`: A always, AAAA only when
   * this host has a global IPv6 address (a Lambda outside a dual-stack VPC has none, and
   * every IPv6 nameserver would otherwise count as unreachable forever).
   */
  addressFamilies?: readonly (4 | 6)[] | 'auto';
  /** Monotonic-enough clock for cache expiry (tests). Default `Date.now`. */
  now?: () => number;
}

interface CacheEntry<T> {
  value: Promise<T>;
  expires: number;
}

const MAX_WALK = 128;
const CACHE_SWEEP_SIZE = 4_096;

/**
 * @example
 * ```ts
 * const finder = new NameserverFinder({ resolvers: ['1.1.1.1'] });
 * const { zone, servers } = await finder.serversFor('sel1._domainkey.example.com');
 * // zone: 'example.com', servers: [{ nameserver: 'ns1.example.net', address: { host: '192.0.2.1', port: 53 } }, ...]
 * ```
 */
export class NameserverFinder {
  readonly #resolverSpecs: readonly HostPort[] | undefined;
  readonly #configured: readonly string[] | undefined;
  readonly #defaultPort: number;
  readonly #timeoutMs: number;
  readonly #limiter: ConcurrencyLimiter | undefined;
  readonly #udpPayloadSize: number | undefined;
  readonly #ttlMs: number;
  readonly #families: readonly (4 | 6)[];
  readonly #now: () => number;
  readonly #zones = new Map<string, CacheEntry<string>>();
  readonly #servers = new Map<string, CacheEntry<ServerSet>>();
  readonly #hosts = new Map<string, CacheEntry<string[]>>();
  #resolvers: Promise<ServerAddress[]> | undefined;
  #configuredSet: CacheEntry<ServerSet> | undefined;

  constructor(options: NameserverFinderOptions = {}) {
    this.#defaultPort = options.defaultPort ?? DNS_PORT;
    this.#resolverSpecs = options.resolvers?.map((r) => parseHostPort(r, this.#defaultPort));
    this.#configured =
      options.nameservers && options.nameservers.length > 0 ? options.nameservers : undefined;
    // Parse now, so a malformed entry fails at construction rather than on the first probe.
    for (const spec of this.#configured ?? []) parseHostPort(spec, this.#defaultPort);
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#limiter = options.limiter;
    this.#udpPayloadSize = options.udpPayloadSize;
    this.#ttlMs = options.cacheTtlMs ?? 60_000;
    const families = options.addressFamilies ?? 'auto';
    this.#families = families === 'auto' ? (hasGlobalIpv6() ? [4, 6] : [4]) : families;
    this.#now = options.now ?? Date.now;
  }

  /** True when nameservers are configured rather than discovered. */
  get configured(): boolean {
    return this.#configured !== undefined;
  }

  /**
   * The servers to ask about `name`. `fresh` skips the zone cache (after a referral showed
   * that the cached zone is not the one the name lives in).
   * @throws {@link DiscoveryError}
   */
  async serversFor(name: string, options: { fresh?: boolean } = {}): Promise<ServerSet> {
    if (this.#configured !== undefined) return this.#configuredServers();
    const zone = await this.findZone(name, options);
    return this.serversForZone(zone);
  }

  /**
   * The zone `name` belongs to, by walking up from it with SOA queries.
   * @throws {@link DiscoveryError}
   */
  findZone(name: string, options: { fresh?: boolean } = {}): Promise<string> {
    const canonical = canonicalName(name);
    const now = this.#now();
    // A name found to be a zone apex is remembered under its own name; every other name
    // under its parent's, since names that share a parent share a zone (a probe that meets
    // a referral asks again with `fresh`).
    const apex = this.#zones.get(canonical);
    if (apex !== undefined && apex.expires > now) return apex.value;
    const key = parentName(canonical) ?? canonical;
    const entry = this.#zones.get(key);
    if (!options.fresh && entry !== undefined && entry.expires > now) return entry.value;
    const value = this.#walk(canonical);
    // Share the walk with concurrent callers; a fresh walk replaces nothing until it is done.
    if (!options.fresh) this.#remember(this.#zones, key, value);
    value.then(
      (zone) => {
        if (zone === canonical && key !== canonical) {
          if (this.#zones.get(key)?.value === value) this.#zones.delete(key);
          this.#remember(this.#zones, canonical, value);
        } else if (options.fresh) {
          this.#remember(this.#zones, key, value);
        }
      },
      () => undefined,
    );
    return value;
  }

  /**
   * The zone's nameservers and their addresses (one entry per distinct address).
   * @throws {@link DiscoveryError}
   */
  serversForZone(zone: string): Promise<ServerSet> {
    return this.#cached(this.#servers, canonicalName(zone), () => this.#discoverServers(canonicalName(zone)));
  }

  /** Addresses of a host name (A and AAAA through the resolvers, then the system's lookup). */
  resolveHost(host: string): Promise<string[]> {
    if (isIpAddress(host)) return Promise.resolve([host]);
    return this.#cached(this.#hosts, canonicalName(host), () => this.#resolveHostUncached(host));
  }

  /** The resolvers in use, as `host[:port]` text for messages. */
  async describeResolvers(): Promise<string> {
    try {
      return (await this.#resolverAddresses()).map(formatAddress).join(', ') || 'none';
    } catch {
      return 'none';
    }
  }

  /**
   * Asks the resolvers (RD=1), in order, until one gives a NOERROR or NXDOMAIN answer.
   * @throws {@link DiscoveryError} naming each resolver's failure.
   */
  async askResolvers(name: string, type: dnsPacket.RecordType): Promise<QueryAnswer> {
    const resolvers = await this.#resolverAddresses();
    const failures: Array<{ outcome: NameserverOutcome; text: string; cause: unknown }> = [];
    for (const resolver of resolvers) {
      try {
        const answer = await queryServer(resolver, name, type, this.#queryOptions(true));
        if (answer.rcode === Rcode.NOERROR || answer.rcode === Rcode.NXDOMAIN) return answer;
        failures.push({
          outcome:
            answer.rcode === Rcode.SERVFAIL
              ? 'servfail'
              : answer.rcode === Rcode.REFUSED
                ? 'refused'
                : 'error',
          text: `${formatAddress(resolver)} answered ${rcodeName(answer.rcode)}`,
          cause: undefined,
        });
      } catch (error) {
        const timeout = error instanceof DnsTransportError && error.reason === 'timeout';
        failures.push({
          outcome: timeout ? 'timeout' : 'error',
          text: timeout ? `${formatAddress(resolver)} did not answer` : `${(error as Error).message}`,
          cause: error,
        });
      }
    }
    const outcomes = new Set(failures.map((f) => f.outcome));
    const outcome = outcomes.size === 1 ? (failures[0]?.outcome ?? 'error') : 'error';
    throw new DiscoveryError(
      outcome,
      `cannot find the nameservers of ${name}: ${type} query failed on every resolver (${failures.map((f) => f.text).join('; ') || 'no resolvers'})`,
      { name, resolvers: resolvers.map(formatAddress).join(', '), cause: failures.at(-1)?.cause },
    );
  }

  #queryOptions(recursionDesired: boolean) {
    return {
      recursionDesired,
      timeoutMs: this.#timeoutMs,
      ...(this.#limiter === undefined ? {} : { limiter: this.#limiter }),
      ...(this.#udpPayloadSize === undefined ? {} : { udpPayloadSize: this.#udpPayloadSize }),
    };
  }

  #resolverAddresses(): Promise<ServerAddress[]> {
    if (this.#resolvers !== undefined) return this.#resolvers;
    const resolvers = (async () => {
      const specs = this.#resolverSpecs ?? getServers().map((s) => parseHostPort(s, DNS_PORT));
      const addresses: ServerAddress[] = [];
      for (const spec of specs) {
        // A resolver given by name can only be found through the system.
        const hosts = isIpAddress(spec.host) ? [spec.host] : await systemLookup(spec.host);
        for (const host of hosts) addresses.push({ host, port: spec.port });
      }
      return addresses;
    })();
    this.#resolvers = resolvers;
    // A resolver name that cannot be looked up now may resolve on the next probe.
    resolvers.catch(() => {
      if (this.#resolvers === resolvers) this.#resolvers = undefined;
    });
    return resolvers;
  }

  async #walk(name: string): Promise<string> {
    let candidate = name;
    for (let step = 0; step < MAX_WALK; step++) {
      const answer = await this.askResolvers(candidate || '.', 'SOA');
      const answers = answer.packet.answers ?? [];
      if (answers.some((rr) => rr.type === 'SOA' && canonicalName(rr.name) === candidate)) return candidate;
      // An alias is never a zone apex, and the SOA that comes with it is the target's.
      const aliased = answers.some((rr) => rr.type === 'CNAME' && canonicalName(rr.name) === candidate);
      if (!aliased) {
        // The negative answer's SOA names the enclosing zone (RFC 2308 §3): a shortcut.
        const soa = (answer.packet.authorities ?? []).find((rr) => rr.type === 'SOA');
        if (soa !== undefined && isInZone(candidate, soa.name) && canonicalName(soa.name) !== candidate) {
          return canonicalName(soa.name);
        }
      }
      const parent = parentName(candidate);
      if (parent === undefined) break;
      candidate = parent;
    }
    throw new DiscoveryError(
      'error',
      `no zone found above ${name}: no resolver returned an SOA on the way up`,
      {
        name,
        resolvers: await this.describeResolvers(),
      },
    );
  }

  async #discoverServers(zone: string): Promise<ServerSet> {
    const answer = await this.askResolvers(zone || '.', 'NS');
    const names = [
      ...new Set(
        (answer.packet.answers ?? [])
          .flatMap((rr) => (rr.type === 'NS' && canonicalName(rr.name) === zone ? [rr.data] : []))
          .map((target) => canonicalName(target)),
      ),
    ].sort();
    if (names.length === 0) {
      throw new DiscoveryError(
        'error',
        `zone ${zone || '.'} has no NS records (${rcodeName(answer.rcode)})`,
        {
          name: zone,
          resolvers: await this.describeResolvers(),
        },
      );
    }
    const servers: AuthoritativeServer[] = [];
    const seen = new Set<string>();
    for (const nameserver of names) {
      let addresses: string[];
      try {
        addresses = await this.resolveHost(nameserver);
      } catch (error) {
        servers.push({ nameserver, address: undefined, problem: (error as Error).message });
        continue;
      }
      if (addresses.length === 0) {
        servers.push({ nameserver, address: undefined, problem: `nameserver ${nameserver} has no address` });
        continue;
      }
      for (const host of addresses) {
        const address = { host, port: this.#defaultPort };
        // Several NS names on one address are one server: ask it once.
        if (seen.has(formatAddress(address))) continue;
        seen.add(formatAddress(address));
        servers.push({ nameserver, address });
      }
    }
    return { zone, servers, source: 'discovered' };
  }

  async #resolveHostUncached(host: string): Promise<string[]> {
    const types: Array<'A' | 'AAAA'> = [];
    if (this.#families.includes(4)) types.push('A');
    if (this.#families.includes(6)) types.push('AAAA');
    const results = await Promise.allSettled(types.map((type) => this.askResolvers(host, type)));
    const addresses: string[] = [];
    for (const result of results) {
      if (result.status !== 'fulfilled') continue;
      for (const rr of result.value.packet.answers ?? []) {
        if ((rr.type === 'A' || rr.type === 'AAAA') && typeof rr.data === 'string') addresses.push(rr.data);
      }
    }
    if (addresses.length > 0) return [...new Set(addresses)];
    // Names the resolvers do not know may still be in /etc/hosts (e.g. `localhost`).
    const system = await systemLookup(host).catch(() => []);
    return system.filter((a) => this.#families.includes(a.includes(':') ? 6 : 4));
  }

  #configuredServers(): Promise<ServerSet> {
    const now = this.#now();
    if (this.#configuredSet !== undefined && this.#configuredSet.expires > now)
      return this.#configuredSet.value;
    const value = (async (): Promise<ServerSet> => {
      const servers: AuthoritativeServer[] = [];
      for (const text of this.#configured ?? []) {
        const spec = parseHostPort(text, this.#defaultPort);
        if (isIpAddress(spec.host)) {
          servers.push({ nameserver: text, address: { host: spec.host, port: spec.port } });
          continue;
        }
        const hosts = await this.resolveHost(spec.host).catch(() => []);
        if (hosts.length === 0) {
          servers.push({ nameserver: text, address: undefined, problem: `${spec.host} has no address` });
        }
        for (const host of hosts) servers.push({ nameserver: text, address: { host, port: spec.port } });
      }
      return { zone: undefined, servers, source: 'configured' };
    })();
    this.#configuredSet = { value, expires: now + this.#ttlMs };
    value.catch(() => {
      this.#configuredSet = undefined;
    });
    return value;
  }

  #cached<T>(cache: Map<string, CacheEntry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const entry = cache.get(key);
    if (entry !== undefined && entry.expires > this.#now()) return entry.value;
    const value = load();
    this.#remember(cache, key, value);
    return value;
  }

  #remember<T>(cache: Map<string, CacheEntry<T>>, key: string, value: Promise<T>): void {
    const now = this.#now();
    // A long-lived probe over a large fleet: drop expired entries before the map grows large.
    if (cache.size >= CACHE_SWEEP_SIZE) {
      for (const [k, e] of cache) if (e.expires <= now) cache.delete(k);
    }
    const entry = { value, expires: now + this.#ttlMs };
    cache.set(key, entry);
    // Failures are not cached: the next probe asks again.
    value.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
  }
}

/** True when some interface has a global (not loopback, not link-local) IPv6 address. */
export function hasGlobalIpv6(): boolean {
  return Object.values(networkInterfaces()).some((addresses) =>
    (addresses ?? []).some(
      (a) =>
        a.family === 'IPv6' && !a.internal && !/^fe[89ab]/i.test(a.address) && !/^f[cd]/i.test(a.address),
    ),
  );
}

async function systemLookup(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}
