import type { DnsRecordChange, NameserverAnswer, ProbeResult, SesDkimView } from '../ports.js';
import { type Delegation, freeRingSelectors, publishedRecordName } from './delegation.js';
import { DAY_MS, HOUR_MS, type Policy } from './policy.js';
import { isGone, isPropagated } from './propagation.js';
import { buildDkimRecordValue, dkimRecordName, REVOKED_RECORD_VALUE } from './record.js';
import type { DomainState, KeyEntry, KeyStatus } from './state.js';

/**
 * decide: the pure heart of byodkim. From what byodkim remembers (DomainState), what the
 * world looks like right now (Observation: SES per region, DNS per nameserver) and the
 * policy, it returns the steps of this pass, each with a reason code and a message, plus
 * what it is waiting for. No I/O, no clock: `observation.now` is the only time.
 *
 * Phases (PRODUCT.md):
 *
 *   3 generate ─▶ 4 publish ─▶ 5 verify on every NS (N passes) ─▶ 6 SES put, every region
 *        ▲                                                            │
 *        │ due: notAfter − renewBefore, rotate, emergency             ▼
 *   8 retire old: grace, remove record, destroy key ◀── 7 SUCCESS everywhere: promote
 *
 * The safety invariants are enforced here, where every step is chosen:
 *  1. `ses-put`/`ses-create` only for a key that is `verified` AND that every authoritative
 *     nameserver serves in this very observation.
 *  2. a record is removed only for a `retiring`/`failed` key that no region's SES uses, after
 *     its grace period (emergency revocation, by explicit request, excepted).
 *  3. `destroy-key` only after the record is requested removed and seen gone everywhere.
 * Decide plays its own steps forward on a working copy, so one pass can chain steps that
 * the same observation justifies (e.g. verified → SES put in every region).
 */

export interface DomainSpec {
  domain: string;
  regions: readonly string[];
  policy: Policy;
  /** 'automatic' publishers change DNS themselves; 'manual' hands changes to people. */
  dnsMode: 'automatic' | 'manual';
  ttl: number;
  createIdentity: boolean;
  selectorPrefix: string;
  /** Delegated DKIM zone: records live at `<selector>.<zone>`, reached through the mail domain's CNAMEs. */
  delegation?: Delegation;
}

export { isGone, isPropagated };

/** The CNAME a delegated selector needs at the mail domain, or undefined when not delegated. */
function expectedCname(spec: DomainSpec, selector: string): string | undefined {
  return spec.delegation ? publishedRecordName(spec, selector) : undefined;
}

/** In a delegated set-up, every answer must have come through the selector's CNAME. */
function cnameInPlace(spec: DomainSpec, selector: string, result: ProbeResult | undefined): boolean {
  const target = expectedCname(spec, selector);
  if (target === undefined) return true;
  return (
    result !== undefined &&
    result.answers.length > 0 &&
    result.answers.every((a) => a.cnames?.[0]?.toLowerCase().replace(/\.$/, '') === target)
  );
}

/** Every authoritative nameserver serves the key (through the CNAME, when delegated). */
function served(w: { obs: Observation; spec: DomainSpec }, selector: string): boolean {
  const result = w.obs.dns[selector];
  return isPropagated(result) && cnameInPlace(w.spec, selector, result);
}

export type SesObservation = { ok: true; view: SesDkimView } | { ok: false; error: string };

export interface Observation {
  now: Date;
  /** By region. */
  ses: Readonly<Record<string, SesObservation>>;
  /** By selector: what the authoritative nameservers serve at its record name. */
  dns: Readonly<Record<string, ProbeResult>>;
}

export type Phase = 3 | 4 | 5 | 6 | 7 | 8;

interface StepBase {
  /** Stable machine-readable reason (cert-manager style), e.g. `RenewalDue`. */
  reason: string;
  message: string;
  phase: Phase;
}

export type Step = StepBase &
  (
    | { kind: 'generate-key' }
    | { kind: 'publish'; changes: DnsRecordChange[] }
    | { kind: 'set-streak'; selector: string; streak: number; seenAt?: string }
    | { kind: 'transition'; selector: string; to: KeyStatus; set?: Partial<KeyEntry> }
    | { kind: 'ses-put'; region: string; selector: string }
    | { kind: 'ses-create'; region: string; selector: string }
    | { kind: 'ses-enable'; region: string }
    | { kind: 'destroy-key'; selector: string }
    | { kind: 'hand-off-done' }
    | { kind: 'clear-request'; which: 'rotation' | 'rollback' }
    | { kind: 'notify'; notification: 'rotated' | 'failure' }
  );

export interface Wait {
  reason: string;
  message: string;
  /** Waiting on something byodkim does not control (DNS team, DNS propagation, SES). */
  outside: boolean;
  region?: string;
  selector?: string;
}

export interface Finding {
  code: string;
  message: string;
  region?: string;
  selector?: string;
}

export interface Plan {
  domain: string;
  steps: Step[];
  waits: Wait[];
  warnings: Finding[];
  /** What happens next when nothing is due now. */
  next?: { at: string; what: string };
  /** When each future (standby) key is expected to be used. */
  schedule?: Array<{ selector: string; status: KeyStatus; at: string; what: string }>;
}

/** Keys whose record should be in DNS and that may still become or be the signing key. */
const FUTURE: readonly KeyStatus[] = ['staged', 'published', 'verified'];
/** How long to wait after a failed key before trying a new one, so a broken set-up does not churn keys. */
export const FAILURE_BACKOFF_MS = 6 * HOUR_MS;

function lagging(result: ProbeResult | undefined): string {
  if (!result || result.answers.length === 0) return 'no nameserver answered';
  const bad = result.answers.filter((a: NameserverAnswer) => a.outcome !== 'match');
  return bad.map((a) => `${a.nameserver}: ${a.outcome}`).join(', ');
}

/** Nameservers that still answer something other than "missing" for a record being removed. */
function stillServing(result: ProbeResult | undefined): string {
  if (!result || result.answers.length === 0) return 'no nameserver answered';
  return result.answers
    .filter((a) => a.outcome !== 'missing')
    .map(
      (a) =>
        `${a.nameserver}: ${a.outcome === 'match' || a.outcome === 'other-key' ? 'still served' : a.outcome}`,
    )
    .join(', ');
}

function iso(date: Date): string {
  return date.toISOString();
}

function graceMs(policy: Policy): number {
  return policy.graceDays * DAY_MS;
}

/** When a key is too old to be (or become) the signing key: `renewBefore` ahead of its end of validity. */
export function renewalDueAt(key: KeyEntry, policy: Policy): Date {
  return new Date(Date.parse(key.notAfter) - policy.renewBeforeDays * DAY_MS);
}

/**
 * When the active key must be replaced. Standby keys age while they wait (their validity
 * runs from creation), so with K standbys each key takes a turn of
 * (validity − renewBefore) / (K + 1): then no key, standby time included, outlives its
 * validity, and the standby used next is never too old to activate.
 */
export function rotationDueAt(active: KeyEntry, policy: Policy): Date {
  const byAge = renewalDueAt(active, policy);
  if (policy.standby === 0) return byAge;
  const turn = ((policy.validityDays - policy.renewBeforeDays) * DAY_MS) / (policy.standby + 1);
  const byTurn = new Date(Date.parse(active.statusSince) + turn);
  return byTurn < byAge ? byTurn : byAge;
}

class Working {
  readonly keys: KeyEntry[];
  readonly steps: Step[] = [];
  readonly waits: Wait[] = [];
  readonly warnings: Finding[] = [];
  readonly pendingChanges: DnsRecordChange[] = [];
  handOffPending: boolean;
  rotation: DomainState['rotation'];
  rollback: DomainState['rollback'];

  constructor(
    readonly state: DomainState,
    readonly obs: Observation,
    readonly spec: DomainSpec,
  ) {
    this.keys = state.keys.map((k) => ({ ...k }));
    this.handOffPending = state.handOff !== undefined;
    this.rotation = state.rotation;
    this.rollback = state.rollback;
  }

  get now(): Date {
    return this.obs.now;
  }

  key(selector: string): KeyEntry | undefined {
    return this.keys.find((k) => k.selector === selector);
  }

  withStatus(...statuses: KeyStatus[]): KeyEntry[] {
    return this.keys.filter((k) => statuses.includes(k.status));
  }

  get active(): KeyEntry | undefined {
    return this.keys.find((k) => k.status === 'active');
  }

  /** The key SES is being moved to: verified and already put in at least one region. */
  get switching(): KeyEntry | undefined {
    return this.keys.find((k) => k.status === 'verified' && k.switchedAt !== undefined);
  }

  transition(
    selector: string,
    to: KeyStatus,
    reason: string,
    message: string,
    phase: Phase,
    set: Partial<KeyEntry> = {},
  ): void {
    const key = this.key(selector);
    if (!key) return;
    Object.assign(key, set, { status: to, statusSince: iso(this.now) });
    this.steps.push({ kind: 'transition', selector, to, set, reason, message, phase });
  }

  step(step: Step): void {
    this.steps.push(step);
  }

  wait(wait: Wait): void {
    this.waits.push(wait);
  }

  warn(finding: Finding): void {
    this.warnings.push(finding);
  }

  /** A DNS change to send in this pass's single batch. */
  change(change: DnsRecordChange): void {
    this.pendingChanges.push(change);
  }
}

/** Decides one pass for one domain. Pure: same inputs, same plan. */
export function decide(state: DomainState, obs: Observation, spec: DomainSpec): Plan {
  const w = new Working(state, obs, spec);
  const usable = checkRegions(w);

  trackHandOff(w);
  trackPropagation(w);
  handleRevokeNow(w);
  const switched = driveSes(w, usable);
  if (!switched) keepSesOnActive(w, usable);
  watchActiveRecord(w);
  retireOldKeys(w, usable);
  ensureFutureKeys(w);
  publishStaged(w);
  flushDnsChanges(w);

  const plan: Plan = { domain: spec.domain, steps: w.steps, waits: w.waits, warnings: w.warnings };
  const next = nextEvent(w);
  if (next) plan.next = next;
  const schedule = standbySchedule(w);
  if (schedule.length > 0) plan.schedule = schedule;
  return plan;
}

/**
 * When each future key is expected to become the signing key: the first at the active
 * key's rotation, each next one a turn later. A key that would be too old by then is
 * shown as to be replaced instead.
 */
function standbySchedule(
  w: Working,
): Array<{ selector: string; status: KeyStatus; at: string; what: string }> {
  const active = w.active;
  if (!active || w.switching) return [];
  const policy = w.spec.policy;
  const turn = ((policy.validityDays - policy.renewBeforeDays) * DAY_MS) / (policy.standby + 1);
  let at = rotationDueAt(active, policy).getTime();
  return w
    .withStatus(...FUTURE)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .map((key) => {
      const tooOld = renewalDueAt(key, policy).getTime() <= at;
      const entry = tooOld
        ? {
            selector: key.selector,
            status: key.status,
            at: iso(renewalDueAt(key, policy)),
            what: `replace ${key.selector} (too old to use)`,
          }
        : {
            selector: key.selector,
            status: key.status,
            at: iso(new Date(at)),
            what: `switch SES to ${key.selector}`,
          };
      if (!tooOld) at += turn;
      return entry;
    });
}

/** Per region: can byodkim act on SES there in this pass? Reports why not. */
function checkRegions(w: Working): Set<string> {
  const usable = new Set<string>();
  const known = new Set(w.keys.map((k) => k.selector));
  for (const region of w.spec.regions) {
    const o = w.obs.ses[region];
    if (!o?.ok) {
      w.wait({
        reason: 'SesUnavailable',
        message: `SES in ${region} could not be read: ${o && !o.ok ? o.error : 'no answer'}; will retry`,
        outside: true,
        region,
      });
      continue;
    }
    const view = o.view;
    if (!view.exists) {
      if (w.spec.createIdentity) usable.add(region);
      else
        w.warn({
          code: 'IdentityMissing',
          message: `identity ${w.spec.domain} does not exist in SES ${region}; create it (DKIM off) or set createIdentity: true`,
          region,
        });
      continue;
    }
    if (
      view.origin !== 'EXTERNAL' &&
      view.signingEnabled &&
      view.status === 'SUCCESS' &&
      !w.state.easyDkimTakeover
    ) {
      w.warn({
        code: 'EasyDkimInUse',
        message: `SES ${region} signs ${w.spec.domain} with Easy DKIM; byodkim will not replace it unless adopted with --from-easy-dkim`,
        region,
      });
      continue;
    }
    const held = view.origin === 'EXTERNAL' ? view.tokens[0] : undefined;
    if (held !== undefined && !known.has(held)) {
      w.warn({
        code: 'UnknownSelectorInSes',
        message: `SES ${region} uses selector ${held}, which byodkim did not set; run "byodkim adopt" to take it over`,
        region,
        selector: held,
      });
      continue;
    }
    usable.add(region);
  }
  return usable;
}

function sesView(w: Working, region: string): SesDkimView | undefined {
  const o = w.obs.ses[region];
  return o?.ok ? o.view : undefined;
}

function sesSelector(view: SesDkimView | undefined): string | undefined {
  return view?.exists && view.origin === 'EXTERNAL' ? view.tokens[0] : undefined;
}

/** Regions (observed) whose SES points at `selector`. */
function regionsUsing(w: Working, selector: string): string[] {
  return w.spec.regions.filter((r) => sesSelector(sesView(w, r)) === selector);
}

function trackHandOff(w: Working): void {
  const handOff = w.state.handOff;
  if (!handOff) return;
  const missing = handOff.add.filter((record) => {
    const key = w.keys.find((k) => publishedRecordName(w.spec, k.selector) === record.name);
    return key !== undefined && FUTURE.includes(key.status) && !served(w, key.selector);
  });
  if (missing.length === 0) {
    w.handOffPending = false;
    w.step({
      kind: 'hand-off-done',
      reason: 'HandOffApplied',
      message: `the DNS team's change is visible on every authoritative nameserver`,
      phase: 4,
    });
  } else {
    w.wait({
      reason: 'DnsHandOffPending',
      message: `waiting for the DNS team to publish ${missing.map((r) => r.name).join(', ')} (requested ${handOff.sentAt})`,
      outside: true,
    });
  }
}

/** Phase 5: count consecutive passes on which every authoritative nameserver serves the key. */
function trackPropagation(w: Working): void {
  const needed = w.spec.policy.verifyChecks;
  for (const key of w.withStatus('published', 'verified')) {
    const result = w.obs.dns[key.selector];
    const before = key.verifyStreak ?? 0;
    if (!cnameInPlace(w.spec, key.selector, result)) warnCname(w, key.selector, result);
    if (served(w, key.selector)) {
      // Checks count only when at least verifyIntervalMinutes apart: runs started together
      // would otherwise "verify" a record seconds after it was published, while secondaries
      // that lag by minutes have not caught up.
      const lastSeen = key.lastSeenAt === undefined ? undefined : Date.parse(key.lastSeenAt);
      const countsFrom =
        lastSeen === undefined ? undefined : lastSeen + w.spec.policy.verifyIntervalMinutes * 60_000;
      const tooSoon =
        before > 0 && before < needed && countsFrom !== undefined && w.now.getTime() < countsFrom;
      const streak = tooSoon ? before : Math.min(before + 1, needed);
      if (streak !== before) {
        key.verifyStreak = streak;
        key.lastSeenAt = iso(w.now);
        w.step({
          kind: 'set-streak',
          selector: key.selector,
          streak,
          seenAt: key.lastSeenAt,
          reason: 'RecordSeen',
          message: `${key.selector}: every authoritative nameserver serves the key (${streak}/${needed})`,
          phase: 5,
        });
      }
      if (tooSoon && countsFrom !== undefined) {
        w.wait({
          reason: 'VerifyIntervalPending',
          message: `${key.selector}: served everywhere (${before}/${needed}); the next check counts from ${iso(new Date(countsFrom))} (policy.verifyIntervalMinutes: ${w.spec.policy.verifyIntervalMinutes})`,
          outside: true,
          selector: key.selector,
        });
      }
      if (key.status === 'published' && streak >= needed) {
        w.transition(
          key.selector,
          'verified',
          'PropagationVerified',
          `${key.selector} verified on every authoritative nameserver, ${needed} checks in a row`,
          5,
        );
      }
    } else {
      if (shouldRepublish(w, key, result)) {
        w.change({
          action: 'upsert',
          name: publishedRecordName(w.spec, key.selector),
          value: buildDkimRecordValue(key.publicKey),
          ttl: w.spec.ttl,
          selector: key.selector,
          reason: 'RecordWrong',
        });
      }
      if (before !== 0) {
        key.verifyStreak = 0;
        delete key.lastSeenAt;
        w.step({
          kind: 'set-streak',
          selector: key.selector,
          streak: 0,
          reason: 'RecordNotSeen',
          message: `${key.selector}: not served everywhere (${lagging(result)}); counting again`,
          phase: 5,
        });
      }
      if (key.status === 'verified' && key.switchedAt === undefined) {
        w.transition(
          key.selector,
          'published',
          'VerifiedRecordLost',
          `${key.selector} is no longer served everywhere (${lagging(result)})`,
          5,
        );
      }
      if (key.switchedAt === undefined && !w.handOffPending) {
        w.wait({
          reason: 'DnsPropagationPending',
          message: `${key.selector}: waiting for every authoritative nameserver (${lagging(result)})`,
          outside: true,
          selector: key.selector,
        });
      }
    }
  }
}

/**
 * Automatic DNS only: publish again when some nameserver still does not serve the key an
 * hour after the last publish (a lost update, a tampered value, a secondary that missed a
 * NOTIFY: a new serial makes it transfer again).
 */
function shouldRepublish(w: Working, key: KeyEntry, result: ProbeResult | undefined): boolean {
  if (w.spec.dnsMode !== 'automatic' || !result || result.answers.length === 0) return false;
  // At most hourly: an upsert is idempotent, but a stuck secondary should not cost a change per pass.
  return w.now.getTime() - Date.parse(key.lastPublishedAt ?? key.statusSince) >= HOUR_MS;
}

/** A delegated selector whose CNAME is missing or wrong at the mail domain: name the CNAME to add. */
function warnCname(w: Working, selector: string, result: ProbeResult | undefined): void {
  const target = expectedCname(w.spec, selector);
  const seen = [...new Set((result?.answers ?? []).map((a) => a.cnames?.[0] ?? 'no CNAME'))].join(', ');
  w.warn({
    code: 'DelegationCnameMissing',
    message: `add ${dkimRecordName(selector, w.spec.domain)}. CNAME ${target}. at the mail domain (its nameservers answer: ${seen || 'nothing'}); SES will not be switched to ${selector} until it is there`,
    selector,
  });
}

/** `rotate --emergency --revoke-now`: the old record becomes `p=` at once, by explicit choice. */
function handleRevokeNow(w: Working): void {
  if (!w.rotation?.revokeNow) return;
  const active = w.active;
  if (!active || active.revokedAt) return;
  // The publish step records revokedAt once DNS accepted the change.
  w.change({
    action: 'upsert',
    name: publishedRecordName(w.spec, active.selector),
    value: REVOKED_RECORD_VALUE,
    ttl: w.spec.ttl,
    selector: active.selector,
    reason: 'EmergencyRevocation',
  });
  active.revokedAt = iso(w.now);
}

/** Whether the active key must be replaced now, and why. */
function rotationDue(w: Working): { reason: string; message: string } | undefined {
  const active = w.active;
  if (!active) return { reason: 'Onboarding', message: 'no active key yet' };
  if (w.rotation) {
    return w.rotation.kind === 'emergency'
      ? { reason: 'EmergencyRotation', message: `emergency rotation requested ${w.rotation.requestedAt}` }
      : { reason: 'RotationRequested', message: `rotation requested ${w.rotation.requestedAt}` };
  }
  const due = rotationDueAt(active, w.spec.policy);
  if (w.now >= due)
    return { reason: 'RenewalDue', message: `${active.selector} is due for renewal since ${iso(due)}` };
  return undefined;
}

/** A verified key worth switching to: oldest first, skipping keys that would be due at once. */
function readyKey(w: Working): KeyEntry | undefined {
  return w
    .withStatus('verified')
    .filter((k) => served(w, k.selector) && renewalDueAt(k, w.spec.policy) > w.now)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
}

/**
 * Phases 6–7 and rollback. Returns true when a switch is in progress (SES is being moved),
 * so that keepSesOnActive does not pull it back.
 */
function driveSes(w: Working, usable: Set<string>): boolean {
  let target = w.switching;
  if (w.rollback) {
    const rollback = startRollback(w, target);
    if (!rollback.target) return rollback.handled;
    target = rollback.target;
  }
  if (!target) {
    const due = rotationDue(w);
    if (!due) return false;
    const ready = readyKey(w);
    if (!ready) {
      const future = w.withStatus(...FUTURE);
      if (future.length > 0) {
        w.wait({
          reason: 'NextKeyNotReady',
          message: `${due.message}; switching once ${future.map((k) => k.selector).join(', ')} is verified`,
          outside: false,
        });
      }
      return false;
    }
    target = ready;
    target.switchedAt = iso(w.now);
    w.step({
      kind: 'transition',
      selector: target.selector,
      to: 'verified',
      set: { switchedAt: target.switchedAt },
      reason: due.reason,
      message: `${due.message}: switching SES to ${target.selector}`,
      phase: 6,
    });
  }
  return advanceSwitch(w, target, usable);
}

/** `rollback`: go back to the active key (mid-switch) or to the previous key (after one). */
function startRollback(w: Working, switching: KeyEntry | undefined): { target?: KeyEntry; handled: boolean } {
  w.rollback = undefined;
  w.step({
    kind: 'clear-request',
    which: 'rollback',
    reason: 'RollbackRequested',
    message: 'rollback requested',
    phase: 6,
  });
  if (switching) {
    failSwitch(
      w,
      switching,
      'RollbackRequested',
      `rollback requested while switching to ${switching.selector}`,
    );
    return { handled: true };
  }
  const previous = rollbackCandidate(w);
  if (!previous) {
    w.warn({
      code: 'NothingToRollBackTo',
      message: 'no previous key is still published and stored; nothing to roll back to',
    });
    return { handled: false };
  }
  previous.switchedAt = iso(w.now);
  w.transition(
    previous.selector,
    'verified',
    'RollbackRequested',
    `rolling back: switching SES back to ${previous.selector}`,
    6,
    {
      switchedAt: previous.switchedAt,
      verifyStreak: w.spec.policy.verifyChecks,
    },
  );
  delete previous.retiringSince;
  return { target: previous, handled: true };
}

/** The most recent retiring key whose record is still served everywhere and not being removed. */
export function rollbackCandidate(w: {
  keys: KeyEntry[];
  obs: Observation;
  spec: DomainSpec;
}): KeyEntry | undefined {
  return previousKeys(w.keys).find((k) => served(w, k.selector));
}

/**
 * Keys SES could go back to, newest first: retiring, record not being removed or revoked,
 * private key still stored. (Whether DNS still serves them is checked per pass.)
 */
export function previousKeys(keys: readonly KeyEntry[]): KeyEntry[] {
  return keys
    .filter(
      (k) =>
        k.status === 'retiring' &&
        !k.removalRequestedAt &&
        !k.revokedAt &&
        !k.destroyedAt &&
        k.vaultRef !== '',
    )
    .sort((a, b) => (b.retiringSince ?? '').localeCompare(a.retiringSince ?? ''));
}

function advanceSwitch(w: Working, target: KeyEntry, usable: Set<string>): boolean {
  const policy = w.spec.policy;
  const servedEverywhere = served(w, target.selector);
  let allSuccess = true;
  let failedIn: string | undefined;
  for (const region of w.spec.regions) {
    const view = sesView(w, region);
    if (!usable.has(region) || !view) {
      allSuccess = false;
      continue;
    }
    if (sesSelector(view) !== target.selector) {
      allSuccess = false;
      // Invariant 1: point SES only at a selector every authoritative nameserver serves now.
      if (!servedEverywhere) {
        w.wait({
          reason: 'DnsPropagationPending',
          message: `not switching ${region} to ${target.selector}: ${lagging(w.obs.dns[target.selector])}`,
          outside: true,
          region,
          selector: target.selector,
        });
        continue;
      }
      if (view.exists) {
        w.step({
          kind: 'ses-put',
          region,
          selector: target.selector,
          reason: 'SwitchSelector',
          message: `SES ${region}: sign with ${target.selector} (EXTERNAL)`,
          phase: 6,
        });
      } else {
        w.step({
          kind: 'ses-create',
          region,
          selector: target.selector,
          reason: 'CreateIdentity',
          message: `SES ${region}: create ${w.spec.domain} signing with ${target.selector}`,
          phase: 6,
        });
      }
      continue;
    }
    if (!view.signingEnabled) {
      allSuccess = false;
      w.step({
        kind: 'ses-enable',
        region,
        reason: 'EnableSigning',
        message: `SES ${region}: enable DKIM signing`,
        phase: 7,
      });
      continue;
    }
    if (view.status === 'FAILED') {
      failedIn = region;
      allSuccess = false;
    } else if (view.status !== 'SUCCESS') {
      allSuccess = false;
      w.wait({
        reason: 'SesVerificationPending',
        message: `SES ${region}: ${target.selector} is ${view.status ?? 'unknown'}`,
        outside: true,
        region,
        selector: target.selector,
      });
    }
  }
  const windowEnds = Date.parse(target.switchedAt ?? iso(w.now)) + policy.verificationWindowHours * HOUR_MS;
  if (failedIn) {
    failSwitch(w, target, 'SesVerificationFailed', `SES ${failedIn} reports FAILED for ${target.selector}`);
    return true;
  }
  if (!allSuccess && w.now.getTime() > windowEnds) {
    failSwitch(
      w,
      target,
      'VerificationWindowExpired',
      `SES did not report SUCCESS for ${target.selector} within ${policy.verificationWindowHours} h`,
    );
    return true;
  }
  if (allSuccess) promote(w, target);
  return true;
}

/** Phase 7 done everywhere: the target is the signing key; the previous one starts its grace. */
function promote(w: Working, target: KeyEntry): void {
  const previous = w.active;
  const emergency = w.rotation?.kind === 'emergency';
  w.transition(
    target.selector,
    'active',
    'SigningVerified',
    `SES reports SUCCESS for ${target.selector} in ${w.spec.regions.join(', ')}`,
    7,
  );
  if (previous) {
    if (previous.revokedAt) {
      w.transition(
        previous.selector,
        'revoked',
        'EmergencyRevocation',
        `${previous.selector} was revoked; its key will be destroyed now`,
        8,
        {
          retiringSince: iso(w.now),
          removalRequestedAt: previous.revokedAt,
        },
      );
    } else {
      // Emergency: no grace. Otherwise mail signed moments ago must still verify.
      const since = emergency ? new Date(w.now.getTime() - graceMs(w.spec.policy)) : w.now;
      w.transition(
        previous.selector,
        'retiring',
        emergency ? 'EmergencyRotation' : 'Superseded',
        emergency
          ? `${previous.selector} retired at once (emergency)`
          : `${previous.selector} stays published until ${iso(new Date(w.now.getTime() + graceMs(w.spec.policy)))} (grace)`,
        8,
        { retiringSince: iso(since) },
      );
    }
  }
  if (w.rotation) {
    w.rotation = undefined;
    w.step({
      kind: 'clear-request',
      which: 'rotation',
      reason: 'RotationComplete',
      message: 'rotation complete',
      phase: 7,
    });
  }
  w.step({
    kind: 'notify',
    notification: 'rotated',
    reason: 'SigningVerified',
    message: `${w.spec.domain} now signs with ${target.selector}`,
    phase: 7,
  });
}

/** SES FAILED or the window ran out: back to the active key where it is still published. */
function failSwitch(w: Working, target: KeyEntry, reason: string, message: string): void {
  const active = w.active;
  const canRestore =
    active !== undefined && active.vaultRef !== '' && !active.revokedAt && served(w, active.selector);
  if (canRestore) {
    for (const region of regionsUsing(w, target.selector)) {
      w.step({
        kind: 'ses-put',
        region,
        selector: active.selector,
        reason: 'Rollback',
        message: `SES ${region}: back to ${active.selector}`,
        phase: 6,
      });
    }
  }
  w.transition(
    target.selector,
    'failed',
    reason,
    `${message}; ${canRestore ? `rolled back to ${active?.selector}` : 'no published previous key to roll back to'}`,
    6,
    {
      retiringSince: iso(w.now),
    },
  );
  w.step({ kind: 'notify', notification: 'failure', reason, message, phase: 6 });
}

/** Steady state: SES everywhere on the active key with signing on; repair what drifted. */
function keepSesOnActive(w: Working, usable: Set<string>): void {
  const active = w.active;
  if (!active) return;
  for (const region of w.spec.regions) {
    const view = sesView(w, region);
    if (!usable.has(region) || !view) continue;
    const held = sesSelector(view);
    if (held !== active.selector) {
      if (active.vaultRef === '' || !served(w, active.selector)) {
        w.warn({
          code: 'SesDrift',
          message: `SES ${region} holds ${held ?? 'no BYODKIM selector'}, not ${active.selector}, and ${active.selector} cannot be restored now`,
          region,
        });
        continue;
      }
      w.step({
        kind: view.exists ? 'ses-put' : 'ses-create',
        region,
        selector: active.selector,
        reason: 'SesDrift',
        message: `SES ${region} holds ${held ?? 'no BYODKIM selector'}; restoring ${active.selector}`,
        phase: 6,
      } as Step);
    } else if (!view.signingEnabled) {
      w.step({
        kind: 'ses-enable',
        region,
        reason: 'SigningDisabled',
        message: `SES ${region}: signing was off; enabling it`,
        phase: 7,
      });
    } else if (view.status === 'FAILED' && active.vaultRef !== '' && served(w, active.selector)) {
      // SES's FAILED is final until the next put; the record is served everywhere, so ask again.
      w.step({
        kind: 'ses-put',
        region,
        selector: active.selector,
        reason: 'SesFailedRetry',
        message: `SES ${region} reports FAILED for ${active.selector}, whose record every nameserver serves; asking SES to verify again`,
        phase: 6,
      });
    } else if (view.status === 'FAILED' || view.status === 'TEMPORARY_FAILURE') {
      w.warn({
        code: 'SesStatusDegraded',
        message: `SES ${region} reports ${view.status} for the active selector ${active.selector}`,
        region,
        selector: active.selector,
      });
    }
  }
}

/** Drift: the active key's record deleted or changed in DNS. Re-publish where byodkim publishes. */
function watchActiveRecord(w: Working): void {
  const active = w.active;
  if (!active || active.revokedAt) return;
  const result = w.obs.dns[active.selector];
  if (served(w, active.selector)) return;
  if (!cnameInPlace(w.spec, active.selector, result)) warnCname(w, active.selector, result);
  w.warn({
    code: 'ActiveRecordDrift',
    message: `the record of active selector ${active.selector} is not served everywhere (${lagging(result)})`,
    selector: active.selector,
  });
  if (w.spec.dnsMode === 'automatic') {
    w.change({
      action: 'upsert',
      name: publishedRecordName(w.spec, active.selector),
      value: buildDkimRecordValue(active.publicKey),
      ttl: w.spec.ttl,
      selector: active.selector,
      reason: 'ActiveRecordDrift',
    });
  }
}

/** Phase 8: after the grace period and with no region using it, remove the record, then destroy the key. */
function retireOldKeys(w: Working, usable: Set<string>): void {
  const grace = graceMs(w.spec.policy);
  for (const key of w.withStatus('retiring', 'failed', 'revoked')) {
    if (key.destroyedAt) continue;
    const since = Date.parse(key.retiringSince ?? key.statusSince);
    const safeAt = new Date(since + grace);
    const inUse = regionsUsing(w, key.selector);
    const unknownRegions = w.spec.regions.filter((r) => !usable.has(r) && !w.obs.ses[r]?.ok);
    if (inUse.length > 0 && key.status !== 'revoked') {
      // Grace counts from the moment no region signs with the key any more.
      key.retiringSince = iso(w.now);
      w.step({
        kind: 'transition',
        selector: key.selector,
        to: key.status,
        set: { retiringSince: key.retiringSince },
        reason: 'StillInUse',
        message: `${key.selector} is still used by SES in ${inUse.join(', ')}; its grace period has not started`,
        phase: 8,
      });
      continue;
    }
    if (key.status !== 'revoked' && !key.removalRequestedAt) {
      // Manual DNS: hand the removal over early, dated; automatic: remove when safe.
      const requestNow = w.spec.dnsMode === 'manual' ? true : w.now >= safeAt;
      if (!requestNow || inUse.length > 0 || unknownRegions.length > 0) continue;
      // The publish step records removalRequestedAt once DNS (or the DNS team) has the request.
      key.removalRequestedAt = iso(w.now);
      w.change({
        action: 'delete',
        name: publishedRecordName(w.spec, key.selector),
        value: buildDkimRecordValue(key.publicKey),
        ttl: w.spec.ttl,
        selector: key.selector,
        reason: 'GraceOver',
        notBefore: iso(safeAt > w.now ? safeAt : w.now),
      });
      continue;
    }
    if (
      key.status === 'revoked' ||
      (w.now >= safeAt && isGone(w.obs.dns[key.selector]) && inUse.length === 0)
    ) {
      w.step({
        kind: 'destroy-key',
        selector: key.selector,
        reason: 'Retired',
        message: `destroying the private key of ${key.selector}`,
        phase: 8,
      });
      const set = { destroyedAt: iso(w.now) };
      Object.assign(key, set);
      if (key.status === 'retiring')
        w.transition(
          key.selector,
          'retired',
          'Retired',
          `${key.selector} retired: record gone everywhere, key destroyed`,
          8,
          set,
        );
      else
        w.step({
          kind: 'transition',
          selector: key.selector,
          to: key.status,
          set,
          reason: 'Retired',
          message: `${key.selector}: key destroyed`,
          phase: 8,
        });
    } else if (w.now >= safeAt && !isGone(w.obs.dns[key.selector])) {
      w.wait({
        reason: 'RecordRemovalPending',
        message: `waiting for the record of ${key.selector} to disappear (${stillServing(w.obs.dns[key.selector])})`,
        outside: true,
        selector: key.selector,
      });
    }
  }
}

/** Phase 3: keep the next key (and `standby` more) generated; replace standbys that aged out. */
function ensureFutureKeys(w: Working): void {
  const policy = w.spec.policy;
  for (const key of w.withStatus(...FUTURE)) {
    if (key.switchedAt === undefined && renewalDueAt(key, policy) <= w.now) {
      w.transition(
        key.selector,
        'retiring',
        'StandbyAgedOut',
        `${key.selector} would be due for renewal as soon as used; replacing it`,
        3,
        {
          // A standby never signed, so it needs no grace, unless SES is seen using it (after a crash mid-switch).
          retiringSince: iso(
            regionsUsing(w, key.selector).length > 0 ? w.now : new Date(w.now.getTime() - graceMs(policy)),
          ),
        },
      );
    }
  }
  // While SES is being switched, wait: the next key is made when the switch completes, so
  // its record and the old key's removal reach DNS in one batch (one hand-off per cycle).
  if (w.switching) return;
  const future = w.withStatus(...FUTURE);
  const due = rotationDue(w);
  // Onboarding needs one key to activate besides the standbys; later, a due rotation needs one.
  const wanted = Math.max(w.active ? policy.standby : policy.standby + 1, due ? 1 : 0);
  let missing = Math.max(0, wanted - future.length);
  if (missing === 0) return;
  if (w.spec.delegation) {
    const free = freeRingSelectors(w.spec.selectorPrefix, w.spec.delegation, w.keys, w.now).length;
    if (free < missing) {
      w.wait({
        reason: 'SelectorRingBusy',
        message: `${free} of ${w.spec.delegation.selectors} delegated selector names free for ${missing} new key(s); names come free after retirement plus a ${w.spec.delegation.coolDownDays}-day cool-down`,
        outside: false,
      });
    }
    missing = Math.min(missing, free);
    if (missing === 0) return;
  }
  const lastFailure = w.withStatus('failed').sort((a, b) => b.statusSince.localeCompare(a.statusSince))[0];
  if (
    lastFailure &&
    w.now.getTime() - Date.parse(lastFailure.statusSince) < FAILURE_BACKOFF_MS &&
    future.length === 0
  ) {
    w.wait({
      reason: 'FailureBackoff',
      message: `${lastFailure.selector} failed at ${lastFailure.statusSince}; next attempt after ${iso(new Date(Date.parse(lastFailure.statusSince) + FAILURE_BACKOFF_MS))}`,
      outside: false,
    });
    return;
  }
  for (let i = 0; i < missing; i++) {
    const why =
      due && i === 0 && future.length === 0
        ? due
        : { reason: 'StandbyBelowTarget', message: `keeping ${policy.standby} standby key(s)` };
    w.step({
      kind: 'generate-key',
      reason: why.reason,
      message: `${why.message}: generating a new ${policy.keyBits}-bit key`,
      phase: 3,
    });
  }
}

/** Phase 4: every staged key (including the ones generated in this pass) goes out in one batch. */
function publishStaged(w: Working): void {
  const staged = w.withStatus('staged');
  const generated = w.steps.filter((s) => s.kind === 'generate-key').length;
  if (staged.length === 0 && generated === 0) return;
  if (w.handOffPending) return; // one request at a time to the DNS team
  for (const key of staged) {
    w.change({
      action: 'upsert',
      name: publishedRecordName(w.spec, key.selector),
      value: buildDkimRecordValue(key.publicKey),
      ttl: w.spec.ttl,
      selector: key.selector,
      reason: 'Publish',
    });
  }
}

/** One DNS batch per pass: adds, replacements and removals together (one hand-off for a DNS team). */
function flushDnsChanges(w: Working): void {
  const generated = w.steps.filter((s) => s.kind === 'generate-key').length;
  if (w.pendingChanges.length === 0 && generated === 0) return;
  if (w.handOffPending && w.spec.dnsMode === 'manual') {
    w.wait({
      reason: 'DnsHandOffPending',
      message: `${w.pendingChanges.length} more DNS change(s) wait until the current hand-off is applied`,
      outside: true,
    });
    return;
  }
  const adds = w.pendingChanges.filter((c) => c.action === 'upsert').length;
  const removes = w.pendingChanges.length - adds;
  w.step({
    kind: 'publish',
    changes: [...w.pendingChanges],
    reason: w.spec.dnsMode === 'manual' ? 'HandOff' : 'Publish',
    message:
      w.spec.dnsMode === 'manual'
        ? `hand the DNS team ${adds + generated} record(s) to add and ${removes} to remove`
        : `publish ${adds + generated} record(s), remove ${removes}`,
    phase: removes > 0 && adds + generated === 0 ? 8 : 4,
  });
}

/** What the domain waits for next when nothing is due now: shown by `status` and `plan`. */
function nextEvent(w: Working): { at: string; what: string } | undefined {
  const events: Array<{ at: Date; what: string }> = [];
  const active = w.active;
  if (active && !w.switching)
    events.push({ at: rotationDueAt(active, w.spec.policy), what: `rotate ${active.selector}` });
  for (const key of w.withStatus('retiring', 'failed')) {
    if (key.destroyedAt) continue;
    const at = new Date(Date.parse(key.retiringSince ?? key.statusSince) + graceMs(w.spec.policy));
    events.push({ at, what: `retire ${key.selector}` });
  }
  const soonest = events.sort((a, b) => a.at.getTime() - b.at.getTime())[0];
  return soonest ? { at: iso(soonest.at), what: soonest.what } : undefined;
}
