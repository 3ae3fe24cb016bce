/**
 * The DNS lookups SES makes to verify DKIM (SPEC.md §4, §5), against the one DNS server the
 * emulator is configured with.
 */
import { Resolver } from 'node:dns/promises';
import { joinTxtStrings, readKeyRecord } from './dkim-record.js';
import type { MailFromOutcome } from './mail-from.js';

/** Every value of the model's VerificationError enum (SPEC.md §3). */
export const VERIFICATION_ERRORS = [
  'SERVICE_ERROR',
  'DNS_SERVER_ERROR',
  'HOST_NOT_FOUND',
  'TYPE_NOT_FOUND',
  'INVALID_VALUE',
  'REPLICATION_ACCESS_DENIED',
  'REPLICATION_PRIMARY_NOT_FOUND',
  'REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED',
  'REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED',
  'REPLICATION_PRIMARY_INVALID_REGION',
] as const;

export type VerificationError = (typeof VERIFICATION_ERRORS)[number];

export type CheckOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: VerificationError; readonly detail: string };

const MAX_CNAME_HOPS = 8;
/**
 * Queries in flight at once. A burst of a few hundred UDP queries overflows a loopback
 * server's receive buffer (~256 datagrams by default on Linux); the lost ones would time out
 * and read as TEMPORARY_FAILURE, which is load, not DNS. Checks queue instead.
 */
const MAX_QUERIES_IN_FLIGHT = 32;
export const EASY_DKIM_ZONE = 'dkim.amazonses.com';

export interface DnsTarget {
  readonly host: string;
  readonly port: number;
}

export class DnsChecker {
  readonly #resolver: Resolver;
  readonly #slots = new Semaphore(MAX_QUERIES_IN_FLIGHT);

  constructor(target: DnsTarget, timeoutMs: number) {
    this.#resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.#resolver.setServers([`${host}:${target.port}`]);
  }

  /**
   * BYODKIM: every DKIM key record at `<selector>._domainkey.<domain>` carries the held key.
   * Without a usable held key (SPEC.md §4) no record can match.
   */
  async checkKeyRecord(
    domain: string,
    selector: string,
    publicKeySpkiDer: Buffer | undefined,
  ): Promise<CheckOutcome> {
    const name = `${selector}._domainkey.${domain}`;
    const answer = await this.#resolveTxtFollowingCnames(name);
    if (!answer.ok) return answer;
    const readings = answer.records.map((strings) => readKeyRecord(joinTxtStrings(strings)));
    const dkimRecords = readings.filter((reading) => reading.kind !== 'not-dkim');
    if (dkimRecords.length === 0) {
      return fail('INVALID_VALUE', `${name} has TXT records but none is a DKIM key record`);
    }
    for (const reading of dkimRecords) {
      if (reading.kind === 'revoked')
        return fail('INVALID_VALUE', `${name} publishes a revoked key (empty p=)`);
      if (reading.kind === 'invalid') return fail('INVALID_VALUE', `${name}: ${reading.reason}`);
      if (reading.kind !== 'key') continue;
      if (publicKeySpkiDer === undefined) {
        return fail('INVALID_VALUE', `${name}: SES holds no usable private key for this selector`);
      }
      if (!reading.publicKeySpkiDer.equals(publicKeySpkiDer)) {
        return fail('INVALID_VALUE', `${name} publishes another public key`);
      }
    }
    return { ok: true };
  }

  /** Easy DKIM: each `<token>._domainkey.<domain>` is a CNAME to `<token>.dkim.amazonses.com`. */
  async checkEasyDkimCnames(domain: string, tokens: readonly string[]): Promise<CheckOutcome> {
    const outcomes = await Promise.all(
      tokens.map(async (token): Promise<CheckOutcome> => {
        const name = `${token}._domainkey.${domain}`;
        try {
          const targets = await this.#cname(name);
          const expected = `${token}.${EASY_DKIM_ZONE}`;
          return targets.some((target) => normalizeName(target) === expected)
            ? { ok: true }
            : fail('INVALID_VALUE', `${name} is not a CNAME to ${expected}`);
        } catch (error) {
          return lookupFailure(name, error);
        }
      }),
    );
    const failures = outcomes.filter((outcome) => !outcome.ok);
    return failures.find((outcome) => outcome.error === 'DNS_SERVER_ERROR') ?? failures[0] ?? { ok: true };
  }

  /**
   * Custom MAIL FROM (SPEC.md §7): at least one MX, every one of them SES's feedback host of
   * the region; with `requireSpf`, exactly one SPF record and it includes amazonses.com.
   */
  async checkMailFrom(mailFromDomain: string, region: string, requireSpf: boolean): Promise<MailFromOutcome> {
    const expected = `feedback-smtp.${region}.amazonses.com`;
    let exchanges: string[];
    try {
      exchanges = (await this.#slots.run(() => this.#resolver.resolveMx(mailFromDomain))).map((mx) =>
        normalizeName(mx.exchange),
      );
    } catch (error) {
      return mailFromLookupFailure(mailFromDomain, 'MX', error);
    }
    if (exchanges.length === 0) return { kind: 'not-found', detail: `${mailFromDomain} has no MX record` };
    const foreign = exchanges.find((exchange) => exchange !== expected);
    if (foreign !== undefined) {
      return { kind: 'not-found', detail: `${mailFromDomain} has MX ${foreign}, not only ${expected}` };
    }
    if (!requireSpf) return { kind: 'found' };
    let records: string[][];
    try {
      records = await this.#txt(mailFromDomain);
    } catch (error) {
      return mailFromLookupFailure(mailFromDomain, 'TXT', error);
    }
    const spf = records.map(joinTxtStrings).filter((text) => /^v=spf1(\s|$)/i.test(text));
    if (spf.length !== 1) {
      return {
        kind: 'not-found',
        detail: `${mailFromDomain} has ${spf.length} SPF records, not exactly one`,
      };
    }
    const terms = (spf[0] ?? '').toLowerCase().split(/\s+/);
    if (!terms.some((term) => /^[+]?include:amazonses\.com$/.test(term))) {
      return {
        kind: 'not-found',
        detail: `the SPF record of ${mailFromDomain} does not include amazonses.com`,
      };
    }
    return { kind: 'found' };
  }

  #txt(name: string): Promise<string[][]> {
    return this.#slots.run(() => this.#resolver.resolveTxt(name));
  }

  #cname(name: string): Promise<string[]> {
    return this.#slots.run(() => this.#resolver.resolveCname(name));
  }

  async #resolveTxtFollowingCnames(
    name: string,
  ): Promise<{ ok: true; records: string[][] } | Extract<CheckOutcome, { ok: false }>> {
    let current = name;
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop += 1) {
      try {
        const records = await this.#txt(current);
        // An authoritative server answers a CNAME into another zone without chasing it
        // (BIND with recursion off): the TXT set comes back empty; follow the CNAME.
        if (records.length > 0) return { ok: true, records };
        throw Object.assign(new Error(`${current}: no TXT in the answer`), { code: 'ENODATA' });
      } catch (error) {
        if (errorCode(error) !== 'ENODATA') return lookupFailure(current, error);
        // No TXT here: the name may be a CNAME the server did not chase (delegated zone).
        let targets: string[];
        try {
          targets = await this.#cname(current);
        } catch {
          return lookupFailure(current, error);
        }
        const next = targets[0];
        if (next === undefined) return lookupFailure(current, error);
        current = normalizeName(next);
      }
    }
    return fail('INVALID_VALUE', `${name}: more than ${MAX_CNAME_HOPS} CNAMEs`);
  }
}

class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free += 1;
    }
  }
}

function fail(error: VerificationError, detail: string): Extract<CheckOutcome, { ok: false }> {
  return { ok: false, error, detail };
}

function lookupFailure(name: string, error: unknown): Extract<CheckOutcome, { ok: false }> {
  const code = errorCode(error);
  if (code === 'ENOTFOUND') return fail('HOST_NOT_FOUND', `${name} does not exist (NXDOMAIN)`);
  if (code === 'ENODATA') return fail('TYPE_NOT_FOUND', `${name} has no record of the requested type`);
  return fail('DNS_SERVER_ERROR', `${name}: DNS lookup failed (${code ?? 'unknown error'})`);
}

function mailFromLookupFailure(name: string, type: string, error: unknown): MailFromOutcome {
  const code = errorCode(error);
  if (code === 'ENOTFOUND' || code === 'ENODATA') {
    return { kind: 'not-found', detail: `${name} has no ${type} record (${code})` };
  }
  return { kind: 'temporary', detail: `${name}: DNS lookup of ${type} failed (${code ?? 'unknown error'})` };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
