import { hostname } from 'node:os';
import type { Actor } from '../domain/state.js';
import type { EngineDeps } from '../engine/reconcile.js';
import type { Clock, DnsProbe, DnsPublisher, Notifier, Output, SigningService } from '../ports.js';
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
    wiring.notifier ?? buildNotifier(loaded.config, { clock: wiring.clock, ...(others ? { others } : {}) });
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
  return {
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
