/**
 * A resolver for mailauth that asks the authoritative nameservers themselves (RD=0), the way
 * the doctor and the propagation probe do, instead of a recursive resolver's cache. Every
 * authoritative server of the name is asked; they must agree, or the lookup fails as a
 * temporary DNS error naming the disagreement (a receiver may ask either one).
 */
import type dnsPacket from 'dns-packet';
import { ConcurrencyLimiter } from '../adapters/dns/limiter.js';
import { NameserverFinder } from '../adapters/dns/resolve.js';
import {
  canonicalName,
  DNS_PORT,
  formatAddress,
  queryServer,
  Rcode,
  rcodeName,
} from '../adapters/dns/transport.js';
import type { Config } from '../config/schema.js';

/** mailauth's resolver: `(name, type) => records`, errors carrying a Node DNS error code. */
export type MailResolver = (name: string, type: string) => Promise<unknown[]>;

const SUPPORTED = new Set(['TXT', 'A', 'AAAA', 'MX', 'CNAME', 'PTR', 'NS']);
const MAX_CNAME_HOPS = 8;

function dnsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export interface AuthoritativeResolverOptions {
  finder: NameserverFinder;
  limiter?: ConcurrencyLimiter;
  timeoutMs?: number;
}

export function authoritativeResolver(options: AuthoritativeResolverOptions): MailResolver {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const askAll = async (name: string, type: string): Promise<unknown[]> => {
    const set = await options.finder.serversFor(name).catch((error: Error) => {
      throw dnsError('ETIMEOUT', `no authoritative nameservers for ${name}: ${error.message}`);
    });
    const answers = await Promise.all(
      set.servers.map(async (server) => {
        if (server.address === undefined)
          throw dnsError('ESERVFAIL', `${server.nameserver}: ${server.problem ?? 'no address'}`);
        const reply = await queryServer(server.address, name, type as dnsPacket.RecordType, {
          recursionDesired: false,
          timeoutMs,
          ...(options.limiter === undefined ? {} : { limiter: options.limiter }),
        }).catch((error: Error) => {
          throw dnsError('ETIMEOUT', `${formatAddress(server.address as never)}: ${error.message}`);
        });
        return { server: server.nameserver, reply };
      }),
    );
    const results = answers.map(({ server, reply }) => ({ server, result: readAnswer(name, type, reply) }));
    const first = results[0];
    if (!first) throw dnsError('ESERVFAIL', `no nameserver answered for ${name}`);
    const key = (r: (typeof results)[number]['result']) => JSON.stringify(r);
    const disagree = results.find((r) => key(r.result) !== key(first.result));
    if (disagree) {
      throw dnsError(
        'ESERVFAIL',
        `the authoritative nameservers disagree on ${type} ${name}: ${first.server} and ${disagree.server}`,
      );
    }
    return first.result.records;
  };
  return async (rawName, type) => {
    if (!SUPPORTED.has(type)) throw dnsError('ENOTIMP', `${type} lookups are not supported`);
    let name = canonicalName(rawName);
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const found = await askAll(name, type === 'CNAME' ? 'CNAME' : type);
      const cname =
        found.length === 1 && typeof found[0] === 'object' && found[0] !== null && 'cname' in found[0];
      if (!cname) return found;
      // A CNAME that leaves the servers' zone: follow it, as a recursive resolver would.
      name = canonicalName(String((found[0] as { cname: string }).cname));
    }
    throw dnsError('ESERVFAIL', `too many CNAMEs from ${rawName}`);
  };
}

type Answer = { kind: 'records' | 'cname'; records: unknown[] };

function readAnswer(name: string, type: string, reply: Awaited<ReturnType<typeof queryServer>>): Answer {
  if (reply.rcode === Rcode.NXDOMAIN) throw dnsError('ENOTFOUND', `${name} does not exist (NXDOMAIN)`);
  if (reply.rcode !== Rcode.NOERROR)
    throw dnsError('ESERVFAIL', `${name}: the server answered ${rcodeName(reply.rcode)}`);
  if (!reply.authoritative) throw dnsError('ESERVFAIL', `${name}: the answer is not authoritative`);
  const records = (reply.packet.answers ?? []) as Array<{ type: string; name: string; data?: unknown }>;
  const own = records.filter((rr) => canonicalName(rr.name) === name);
  const matching = own.filter((rr) => rr.type === type);
  if (matching.length === 0) {
    const cname = own.find((rr) => rr.type === 'CNAME');
    if (cname && type !== 'CNAME') return { kind: 'cname', records: [{ cname: String(cname.data) }] };
    throw dnsError('ENODATA', `${name} has no ${type} record`);
  }
  return { kind: 'records', records: matching.map((rr) => shape(type, rr.data)) };
}

/** The shapes Node's `dns.promises.resolve` gives, which mailauth expects. */
function shape(type: string, data: unknown): unknown {
  switch (type) {
    case 'TXT': {
      const parts = Array.isArray(data) ? data : [data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p)));
    }
    case 'MX': {
      const mx = data as { preference: number; exchange: string };
      return { priority: mx.preference, exchange: canonicalName(mx.exchange) };
    }
    default:
      return typeof data === 'string' ? canonicalName(data) : data;
  }
}

/** The mail judge's resolver from the config's `probe` settings, as the doctor's DNS is built. */
export function buildMailResolver(
  config: Pick<Config, 'probe'>,
  options: { defaultPort?: number } = {},
): MailResolver {
  const { probe } = config;
  const limiter = new ConcurrencyLimiter(probe.concurrency);
  const finder = new NameserverFinder({
    ...(probe.nameservers === undefined ? {} : { nameservers: probe.nameservers }),
    ...(probe.resolvers === undefined ? {} : { resolvers: probe.resolvers }),
    defaultPort: options.defaultPort ?? DNS_PORT,
    timeoutMs: probe.timeoutMs,
    limiter,
  });
  return authoritativeResolver({ finder, limiter, timeoutMs: probe.timeoutMs });
}
