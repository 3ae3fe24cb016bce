import type { ResolvedDomain } from '../../src/config/load.js';
import type { DkimPrivateKey } from '../../src/domain/key.js';
import { type Policy, policySchema } from '../../src/domain/policy.js';
import { matchRecord } from '../../src/domain/record.js';
import type { DomainState } from '../../src/domain/state.js';
import { parseDomainState } from '../../src/domain/state-schema.js';
import { applyDomain, type DomainResult, type EngineDeps } from '../../src/engine/reconcile.js';
import { AlreadyExistsError, ConflictError, ServiceError } from '../../src/errors.js';
import type {
  DnsProbe,
  DnsPublisher,
  DnsRecordChange,
  EngineEvent,
  KeyVault,
  Lease,
  NameserverAnswer,
  SesDkimView,
  SigningService,
  StateStore,
  Versioned,
} from '../../src/ports.js';
import {
  checkKeyDestroyed,
  checkRecordRemoval,
  checkSwitch,
  DAY_MS,
  isRevocation,
  type ServedAt,
  SesUsage,
} from './invariants.js';

/**
 * A small in-memory model of the world byodkim acts on — authoritative nameservers that
 * can lag, SES regions that verify like SES does, a vault — with the safety invariants of
 * PRODUCT.md checked inside the ports at the moment of every side effect (the checks live
 * in invariants.ts, shared with the crash harness). The engine under test is the real one
 * (decide + execute + applyDomain); only the world is modelled.
 */

export class InvariantViolation extends Error {}
class Crash extends Error {}

interface SesRegion {
  exists: boolean;
  origin?: 'EXTERNAL' | 'AWS_SES';
  selector?: string;
  publicKey?: string;
  status?: SesDkimView['status'];
  signingEnabled: boolean;
  switchedAt?: number;
}

const DAY = DAY_MS;

export interface WorldOptions {
  domain?: string;
  regions?: string[];
  nameservers?: string[];
  dnsMode?: 'automatic' | 'manual';
  policy?: Partial<Policy>;
  createIdentity?: boolean;
  start?: string;
}

export class ModelWorld {
  now: Date;
  readonly domain: ResolvedDomain;
  /** ns → name → TXT values served. */
  readonly zones = new Map<string, Map<string, string[]>>();
  /** Updates a lagging nameserver has not applied yet. */
  readonly lagQueue: DnsRecordChange[] = [];
  laggingNs: string | undefined;
  readonly ses = new Map<string, SesRegion>();
  /** Which selector each region signs with, and when each selector was last used (grace). */
  readonly usage = new SesUsage();
  readonly vaultKeys = new Map<string, DkimPrivateKey>();
  readonly everStored = new Set<string>();
  stored: Versioned<DomainState> | undefined;
  readonly events: EngineEvent[] = [];
  readonly handOffs: DnsRecordChange[][] = [];
  pendingHandOff: DnsRecordChange[] | undefined;
  /** Faults. */
  sesFailNext = new Set<string>();
  sesUnreachable = new Set<string>();
  crashAfter: number | undefined;
  private sideEffects = 0;
  private crashed = false;
  emergency = false;
  sesCalls = 0;
  readonly violations: string[] = [];

  private violate(message: string): never {
    this.violations.push(message);
    throw new InvariantViolation(message);
  }

  constructor(options: WorldOptions = {}) {
    this.now = new Date(options.start ?? '2026-01-01T00:00:00Z');
    const policy = policySchema.parse({ verifyChecks: 2, renewalSpreadDays: 0, ...options.policy });
    this.domain = {
      domain: options.domain ?? 'example.com',
      regions: options.regions ?? ['us-east-1', 'ap-northeast-1'],
      selectorPrefix: 'mail',
      createIdentity: options.createIdentity ?? false,
      policy,
      dns:
        options.dnsMode === 'manual'
          ? { provider: 'manual', outDir: '/nonexistent', ttl: 300 }
          : { provider: 'route53', ttl: 300 },
      dnsMode: options.dnsMode === 'manual' ? 'manual' : 'automatic',
      ttl: 300,
    };
    for (const ns of options.nameservers ?? ['ns1', 'ns2']) this.zones.set(ns, new Map());
    for (const region of this.domain.regions) this.ses.set(region, { exists: true, signingEnabled: false });
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
    this.noteUsage();
  }

  advanceDays(days: number): void {
    this.advance(days * DAY);
  }

  /** Lagging nameserver catches up. */
  catchUp(): void {
    const ns = this.laggingNs;
    this.laggingNs = undefined;
    if (ns) for (const change of this.lagQueue.splice(0)) this.applyTo(ns, change);
  }

  /** The sandbox/DNS team applies the pending hand-off. */
  applyHandOff(): void {
    const batch = this.pendingHandOff;
    this.pendingHandOff = undefined;
    if (batch) for (const change of batch) this.applyDnsChange(change);
  }

  served(ns: string, name: string): string[] {
    return this.zones.get(ns)?.get(name) ?? [];
  }

  private applyTo(ns: string, change: DnsRecordChange): void {
    const zone = this.zones.get(ns);
    if (!zone) return;
    const values = zone.get(change.name) ?? [];
    if (change.action === 'delete')
      zone.set(
        change.name,
        values.filter((v) => v !== change.value),
      );
    else zone.set(change.name, [change.value]);
  }

  private applyDnsChange(change: DnsRecordChange): void {
    for (const ns of this.zones.keys()) {
      if (ns === this.laggingNs) this.lagQueue.push(change);
      else this.applyTo(ns, change);
    }
  }

  private noteUsage(): void {
    for (const [name, region] of this.ses) {
      this.usage.note(name, region.origin === 'EXTERNAL' ? region.selector : undefined, this.now.getTime());
    }
  }

  private sideEffect(): void {
    if (this.crashed) throw new Crash('process is dead');
    this.sideEffects++;
  }

  private afterSideEffect(): void {
    if (this.crashAfter !== undefined && this.sideEffects >= this.crashAfter) {
      this.crashed = true;
      this.crashAfter = undefined;
      throw new Crash(`crash after side effect ${this.sideEffects}`);
    }
  }

  private alive(): void {
    if (this.crashed) throw new Crash('process is dead');
  }

  /** What every nameserver serves at `name`. */
  servedAt(name: string): ServedAt[] {
    return [...this.zones.keys()].map((nameserver) => ({
      nameserver,
      values: this.served(nameserver, name),
    }));
  }

  private servedEverywhere(name: string, publicKey: string): boolean {
    return this.servedAt(name).every(
      (ns) => ns.values.length > 0 && ns.values.every((v) => matchRecord(v, publicKey) === 'match'),
    );
  }

  private get graceMs(): number {
    return this.domain.policy.graceDays * DAY;
  }

  readonly vault: KeyVault = {
    description: 'memory',
    put: async (domain, selector, key) => {
      this.sideEffect();
      const id = `${domain}/${selector}`;
      if (this.vaultKeys.has(id) || this.everStored.has(id)) throw new AlreadyExistsError(`${id} exists`);
      this.vaultKeys.set(id, key);
      this.everStored.add(id);
      this.afterSideEffect();
      return `memory:${id}`;
    },
    get: async (domain, selector) => {
      this.alive();
      return this.vaultKeys.get(`${domain}/${selector}`);
    },
    retire: async (domain, selector) => {
      this.sideEffect();
      if (this.vaultKeys.has(`${domain}/${selector}`)) {
        // Invariant 3: never while active or in grace; only once the record is gone (or revoked).
        const problems = checkKeyDestroyed({
          selector,
          nowMs: this.now.getTime(),
          usage: this.usage,
          graceMs: this.graceMs,
          emergency: this.emergency,
          served: this.servedAt(`${selector}._domainkey.${domain}`),
        });
        if (problems.length > 0) this.violate(problems.join('; '));
      }
      this.vaultKeys.delete(`${domain}/${selector}`);
      this.afterSideEffect();
    },
    list: async (domain) => {
      this.alive();
      return [...this.vaultKeys.keys()]
        .filter((id) => id.startsWith(`${domain}/`))
        .map((id) => id.slice(domain.length + 1));
    },
  };

  readonly state: StateStore = {
    description: 'memory',
    load: async () => {
      this.alive();
      return this.stored
        ? {
            value: parseDomainState(structuredClone(this.stored.value), 'memory'),
            version: this.stored.version,
          }
        : undefined;
    },
    save: async (state, expected) => {
      this.alive();
      if (this.stored?.version !== expected) throw new ConflictError('version changed');
      this.stored = { value: structuredClone(state), version: String(Number(expected ?? 0) + 1) };
      return this.stored.version;
    },
    listDomains: async () => (this.stored ? [this.stored.value.domain] : []),
    acquireLease: async (domain, owner): Promise<Lease> => ({
      domain,
      owner,
      expiresAt: new Date(this.now.getTime() + 60_000),
      renew: async () => undefined,
      release: async () => undefined,
    }),
  };

  readonly probe: DnsProbe = {
    probe: async (name, publicKey) => {
      this.alive();
      const answers: NameserverAnswer[] = [...this.zones.keys()].map((ns) => {
        const served = this.served(ns, name);
        if (served.length === 0) return { nameserver: ns, address: ns, outcome: 'missing', served };
        if (!publicKey) return { nameserver: ns, address: ns, outcome: 'other-key', served };
        const outcomes = served.map((v) => matchRecord(v, publicKey));
        const outcome = outcomes.includes('match') ? 'match' : (outcomes[0] ?? 'missing');
        return { nameserver: ns, address: ns, outcome, served };
      });
      return { name, answers };
    },
  };

  publisher(mode: 'automatic' | 'manual'): DnsPublisher {
    return {
      description: `model ${mode}`,
      mode,
      apply: async (_domain, changes) => {
        this.sideEffect();
        for (const change of changes) this.checkDnsChange(change);
        if (mode === 'manual') {
          this.handOffs.push([...changes]);
          this.pendingHandOff = [...(this.pendingHandOff ?? []), ...changes];
          this.afterSideEffect();
          return 'handed-off';
        }
        for (const change of changes) this.applyDnsChange(change);
        this.afterSideEffect();
        return 'applied';
      },
    };
  }

  /** Invariant 2 at the moment a removal or revocation is requested. */
  private checkDnsChange(change: DnsRecordChange): void {
    const revocation = change.action === 'upsert' && isRevocation(change.value);
    if (change.action !== 'delete' && !revocation) return;
    const problem = checkRecordRemoval({
      selector: change.selector,
      revocation,
      // Manual hand-offs may be sent early, dated: check the date instead of the moment.
      atMs: change.notBefore ? Date.parse(change.notBefore) : this.now.getTime(),
      usage: this.usage,
      graceMs: this.graceMs,
      emergency: this.emergency,
    });
    if (problem) this.violate(problem);
  }

  readonly signing: SigningService = {
    describe: async (identity, region) => {
      this.alive();
      this.sesCalls++;
      if (this.sesUnreachable.has(region))
        throw new ServiceError('THROTTLED', `SES ${region} throttled (TooManyRequestsException)`, {
          retryable: true,
        });
      const r = this.ses.get(region);
      if (!r?.exists) return { identity, region, exists: false, tokens: [] };
      this.verify(region, r);
      return {
        identity,
        region,
        exists: true,
        ...(r.origin ? { origin: r.origin } : {}),
        ...(r.status ? { status: r.status } : {}),
        signingEnabled: r.signingEnabled,
        tokens: r.selector ? [r.selector] : [],
      };
    },
    putExternalKey: async (identity, region, selector, key) => {
      this.sideEffect();
      this.checkSwitch(identity, region, selector, key);
      const r = this.ses.get(region) ?? { exists: true, signingEnabled: false };
      Object.assign(r, {
        exists: true,
        origin: 'EXTERNAL',
        selector,
        publicKey: key.publicKey,
        status: 'PENDING',
        signingEnabled: true,
        switchedAt: this.now.getTime(),
      });
      this.ses.set(region, r);
      this.noteUsage();
      this.afterSideEffect();
    },
    setSigningEnabled: async (_identity, region, enabled) => {
      this.sideEffect();
      const r = this.ses.get(region);
      if (r) r.signingEnabled = enabled;
      this.afterSideEffect();
    },
    createIdentity: async (identity, region, signing) => {
      this.sideEffect();
      if (signing) this.checkSwitch(identity, region, signing.selector, signing.key);
      this.ses.set(region, {
        exists: true,
        signingEnabled: signing !== undefined,
        ...(signing
          ? {
              origin: 'EXTERNAL' as const,
              selector: signing.selector,
              publicKey: signing.key.publicKey,
              status: 'PENDING' as const,
              switchedAt: this.now.getTime(),
            }
          : {}),
      });
      this.noteUsage();
      this.afterSideEffect();
    },
    listIdentities: async () => [this.domain.domain],
  };

  /** Invariant 1: SES only ever pointed at a selector every authoritative nameserver serves. */
  private checkSwitch(identity: string, region: string, selector: string, key: DkimPrivateKey): void {
    const problem = checkSwitch({
      region,
      selector,
      publicKey: key.publicKey,
      servedNow: this.servedAt(`${selector}._domainkey.${identity}`),
    });
    if (problem) this.violate(problem);
  }

  /** SES's own check, as a resolver would see it (the first nameserver). */
  private verify(region: string, r: SesRegion): void {
    if (!r.selector || !r.publicKey || r.origin !== 'EXTERNAL') return;
    if (r.status === 'FAILED') return;
    if (this.sesFailNext.delete(region)) {
      r.status = 'FAILED';
      return;
    }
    const first = [...this.zones.keys()][0] ?? '';
    const ok = this.served(first, `${r.selector}._domainkey.${this.domain.domain}`).some(
      (v) => matchRecord(v, r.publicKey ?? '') === 'match',
    );
    if (ok) r.status = 'SUCCESS';
    else if (this.now.getTime() - (r.switchedAt ?? 0) > 72 * 3_600_000) r.status = 'FAILED';
    else if (r.status === 'SUCCESS') r.status = 'TEMPORARY_FAILURE';
  }

  /** Sets up an identity already on BYODKIM with a key byodkim does not know (for adopt). */
  setExternal(region: string, selector: string, publicKey: string): void {
    this.ses.set(region, {
      exists: true,
      origin: 'EXTERNAL',
      selector,
      publicKey,
      status: 'SUCCESS',
      signingEnabled: true,
      switchedAt: this.now.getTime(),
    });
  }

  deps(
    mode: 'automatic' | 'manual' = this.domain.dns.provider === 'manual' ? 'manual' : 'automatic',
  ): EngineDeps {
    const publisher = this.publisher(mode);
    return {
      vault: this.vault,
      state: this.state,
      signing: this.signing,
      probe: this.probe,
      publisherFor: () => publisher,
      notifier: { notify: async () => undefined },
      output: { event: (e) => this.events.push(e) },
      clock: { now: () => this.now },
      actor: { kind: 'test' },
      owner: 'model',
    };
  }

  /** One apply pass; a crash ends the pass as a dead process would (nothing saved after it). */
  async pass(): Promise<DomainResult> {
    this.crashed = false;
    this.noteUsage();
    const result = await applyDomain(this.domain, this.deps());
    this.crashed = false;
    if (this.violations.length > 0) throw new InvariantViolation(this.violations.join('; '));
    return result;
  }

  get keys() {
    return this.stored?.value.keys ?? [];
  }

  active() {
    return this.keys.find((k) => k.status === 'active');
  }

  /** One active key, SES on it and SUCCESS everywhere, its record on every nameserver. */
  converged(): boolean {
    const active = this.active();
    if (!active || this.keys.filter((k) => k.status === 'active').length !== 1) return false;
    if (!this.servedEverywhere(`${active.selector}._domainkey.${this.domain.domain}`, active.publicKey))
      return false;
    return [...this.ses.values()].every(
      (r) => r.selector === active.selector && r.status === 'SUCCESS' && r.signingEnabled,
    );
  }
}
