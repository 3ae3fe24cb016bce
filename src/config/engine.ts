import { hostname, userInfo } from 'node:os';
import type { Actor } from '../domain/state.js';
import type { EngineDeps } from '../engine/reconcile.js';
import type { Clock, DnsProbe, DnsPublisher, Notifier, Output, SigningService } from '../ports.js';
import { buildCanaryPorts, type CanaryPortsFor, type CanaryWiring } from './canary-ports.js';
import { buildAwsClients, buildSigningService, buildStores, type ComposeOptions } from './compose.js';
import { buildDnsPublisher, buildNotifier, buildProbe, type PublisherWiringOptions } from './dns.js';
import type { LoadedConfig } from './load.js';

export interface EngineWiring extends ComposeOptions {
  clock: Clock;
  actor: Actor;
  output: Output;
  /** Overrides for front ends that bring their own (the sandbox, tests, the Lambda). */
  signing?: SigningService;
  probe?: DnsProbe;
  notifier?: Notifier;
  publisher?: PublisherWiringOptions;
  /** Builds SNS/webhook notifiers for `notify` entries the DNS wiring does not know. */
  otherNotifiers?: PublisherWiringOptions['others'];
  /**
   * Where a `{ type: stdout }` notifier writes. Default `process.stdout`; the CLI passes
   * stderr in JSON mode, so stdout carries nothing but the one JSON document.
   */
  notifierStream?: NodeJS.WritableStream;
  /** The canary's ports (the sandbox brings its own), or what to build them with. */
  canaryFor?: CanaryPortsFor;
  canary?: Omit<CanaryWiring, 'awsClients'>;
}

/**
 * Everything the engine needs for a loaded config, built once per process. Publishers are
 * built up front, one per distinct `dns` setting, so a fleet of domains sharing the
 * top-level setting shares one publisher.
 */
export async function buildEngineDeps(loaded: LoadedConfig, wiring: EngineWiring): Promise<EngineDeps> {
  const { vault, state } = await buildStores(loaded, wiring.clock, wiring);
  let others = wiring.otherNotifiers;
  if (!others && loaded.config.notify.some((n) => n.type === 'sns' || n.type === 'webhook')) {
    const { remoteNotifiers } = await import('./notifiers.js');
    others = remoteNotifiers(wiring.awsClients ?? (await buildAwsClients(loaded)), process.env);
  }
  const notifier =
    wiring.notifier ??
    buildNotifier(loaded.config, {
      clock: wiring.clock,
      ...(others ? { others } : {}),
      ...(wiring.notifierStream ? { stdout: wiring.notifierStream } : {}),
    });
  const bySetting = new Map<string, DnsPublisher>();
  const publishers = new Map<string, DnsPublisher>();
  for (const domain of loaded.domains) {
    const key = JSON.stringify(domain.dns);
    let publisher = bySetting.get(key);
    if (!publisher) {
      publisher = await buildDnsPublisher(loaded, domain, {
        clock: wiring.clock,
        notifier,
        ...wiring.publisher,
      });
      bySetting.set(key, publisher);
    }
    publishers.set(domain.domain, publisher);
  }
  const canaryFor =
    wiring.canaryFor ??
    (await buildCanaryPorts(loaded, {
      ...wiring.canary,
      ...(wiring.awsClients ? { awsClients: wiring.awsClients } : {}),
    }));
  return {
    ...(canaryFor ? { canaryFor } : {}),
    vault,
    state,
    signing: wiring.signing ?? (await buildSigningService(loaded, wiring)),
    probe: wiring.probe ?? buildProbe(loaded.config),
    publisherFor: (domain) => {
      const publisher = publishers.get(domain);
      if (!publisher) throw new Error(`no DNS publisher was built for ${domain}`);
      return publisher;
    },
    notifier,
    output: wiring.output,
    clock: wiring.clock,
    actor: wiring.actor,
    owner: `${wiring.actor.kind}:${hostname()}:${process.pid}`,
  };
}

/** What a library caller may set when building the engine; every field has a default. */
export interface EngineOptions {
  /** Default: the system clock. A fixed clock evaluates "as of" a moment, like the CLI's `--now`. */
  clock?: Clock;
  /** Who is acting, recorded in each domain's history. Default `{ kind: 'library', user }` (see {@link processUser}). */
  actor?: Actor;
  /** Receives the engine's progress events. Default: events are dropped. */
  output?: Output;
  /** SES as the engine sees it. Default: SES v2 through the config's `aws` settings. */
  signing?: SigningService;
  /** The DNS propagation probe. Default: asks every authoritative nameserver (`probe` settings). */
  probe?: DnsProbe;
  /** Where hand-offs, failures and rotations are announced. Default: the config's `notify` list. */
  notifier?: Notifier;
}

/** Drops every engine event: a library caller that passes no `output` wants no printing. */
const DROPPED_EVENTS: Output = { event: () => undefined };

/** The person running this process: `BYODKIM_ACTOR`, else the OS user name, if either is known. */
export function processUser(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.BYODKIM_ACTOR) return env.BYODKIM_ACTOR;
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * Builds the engine for a loaded config: the key vault, the state store, SES, the DNS
 * publishers and probe, and the notifiers the config names, as the CLI builds them. Pass the
 * result to {@link planDomain} or {@link applyDomain}. AWS SDK clients are created (and the
 * SDK loaded) only for the services the config uses.
 *
 * @throws {@link InputError} when a config names something that cannot be built (e.g. a TSIG
 *   secret file that does not exist).
 * @example
 * ```ts
 * import { buildEngine, loadConfig, planDomain } from 'byodkim';
 *
 * const loaded = await loadConfig('byodkim.config.yaml');
 * const engine = await buildEngine(loaded, {
 *   clock: { now: () => new Date('2027-01-01T00:00:00Z') }, // what-if: as of this moment
 *   output: { event: (e) => console.error(e.type, 'domain' in e ? e.domain : '') },
 * });
 * const result = await planDomain(loaded.domains[0], engine);
 * ```
 */
export function buildEngine(loaded: LoadedConfig, options: EngineOptions = {}): Promise<EngineDeps> {
  const user = processUser();
  return buildEngineDeps(loaded, {
    clock: options.clock ?? { now: () => new Date() },
    actor: options.actor ?? (user === undefined ? { kind: 'library' } : { kind: 'library', user }),
    output: options.output ?? DROPPED_EVENTS,
    ...(options.signing === undefined ? {} : { signing: options.signing }),
    ...(options.probe === undefined ? {} : { probe: options.probe }),
    ...(options.notifier === undefined ? {} : { notifier: options.notifier }),
  });
}
