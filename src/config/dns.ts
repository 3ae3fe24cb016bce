/**
 * DNS wiring for the composition root: the propagation probe from `probe`, a domain's
 * publisher from its `dns` settings, and the local notifiers from `notify`. Kept apart
 * from compose.ts (AWS wiring) so DNS needs no AWS SDK, except Route 53, which is loaded
 * from compose.ts only when a domain asks for it.
 */
import { ConcurrencyLimiter } from '../adapters/dns/limiter.js';
import { ManualHandOffPublisher } from '../adapters/dns/manual.js';
import { AuthoritativeProbe } from '../adapters/dns/probe.js';
import { Rfc2136Publisher } from '../adapters/dns/rfc2136.js';
import { loadTsigKey } from '../adapters/dns/tsig-key.js';
import { FileNotifier } from '../adapters/notify/file.js';
import { StdoutNotifier } from '../adapters/notify/stdout.js';
import { InputError } from '../errors.js';
import type { Clock, DnsPublisher, Notification, Notifier } from '../ports.js';
import type { LoadedConfig, ResolvedDomain } from './load.js';
import type { Config } from './schema.js';

export interface ProbeWiringOptions {
  /** Share one limiter between probes (e.g. one per process in the Lambda). */
  limiter?: ConcurrencyLimiter;
  /** Port for discovered nameservers and servers given without one (tests). Default 53. */
  defaultPort?: number;
}

/**
 * The propagation probe from `probe` (nameservers, resolvers, alsoRecursive, timeoutMs,
 * concurrency). Build one per pass and share it across domains: its nameserver cache and
 * its concurrency limit are per object.
 *
 * @example
 * ```ts
 * const probe = buildProbe(loaded.config);
 * const result = await probe.probe('sel1._domainkey.example.com', publicKey);
 * ```
 */
export function buildProbe(
  config: Pick<Config, 'probe'>,
  options: ProbeWiringOptions = {},
): AuthoritativeProbe {
  const { probe } = config;
  return new AuthoritativeProbe({
    timeoutMs: probe.timeoutMs,
    limiter: options.limiter ?? new ConcurrencyLimiter(probe.concurrency),
    ...(probe.nameservers === undefined ? {} : { nameservers: probe.nameservers }),
    ...(probe.resolvers === undefined ? {} : { resolvers: probe.resolvers }),
    ...(probe.alsoRecursive === undefined ? {} : { alsoRecursive: probe.alsoRecursive }),
    ...(options.defaultPort === undefined ? {} : { defaultPort: options.defaultPort }),
  });
}

export interface NotifierWiringOptions {
  /** Where the stdout notifier writes. Default `process.stdout`. */
  stdout?: NodeJS.WritableStream;
  clock?: Clock;
  /**
   * Notifiers for `notify` entries this module does not build (sns, webhook), by index
   * in `notify`; the AWS composition root supplies the SNS one.
   */
  others?: (entry: Config['notify'][number], index: number) => Notifier | undefined;
}

/**
 * One notifier for every entry of `notify`: stdout and file are built here; others must
 * come from `options.others` or the config is refused (exit code 2).
 */
export function buildNotifier(config: Pick<Config, 'notify'>, options: NotifierWiringOptions = {}): Notifier {
  const now = options.clock ? () => (options.clock as Clock).now() : undefined;
  const notifiers = config.notify.map((entry, index): Notifier => {
    if (entry.type === 'stdout') return new StdoutNotifier(options.stdout ? { stream: options.stdout } : {});
    if (entry.type === 'file') return new FileNotifier({ path: entry.path, ...(now ? { now } : {}) });
    const other = options.others?.(entry, index);
    if (other !== undefined) return other;
    throw new InputError(
      'BACKEND_UNAVAILABLE',
      `notify[${index}].type: "${entry.type}" notifications are not wired in this front end`,
      { context: { type: entry.type, index } },
    );
  });
  return notifiers.length === 1 ? (notifiers[0] as Notifier) : new EveryNotifier(notifiers);
}

export interface PublisherWiringOptions extends NotifierWiringOptions {
  /** Who a manual hand-off tells; built from `notify` when omitted. */
  notifier?: Notifier;
  /** Environment holding `dns.tsig.secretEnv`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Clock for TSIG signatures. Default the system clock, even when `clock` is virtual:
   * a real DNS server rejects a signature from another time (BADTIME). The sandbox passes
   * its virtual clock here, as its embedded server uses it too.
   */
  tsigClock?: Clock;
  /** Builds the Route 53 publisher (default: compose.ts's, which loads the AWS SDK). */
  route53?: (loaded: LoadedConfig, domain: ResolvedDomain) => Promise<DnsPublisher>;
}

/**
 * The publisher for one domain's `dns` settings (domain override or the top-level one):
 * manual hand-off, RFC 2136 with TSIG, or Route 53.
 *
 * @throws {@link InputError} when the TSIG secret cannot be read or a notifier is not available.
 * @example
 * ```ts
 * const publisher = await buildDnsPublisher(loaded, findDomain(loaded, 'example.com', 'domain'));
 * await publisher.apply('example.com', changes);
 * ```
 */
export async function buildDnsPublisher(
  loaded: LoadedConfig,
  domain: ResolvedDomain,
  options: PublisherWiringOptions = {},
): Promise<DnsPublisher> {
  const dns = domain.dns;
  switch (dns.provider) {
    case 'manual':
      return new ManualHandOffPublisher({
        outDir: dns.outDir,
        ttl: dns.ttl,
        notifier: options.notifier ?? buildNotifier(loaded.config, options),
        ...(options.clock ? { now: () => (options.clock as Clock).now() } : {}),
      });
    case 'rfc2136':
      return new Rfc2136Publisher({
        server: dns.server,
        zone: dns.zone,
        ttl: dns.ttl,
        tsig: await loadTsigKey(dns.tsig, options.env ? { env: options.env } : {}),
        timeoutMs: Math.max(loaded.config.probe.timeoutMs, 10_000),
        ...(options.tsigClock ? { now: () => (options.tsigClock as Clock).now() } : {}),
      });
    case 'route53': {
      if (options.route53) return options.route53(loaded, domain);
      const { buildRoute53Publisher } = await import('./compose.js');
      return buildRoute53Publisher(loaded, dns);
    }
  }
}

/** Tells every notifier, even when one fails; then reports the first failure. */
class EveryNotifier implements Notifier {
  readonly #notifiers: readonly Notifier[];

  constructor(notifiers: readonly Notifier[]) {
    this.#notifiers = notifiers;
  }

  async notify(notification: Notification): Promise<void> {
    const results = await Promise.allSettled(this.#notifiers.map((n) => n.notify(notification)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
