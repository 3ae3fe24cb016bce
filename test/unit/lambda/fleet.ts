/**
 * A fleet of ModelWorlds (one per domain) behind one set of engine ports, so the Lambda
 * handler runs the real engine over several domains with every safety invariant checked
 * inside the ports. Time is shared; `onLease` lets a test spend time per domain (deadlines).
 */
import { type LoadedConfig, parseConfig } from '../../../src/config/load.js';
import type { EngineDeps } from '../../../src/engine/reconcile.js';
import { LockedError } from '../../../src/errors.js';
import type { LambdaContext } from '../../../src/lambda/handler.js';
import type { LambdaRuntime } from '../../../src/lambda/runtime.js';
import type { EngineEvent } from '../../../src/ports.js';
import { ModelWorld, type WorldOptions } from '../../support/model-world.js';

const HOUR = 3_600_000;

export class Fleet {
  readonly worlds = new Map<string, ModelWorld>();
  readonly events: EngineEvent[] = [];
  /** Domains whose lease another actor holds. */
  readonly locked = new Set<string>();
  /** Called when a pass takes a domain's lease (before anything else for that domain). */
  onLease: ((domain: string) => void) | undefined;
  readonly leases: string[] = [];

  constructor(domains: readonly string[], options: Omit<WorldOptions, 'domain'> = {}) {
    for (const domain of domains) {
      this.worlds.set(
        domain,
        new ModelWorld({ ...options, domain, policy: { keyBits: 1024, ...options.policy } }),
      );
    }
  }

  world(domain: string): ModelWorld {
    const world = this.worlds.get(domain);
    if (!world) throw new Error(`no world for ${domain}`);
    return world;
  }

  #forName(name: string): ModelWorld {
    const world = [...this.worlds.values()].find((w) => name.endsWith(`.${w.domain.domain}`));
    if (!world) throw new Error(`no world serves ${name}`);
    return world;
  }

  get now(): Date {
    return [...this.worlds.values()][0]?.now ?? new Date(0);
  }

  advance(ms: number): void {
    for (const world of this.worlds.values()) world.advance(ms);
  }

  loaded(): LoadedConfig {
    const base = parseConfig(
      'keys: { type: s3, bucket: keys-bucket }\nstate: { type: dynamodb, table: byodkim-state }\ndomains: [{ domain: replaced.example, regions: [us-east-1] }]\n',
      '/tmp/fleet.yaml',
    );
    return { ...base, domains: [...this.worlds.values()].map((w) => w.domain) };
  }

  deps(): EngineDeps {
    const w = (domain: string) => this.world(domain);
    return {
      vault: {
        description: 'memory fleet',
        put: (domain, selector, key) => w(domain).vault.put(domain, selector, key),
        get: (domain, selector) => w(domain).vault.get(domain, selector),
        retire: (domain, selector) => w(domain).vault.retire(domain, selector),
        list: (domain) => w(domain).vault.list(domain),
      },
      state: {
        description: 'memory fleet',
        load: (domain) => w(domain).state.load(domain),
        save: (state, version) => w(state.domain).state.save(state, version),
        listDomains: async () => [...this.worlds.keys()],
        acquireLease: async (domain, owner, ttl) => {
          if (this.locked.has(domain)) throw new LockedError(`${domain} is held by someone else`);
          this.leases.push(`${domain} ${owner}`);
          this.onLease?.(domain);
          return w(domain).state.acquireLease(domain, owner, ttl);
        },
      },
      signing: {
        describe: (identity, region) => w(identity).signing.describe(identity, region),
        putExternalKey: (identity, region, selector, key) =>
          w(identity).signing.putExternalKey(identity, region, selector, key),
        setSigningEnabled: (identity, region, enabled) =>
          w(identity).signing.setSigningEnabled(identity, region, enabled),
        createIdentity: (identity, region, signing) =>
          w(identity).signing.createIdentity(identity, region, signing),
        listIdentities: async () => [...this.worlds.keys()],
      },
      probe: { probe: (name, publicKey) => this.#forName(name).probe.probe(name, publicKey) },
      publisherFor: (domain) => w(domain).publisher('automatic'),
      notifier: { notify: async () => undefined },
      output: { event: (e) => this.events.push(e) },
      clock: { now: () => this.now },
      actor: { kind: 'test' },
      owner: 'fleet',
    };
  }

  runtime(): LambdaRuntime {
    return { loaded: this.loaded(), deps: this.deps(), source: 'fleet' };
  }

  violations(): string[] {
    return [...this.worlds.values()].flatMap((world) => world.violations);
  }

  converged(): boolean {
    return [...this.worlds.values()].every((world) => world.converged());
  }
}

/** A Lambda context whose remaining time is `remaining()` (default: plenty). */
export function fakeContext(remaining: () => number = () => 600_000, requestId = 'req-1'): LambdaContext {
  return { awsRequestId: requestId, functionName: 'byodkim-test', getRemainingTimeInMillis: remaining };
}

export { HOUR };
