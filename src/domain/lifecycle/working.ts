/**
 * The working copy decide's rules share: the state as it will be after the steps chosen
 * so far (advanced with the same `applyStep` the interpreter uses), the observation, and
 * what the rules have found. Rules read and add to it; nothing else mutates it.
 */
import { publishedRecordName } from '../delegation.js';
import type { Observation, ProbeResult, SesDkimView } from '../observation.js';
import { DAY_MS, type Policy } from '../policy.js';
import { isPropagated } from '../propagation.js';
import type { Actor, DomainState, KeyEntry, KeyStatus } from '../state.js';
import { applyStep } from './apply-step.js';
import type { DomainSpec, Finding, PlannedDnsChange, Step, Wait } from './plan.js';

/** Keys whose record should be in DNS and that may still become or be the signing key. */
export const FUTURE: readonly KeyStatus[] = ['staged', 'published', 'verified'];

/** The working copy's history has no reader; it is kept only because applyStep writes one. */
const PLANNING: Actor = { kind: 'cli', user: 'decide' };

export class Working {
  state: DomainState;
  readonly steps: Step[] = [];
  readonly waits: Wait[] = [];
  readonly warnings: Finding[] = [];
  /** DNS changes for this pass's single batch (flushed by the last rule). */
  readonly pendingChanges: PlannedDnsChange[] = [];
  /** Regions whose SES byodkim may act on in this pass (set by the region check). */
  readonly usable = new Set<string>();
  /** SES is being moved to another selector in this pass: steady-state repair stays away. */
  switchInProgress = false;
  /** A due switch held by the switch window: when it opens, and the key it will switch to. */
  windowOpensAt: Date | undefined;
  switchTarget: string | undefined;

  constructor(
    readonly initial: DomainState,
    readonly obs: Observation,
    readonly spec: DomainSpec,
  ) {
    this.state = initial;
  }

  get now(): Date {
    return this.obs.now;
  }

  get at(): string {
    return this.obs.now.toISOString();
  }

  get policy(): Policy {
    return this.spec.policy;
  }

  get keys(): readonly KeyEntry[] {
    return this.state.keys;
  }

  key(selector: string): KeyEntry | undefined {
    return this.state.keys.find((k) => k.selector === selector);
  }

  withStatus(...statuses: KeyStatus[]): KeyEntry[] {
    return this.state.keys.filter((k) => statuses.includes(k.status));
  }

  get active(): KeyEntry | undefined {
    return this.state.keys.find((k) => k.status === 'active');
  }

  /** The key SES is being moved to: verified and already put in at least one region. */
  get switching(): KeyEntry | undefined {
    return this.state.keys.find((k) => k.status === 'verified' && k.switchedAt !== undefined);
  }

  /** Chooses a step: it joins the plan and the working state moves past it. */
  do(step: Step): void {
    this.steps.push(step);
    this.state = applyStep(this.state, step, {
      at: this.at,
      actor: PLANNING,
      outcome: { published: this.spec.dnsMode === 'automatic' ? 'applied' : 'handed-off' },
    });
  }

  wait(wait: Wait): void {
    this.waits.push(wait);
  }

  warn(finding: Finding): void {
    this.warnings.push(finding);
  }

  /** A DNS change to send in this pass's single batch. */
  change(
    change: Omit<PlannedDnsChange, 'name' | 'ttl' | 'record'> & { record?: PlannedDnsChange['record'] },
  ): void {
    this.pendingChanges.push({
      record: 'key',
      ...change,
      name: publishedRecordName(this.spec, change.selector),
      ttl: this.spec.ttl,
    });
  }

  /** The record of `selector` is being revoked in this pass or was revoked before. */
  revoked(selector: string): boolean {
    return (
      this.key(selector)?.revokedAt !== undefined ||
      this.pendingChanges.some((c) => c.selector === selector && c.record === 'revoked')
    );
  }

  /** The record of `selector` is being removed in this pass or removal was requested before. */
  removalRequested(selector: string): boolean {
    return (
      this.key(selector)?.removalRequestedAt !== undefined ||
      this.pendingChanges.some((c) => c.selector === selector && c.action === 'delete')
    );
  }
}

export function iso(date: Date): string {
  return date.toISOString();
}

export function graceMs(policy: Policy): number {
  return policy.graceDays * DAY_MS;
}

/** The CNAME a delegated selector needs at the mail domain, or undefined when not delegated. */
export function expectedCname(spec: DomainSpec, selector: string): string | undefined {
  return spec.delegation ? publishedRecordName(spec, selector) : undefined;
}

/** In a delegated set-up, every answer must have come through the selector's CNAME. */
export function cnameInPlace(spec: DomainSpec, selector: string, result: ProbeResult | undefined): boolean {
  const target = expectedCname(spec, selector);
  if (target === undefined) return true;
  return (
    result !== undefined &&
    result.answers.length > 0 &&
    result.answers.every((a) => a.cnames?.[0]?.toLowerCase().replace(/\.$/, '') === target)
  );
}

/** Every authoritative nameserver serves the key (through the CNAME, when delegated). */
export function served(w: { obs: Observation; spec: DomainSpec }, selector: string): boolean {
  const result = w.obs.dns[selector];
  return isPropagated(result) && cnameInPlace(w.spec, selector, result);
}

export function sesView(w: Working, region: string): SesDkimView | undefined {
  const o = w.obs.ses[region];
  return o?.ok ? o.view : undefined;
}

/**
 * The selector SES holds for BYODKIM in `region`, as observed. SES may return an empty
 * `Tokens` for an EXTERNAL identity (the BYODKIM guide's own example, SES-REALITY.md §5):
 * that is never "no selector"; it is the selector byodkim last put there, as the state
 * knew it when SES was read (else the active key).
 */
export function heldSelector(w: Working, region: string): string | undefined {
  const view = sesView(w, region);
  if (!view?.exists || view.origin !== 'EXTERNAL') return undefined;
  if (view.tokens[0]) return view.tokens[0];
  const last = w.initial.lastSwitch;
  if (last?.regions[region]) return last.selector;
  return w.initial.keys.find((k) => k.status === 'active')?.selector;
}

/** Regions (observed) whose SES points at `selector`. */
export function regionsUsing(w: Working, selector: string): string[] {
  return w.spec.regions.filter((r) => heldSelector(w, r) === selector);
}

/** Nameservers that do not serve the key, for messages. */
export function lagging(result: ProbeResult | undefined): string {
  if (!result || result.answers.length === 0) return 'no nameserver answered';
  const bad = result.answers.filter((a) => a.outcome !== 'match');
  return bad.map((a) => `${a.nameserver}: ${a.outcome}`).join(', ');
}

/** Nameservers that still answer something other than "missing" for a record being removed. */
export function stillServing(result: ProbeResult | undefined): string {
  if (!result || result.answers.length === 0) return 'no nameserver answered';
  return result.answers
    .filter((a) => a.outcome !== 'missing')
    .map(
      (a) =>
        `${a.nameserver}: ${a.outcome === 'match' || a.outcome === 'other-key' ? 'still served' : a.outcome}`,
    )
    .join(', ');
}
