/**
 * Propagation probe (phase 5 and phase 8): asks every authoritative nameserver of a DKIM
 * record's zone directly (RD=0) what it serves at the record name, and judges each answer
 * against the key that should be there.
 *
 *   probe(name, key)
 *     │ servers = configured nameservers, or NS of the zone found by an SOA walk (cached)
 *     ├─▶ server 1 ──TXT? (UDP, TCP on TC)──▶ match / missing / other-key / revoked / invalid
 *     ├─▶ server 2 ──…                        / servfail / refused / timeout / error
 *     │     └─ CNAME out of the zone? probe the target's zone the same way (delegated selectors)
 *     └─▶ alsoRecursive resolvers (RD=1), listed as extra answers
 *
 * The probe only reports; counting consecutive successful checks is the engine's job.
 */

import { matchRecord, parseDkimRecord } from '../../domain/record.js';
import type { DnsProbe, NameserverAnswer, NameserverOutcome, ProbeResult } from '../../ports.js';
import { ConcurrencyLimiter } from './limiter.js';
import { type AuthoritativeServer, DiscoveryError, NameserverFinder, type ServerSet } from './resolve.js';
import {
  canonicalName,
  DNS_PORT,
  DnsTransportError,
  formatAddress,
  isInZone,
  parseHostPort,
  type QueryAnswer,
  queryServer,
  Rcode,
  rcodeName,
  type ServerAddress,
} from './transport.js';

export interface AuthoritativeProbeOptions {
  /**
   * Ask these servers (`host[:port]`, name or address) instead of the zone's NS set: split
   * horizon, private zones, tests. Config `probe.nameservers`.
   */
  nameservers?: readonly string[];
  /** Recursive resolvers used to find NS sets; default the system's. Config `probe.resolvers`. */
  resolvers?: readonly string[];
  /** Resolvers asked too (RD=1), listed as extra answers. Config `probe.alsoRecursive`. */
  alsoRecursive?: readonly string[];
  /** Per query attempt; one retry on UDP silence. Default 2000. Config `probe.timeoutMs`. */
  timeoutMs?: number;
  /** Exchanges in flight at once, when no `limiter` is given. Default 64. Config `probe.concurrency`. */
  concurrency?: number;
  /** Share one limiter between several probes (and anything else that sends DNS). */
  limiter?: ConcurrencyLimiter;
  /**
   * Port for servers given without one and for discovered NS addresses. Default 53; tests
   * point discovery at an unprivileged port with it.
   */
  defaultPort?: number;
  /** EDNS UDP payload size advertised (0: no EDNS, so anything over 512 bytes goes to TCP). Default 1232. */
  udpPayloadSize?: number;
  /** How long a zone's discovered nameservers are reused. Default 60 s. */
  discoveryTtlMs?: number;
  /**
   * Address families of nameservers to ask. Default `'auto'`: IPv4 always, IPv6 when this
   * host has a global IPv6 address.
   */
  addressFamilies?: readonly (4 | 6)[] | 'auto';
  /** Clock for the discovery cache (tests). */
  now?: () => number;
}

/** How many CNAMEs (in and across zones) a probe follows before giving up. */
const MAX_CNAME_DEPTH = 8;

/** Prefix of the `nameserver` of answers from `alsoRecursive` resolvers. */
export const RECURSIVE_PREFIX = 'recursive:';

/** Discovery failures are reported as one answer from this pseudo nameserver. */
export const DISCOVERY_NAMESERVER = '(discovery)';

/**
 * A {@link DnsProbe} that asks authoritative servers directly.
 *
 * @example
 * ```ts
 * const probe = new AuthoritativeProbe({ timeoutMs: 2000, concurrency: 64 });
 * const result = await probe.probe('sel1._domainkey.example.com', publicKey);
 * if (isPropagated(result)) console.log('every nameserver serves the key');
 * else for (const a of result.answers) console.log(a.nameserver, a.address, a.outcome, a.detail);
 * ```
 */
export class AuthoritativeProbe implements DnsProbe {
  readonly #finder: NameserverFinder;
  readonly #limiter: ConcurrencyLimiter;
  readonly #timeoutMs: number;
  readonly #udpPayloadSize: number | undefined;
  readonly #recursive: readonly { text: string; address: Promise<ServerAddress[]> }[];

  constructor(options: AuthoritativeProbeOptions = {}) {
    this.#limiter = options.limiter ?? new ConcurrencyLimiter(options.concurrency ?? 64);
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#udpPayloadSize = options.udpPayloadSize;
    const defaultPort = options.defaultPort ?? DNS_PORT;
    this.#finder = new NameserverFinder({
      ...(options.resolvers === undefined ? {} : { resolvers: options.resolvers }),
      ...(options.nameservers === undefined ? {} : { nameservers: options.nameservers }),
      defaultPort,
      timeoutMs: this.#timeoutMs,
      limiter: this.#limiter,
      ...(options.udpPayloadSize === undefined ? {} : { udpPayloadSize: options.udpPayloadSize }),
      ...(options.discoveryTtlMs === undefined ? {} : { cacheTtlMs: options.discoveryTtlMs }),
      ...(options.addressFamilies === undefined ? {} : { addressFamilies: options.addressFamilies }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.#recursive = (options.alsoRecursive ?? []).map((text) => {
      const spec = parseHostPort(text, defaultPort);
      const address = this.#finder
        .resolveHost(spec.host)
        .then((hosts) => hosts.map((host) => ({ host, port: spec.port })));
      address.catch(() => undefined);
      return { text, address };
    });
  }

  /** The limiter every exchange of this probe goes through. */
  get limiter(): ConcurrencyLimiter {
    return this.#limiter;
  }

  async probe(name: string, publicKey: string | undefined): Promise<ProbeResult> {
    const canonical = canonicalName(name);
    const [authoritative, recursive] = await Promise.all([
      this.#probeName(canonical, publicKey, [], 0, false),
      Promise.all(this.#recursive.map((r) => this.#askRecursive(r, canonical, publicKey))),
    ]);
    return { name: canonical, answers: [...authoritative, ...recursive.flat()] };
  }

  async #probeName(
    name: string,
    publicKey: string | undefined,
    chain: readonly string[],
    depth: number,
    retried: boolean,
  ): Promise<NameserverAnswer[]> {
    let set: ServerSet;
    try {
      set = await this.#finder.serversFor(name);
    } catch (error) {
      return [await this.#discoveryFailure(error, chain)];
    }
    if (set.servers.length === 0) {
      return [
        {
          nameserver: DISCOVERY_NAMESERVER,
          address: '',
          outcome: 'error',
          served: [],
          detail: 'no nameservers to ask',
        },
      ];
    }
    const asked = await Promise.all(
      set.servers.map((server) => this.#askAuthoritative(server, name, set, chain)),
    );

    // A referral means the name sits in a zone below the one cached: find it and start over.
    if (asked.some((a) => a.referral) && set.source === 'discovered' && !retried) {
      const zone = await this.#finder.findZone(name, { fresh: true }).catch(() => undefined);
      if (zone !== undefined && zone !== set.zone)
        return this.#probeName(name, publicKey, chain, depth, true);
    }

    // CNAMEs leaving the zone (delegated selectors): ask the target zone's servers.
    const targets = new Map<string, Promise<NameserverAnswer[]>>();
    for (const a of asked) {
      if (a.follow === undefined || targets.has(a.follow.target)) continue;
      const { target, cnames } = a.follow;
      targets.set(
        target,
        depth >= MAX_CNAME_DEPTH
          ? Promise.resolve([])
          : this.#probeName(target, publicKey, [...chain, ...cnames], depth + 1, false),
      );
    }
    const followed = new Map<string, NameserverAnswer[]>();
    for (const [target, answers] of targets) followed.set(target, await answers);

    const answers: NameserverAnswer[] = asked.map((a) => {
      if (a.follow === undefined) return classified(a.base, publicKey);
      const behind = followed.get(a.follow.target) ?? [];
      return {
        ...a.base.answer,
        outcome: behind.length === 0 ? 'error' : aggregate(behind.map((b) => b.outcome)),
        served: [...new Set(behind.flatMap((b) => b.served))],
        cnames: [...chain, ...a.follow.cnames],
        detail:
          behind.length === 0
            ? `CNAME chain to ${a.follow.target} is longer than ${MAX_CNAME_DEPTH}`
            : `CNAME to ${a.follow.target}, served by ${behind.length} server(s) of its zone (listed below)`,
      };
    });
    return [...answers, ...[...followed.values()].flat()];
  }

  async #askAuthoritative(
    server: AuthoritativeServer,
    name: string,
    set: ServerSet,
    chain: readonly string[],
  ): Promise<Asked> {
    const answer: NameserverAnswer = {
      nameserver: server.nameserver,
      address: server.address === undefined ? '' : formatAddress(server.address),
      outcome: 'error',
      served: [],
      ...(chain.length > 0 ? { cnames: [...chain] } : {}),
    };
    if (server.address === undefined) {
      return { base: { answer: { ...answer, detail: server.problem ?? 'no address' } } };
    }
    let reply: QueryAnswer;
    try {
      reply = await queryServer(server.address, name, 'TXT', this.#queryOptions(false));
    } catch (error) {
      return { base: { answer: transportFailure(answer, error) } };
    }
    const failed = rcodeFailure(answer, reply);
    if (failed !== undefined) return { base: { answer: failed } };

    const answers = reply.packet.answers ?? [];
    if (!reply.authoritative) {
      const referral = (reply.packet.authorities ?? []).find((rr) => rr.type === 'NS');
      if (answers.length === 0 && referral !== undefined) {
        return {
          referral: true,
          base: {
            answer: {
              ...answer,
              detail: `referral to ${canonicalName(referral.name)}: this server is not authoritative for the name`,
            },
          },
        };
      }
      return {
        base: {
          answer: {
            ...answer,
            detail: `answer is not authoritative (AA=0): ${server.nameserver} may be a lame nameserver`,
          },
        },
      };
    }

    const walked = walkChain(answers, name);
    const cnames = [...chain, ...walked.cnames];
    const withChain = { ...answer, ...(cnames.length > 0 ? { cnames } : {}) };
    const end = walked.end;
    if (end !== name) {
      // The server's data is trusted only inside the zone it is authoritative for; a chain
      // that leaves it is followed at the target's own servers.
      const leaves =
        set.zone !== undefined
          ? firstOutside(name, walked.cnames, set.zone)
          : walked.txt.length === 0 && !coversName(reply, end)
            ? { index: walked.cnames.length - 1 }
            : undefined;
      if (leaves !== undefined) {
        const kept = walked.cnames.slice(0, leaves.index + 1);
        const target = kept.at(-1) as string;
        return {
          base: {
            answer: { ...answer, ...(chain.length + kept.length > 0 ? { cnames: [...chain, ...kept] } : {}) },
          },
          follow: { target, cnames: kept },
        };
      }
    }
    return {
      base: {
        answer: withChain,
        served: walked.txt,
        negative:
          reply.rcode === Rcode.NXDOMAIN ? 'NXDOMAIN' : walked.txt.length === 0 ? 'NODATA' : undefined,
      },
    };
  }

  async #askRecursive(
    resolver: { text: string; address: Promise<ServerAddress[]> },
    name: string,
    publicKey: string | undefined,
  ): Promise<NameserverAnswer[]> {
    const nameserver = `${RECURSIVE_PREFIX}${resolver.text}`;
    let addresses: ServerAddress[];
    try {
      addresses = await resolver.address;
    } catch (error) {
      return [{ nameserver, address: '', outcome: 'error', served: [], detail: (error as Error).message }];
    }
    if (addresses.length === 0) {
      return [
        { nameserver, address: '', outcome: 'error', served: [], detail: `${resolver.text} has no address` },
      ];
    }
    return Promise.all(
      addresses.map(async (address): Promise<NameserverAnswer> => {
        const answer: NameserverAnswer = {
          nameserver,
          address: formatAddress(address),
          outcome: 'error',
          served: [],
        };
        let reply: QueryAnswer;
        try {
          reply = await queryServer(address, name, 'TXT', this.#queryOptions(true));
        } catch (error) {
          return transportFailure(answer, error);
        }
        const failed = rcodeFailure(answer, reply);
        if (failed !== undefined) return failed;
        const walked = walkChain(reply.packet.answers ?? [], name);
        return classified(
          {
            answer: { ...answer, ...(walked.cnames.length > 0 ? { cnames: walked.cnames } : {}) },
            served: walked.txt,
            negative:
              reply.rcode === Rcode.NXDOMAIN ? 'NXDOMAIN' : walked.txt.length === 0 ? 'NODATA' : undefined,
          },
          publicKey,
        );
      }),
    );
  }

  #queryOptions(recursionDesired: boolean) {
    return {
      recursionDesired,
      timeoutMs: this.#timeoutMs,
      limiter: this.#limiter,
      ...(this.#udpPayloadSize === undefined ? {} : { udpPayloadSize: this.#udpPayloadSize }),
    };
  }

  async #discoveryFailure(error: unknown, chain: readonly string[]): Promise<NameserverAnswer> {
    const outcome: NameserverOutcome = error instanceof DiscoveryError ? error.outcome : 'error';
    const address =
      error instanceof DiscoveryError ? error.resolvers : await this.#finder.describeResolvers();
    return {
      nameserver: DISCOVERY_NAMESERVER,
      address,
      outcome,
      served: [],
      ...(chain.length > 0 ? { cnames: [...chain] } : {}),
      detail: (error as Error).message,
    };
  }
}

export { isGone, isPropagated } from '../../domain/propagation.js';

/** What the TXT records served at a name amount to, relative to the key that should be there. */
export interface TxtJudgement {
  outcome: Extract<NameserverOutcome, 'match' | 'missing' | 'other-key' | 'revoked' | 'invalid'>;
  detail?: string;
}

/**
 * Judges the TXT records served at a DKIM name (each joined from its character-strings).
 * TXT records that are not DKIM key records (no `v=DKIM1`, no `p=`) are ignored, as
 * verifiers ignore them; two DKIM records at one name are `invalid`, since a verifier may
 * pick either (RFC 6376 §3.6.2.2). With no expected key, a served key is `other-key`.
 *
 * @example
 * ```ts
 * judgeTxt(['v=DKIM1; k=rsa; p='], key); // { outcome: 'revoked', ... }
 * judgeTxt([], undefined);                // { outcome: 'missing', ... }
 * ```
 */
export function judgeTxt(served: readonly string[], publicKey: string | undefined): TxtJudgement {
  const dkim = served.filter(looksLikeDkimRecord);
  const others = served.length - dkim.length;
  const otherNote =
    others > 0 ? ` (${others} other TXT record${others === 1 ? '' : 's'} at the name ignored)` : '';
  if (dkim.length === 0) {
    return {
      outcome: 'missing',
      detail: served.length === 0 ? 'no TXT record' : `no DKIM record${otherNote}`,
    };
  }
  if (dkim.length > 1) {
    if (publicKey !== undefined && dkim.every((value) => matchRecord(value, publicKey) === 'match')) {
      return { outcome: 'match', detail: `the key is served ${dkim.length} times${otherNote}` };
    }
    return {
      outcome: 'invalid',
      detail: `${dkim.length} DKIM records at one name: verifiers may pick any (RFC 6376 §3.6.2.2)${otherNote}`,
    };
  }
  const value = dkim[0] as string;
  const parsed = parseDkimRecord(value);
  if (publicKey !== undefined) {
    const outcome = matchRecord(value, publicKey);
    const detail =
      outcome === 'match'
        ? `the expected key${otherNote}`
        : outcome === 'other-key'
          ? `serves another key${otherNote}`
          : outcome === 'revoked'
            ? `revoked (empty p=)${otherNote}`
            : `${parsed.ok ? 'not a usable record' : parsed.message}${otherNote}`;
    return { outcome, detail };
  }
  if (!parsed.ok) {
    return parsed.record?.revoked
      ? { outcome: 'revoked', detail: `revoked (empty p=)${otherNote}` }
      : { outcome: 'invalid', detail: `${parsed.message}${otherNote}` };
  }
  if (parsed.record.revoked) return { outcome: 'revoked', detail: `revoked (empty p=)${otherNote}` };
  return { outcome: 'other-key', detail: `a key is served where none is expected${otherNote}` };
}

/** A TXT value that claims to be a DKIM key record: `v=DKIM1` first, or a `p=` tag. */
export function looksLikeDkimRecord(value: string): boolean {
  return /^\s*v\s*=\s*DKIM1\s*(;|$)/i.test(value) || /(^|;)\s*p\s*=/.test(value);
}

// ---- internals ----

interface Base {
  answer: NameserverAnswer;
  /** TXT values served at the end of the chain; undefined when the answer already failed. */
  served?: string[];
  negative?: 'NXDOMAIN' | 'NODATA' | undefined;
}

interface Asked {
  base: Base;
  referral?: boolean;
  follow?: { target: string; cnames: string[] };
}

function classified(base: Base, publicKey: string | undefined): NameserverAnswer {
  if (base.served === undefined) return base.answer;
  const judged = judgeTxt(base.served, publicKey);
  const detail =
    judged.outcome === 'missing' && base.negative === 'NXDOMAIN'
      ? 'NXDOMAIN: the name does not exist'
      : judged.outcome === 'missing' && base.negative === 'NODATA' && base.served.length === 0
        ? 'no TXT record at the name (NODATA)'
        : judged.detail;
  return {
    ...base.answer,
    outcome: judged.outcome,
    served: base.served,
    ...(detail === undefined ? {} : { detail }),
  };
}

/** Follows the CNAMEs in an answer from `name`; returns the chain and the TXT values at its end. */
function walkChain(
  answers: readonly { type: string; name: string; data?: unknown }[],
  name: string,
): { cnames: string[]; end: string; txt: string[] } {
  const cnames: string[] = [];
  let current = canonicalName(name);
  for (let i = 0; i < MAX_CNAME_DEPTH * 2; i++) {
    const cname = answers.find((rr) => rr.type === 'CNAME' && canonicalName(rr.name) === current);
    if (cname === undefined) break;
    const target = canonicalName(String(cname.data));
    if (cnames.includes(target) || target === canonicalName(name)) break;
    cnames.push(target);
    current = target;
  }
  const txt = answers
    .filter((rr) => rr.type === 'TXT' && canonicalName(rr.name) === current)
    .map((rr) => joinTxt(rr.data));
  return { cnames, end: current, txt };
}

/** The index of the first CNAME target outside `zone`, if any. */
function firstOutside(name: string, cnames: readonly string[], zone: string): { index: number } | undefined {
  if (!isInZone(name, zone)) return undefined;
  const index = cnames.findIndex((target) => !isInZone(target, zone));
  return index < 0 ? undefined : { index };
}

/** The server's negative answer covers `name` (its SOA is for a zone above `name`). */
function coversName(reply: QueryAnswer, name: string): boolean {
  return (reply.packet.authorities ?? []).some((rr) => rr.type === 'SOA' && isInZone(name, rr.name));
}

function joinTxt(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(
    parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(String(p ?? ''), 'utf8'))),
  ).toString('utf8');
}

function transportFailure(answer: NameserverAnswer, error: unknown): NameserverAnswer {
  if (error instanceof DnsTransportError && error.reason === 'timeout') {
    return { ...answer, outcome: 'timeout', detail: error.message };
  }
  return { ...answer, outcome: 'error', detail: (error as Error).message };
}

function rcodeFailure(answer: NameserverAnswer, reply: QueryAnswer): NameserverAnswer | undefined {
  switch (reply.rcode) {
    case Rcode.NOERROR:
    case Rcode.NXDOMAIN:
      return undefined;
    case Rcode.SERVFAIL:
      return {
        ...answer,
        outcome: 'servfail',
        detail: 'SERVFAIL: the server cannot answer for this zone now',
      };
    case Rcode.REFUSED:
      return { ...answer, outcome: 'refused', detail: 'REFUSED: the server does not serve this zone' };
    default:
      return { ...answer, outcome: 'error', detail: `the server answered ${rcodeName(reply.rcode)}` };
  }
}

/** Outcome of a CNAME answer from the outcomes behind it: `match`/`missing` only when unanimous. */
function aggregate(outcomes: readonly NameserverOutcome[]): NameserverOutcome {
  const first = outcomes[0] ?? 'error';
  if (outcomes.every((o) => o === first)) return first;
  const order: NameserverOutcome[] = [
    'error',
    'timeout',
    'servfail',
    'refused',
    'invalid',
    'other-key',
    'revoked',
    'missing',
    'match',
  ];
  return order.find((o) => outcomes.includes(o)) ?? 'error';
}
