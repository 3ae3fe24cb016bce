/**
 * The one way a domain's state changes: `applyStep` takes a state and a step (with what
 * its side effect produced) and returns the next state, history included. decide uses it
 * on its working copy, with the outcomes it expects; the engine's interpreter uses it with
 * the outcomes it got. What a step means for the state is written here and nowhere else.
 */

import { KEY_MISMATCH, KEY_MISSING } from '../../errors.js';
import type { DnsRecordChange } from '../dns-change.js';
import type { KeyBits } from '../key.js';
import { buildDkimRecordValue, REVOKED_RECORD_VALUE } from '../record.js';
import {
  type Actor,
  type DomainState,
  type HistoryEntry,
  type Intent,
  type KeyEntry,
  type KeyProblem,
  withHistory,
} from '../state.js';
import { deferredReason, failedReason, Reason, STEP_KINDS } from '../vocabulary.js';
import { applyCanaryStep } from './canary-state.js';
import type { PlannedDnsChange, Step } from './plan.js';

/** What a step's side effect produced, where the state needs it. */
export interface StepOutcome {
  /** generate-key: the new key's public half and where the vault keeps it. */
  generated?: { publicKey: string; bits: KeyBits; vaultRef: string };
  /** publish: changed by byodkim, or handed to the DNS team. */
  published?: 'applied' | 'handed-off';
}

export interface ApplyContext {
  at: string;
  actor: Actor;
  outcome?: StepOutcome;
}

function updateKey(state: DomainState, selector: string, update: (key: KeyEntry) => void): DomainState {
  return {
    ...state,
    keys: state.keys.map((k) => {
      if (k.selector !== selector) return k;
      const copy = { ...k };
      update(copy);
      return copy;
    }),
  };
}

function entry(ctx: ApplyContext, fields: Omit<HistoryEntry, 'at' | 'actor'>): HistoryEntry {
  return { at: ctx.at, actor: ctx.actor, ...fields };
}

function withoutIntent(state: DomainState): DomainState {
  if (!state.intent) return state;
  const { intent: _done, ...rest } = state;
  return rest;
}

/** The next state after `step` ran with `ctx.outcome`. Pure. */
export function applyStep(state: DomainState, step: Step, ctx: ApplyContext): DomainState {
  const next = STEP_KINDS[step.kind].creates ? withoutIntent(state) : state;
  switch (step.kind) {
    case 'generate-key': {
      const generated = ctx.outcome?.generated;
      const key: KeyEntry = {
        selector: step.selector,
        bits: generated?.bits ?? step.bits,
        publicKey: generated?.publicKey ?? '',
        vaultRef: generated?.vaultRef ?? '',
        origin: 'generated',
        createdAt: ctx.at,
        notAfter: step.notAfter,
        status: 'staged',
        statusSince: ctx.at,
      };
      // A delegated ring name is reused: the retired entry that last used it leaves the
      // key list (its story stays in the history), so selectors stay unique in the state.
      const keys = [...next.keys.filter((k) => k.selector !== step.selector), key];
      return withHistory(
        { ...next, keys },
        entry(ctx, {
          selector: step.selector,
          to: 'staged',
          reason: step.reason,
          message: `generated ${key.bits}-bit key ${step.selector}${key.vaultRef ? `, stored in ${key.vaultRef}` : ''}`,
        }),
      );
    }
    case 'take-in-key': {
      const key: KeyEntry = {
        selector: step.selector,
        bits: step.bits,
        publicKey: step.publicKey,
        vaultRef: step.vaultRef,
        origin: 'generated',
        createdAt: step.createdAt,
        notAfter: step.notAfter,
        status: step.status,
        statusSince: ctx.at,
        ...(step.retiringSince ? { retiringSince: step.retiringSince } : {}),
      };
      return withHistory(
        { ...next, keys: [...next.keys.filter((k) => k.selector !== step.selector), key] },
        entry(ctx, { selector: step.selector, to: step.status, reason: step.reason, message: step.message }),
      );
    }
    case 'publish':
      return applyPublished(next, step.changes, ctx.outcome?.published ?? 'applied', ctx);
    case 'set-streak':
      return updateKey(next, step.selector, (k) => {
        k.verifyStreak = step.streak;
        if (step.seenAt !== undefined) k.lastSeenAt = step.seenAt;
        else delete k.lastSeenAt;
      });
    case 'transition': {
      const before = next.keys.find((k) => k.selector === step.selector);
      if (!before) return next;
      const changed = updateKey(next, step.selector, (k) => {
        for (const field of step.unset ?? []) delete k[field];
        Object.assign(k, step.set ?? {});
        if (k.status !== step.to) {
          k.status = step.to;
          k.statusSince = ctx.at;
        }
      });
      return withHistory(
        changed,
        entry(ctx, {
          selector: step.selector,
          from: before.status,
          to: step.to,
          reason: step.reason,
          message: step.message,
        }),
      );
    }
    case 'ses-put':
    case 'ses-create': {
      // Every put restarts SES's verification: a new gap starts in that region.
      const last = next.lastSwitch?.selector === step.selector ? next.lastSwitch.regions : {};
      const lastSwitch = { selector: step.selector, regions: { ...last, [step.region]: { putAt: ctx.at } } };
      return withHistory(
        { ...next, lastSwitch },
        entry(ctx, { selector: step.selector, reason: step.reason, message: step.message }),
      );
    }
    case 'signing-seen': {
      const last = next.lastSwitch;
      const region = last?.selector === step.selector ? last.regions[step.region] : undefined;
      if (!last || !region) return next;
      const seen = {
        ...region,
        successSeenAt: ctx.at,
        ...(step.sesVerifiedAt ? { sesVerifiedAt: step.sesVerifiedAt } : {}),
      };
      return withHistory(
        { ...next, lastSwitch: { ...last, regions: { ...last.regions, [step.region]: seen } } },
        entry(ctx, { selector: step.selector, reason: step.reason, message: step.message }),
      );
    }
    case 'ses-seen':
      // Not in the history: a read is not an event; the state keeps only the last one.
      return { ...next, sesSeen: { at: ctx.at, regions: step.regions } };
    case 'raise-alarm':
      return withHistory(
        { ...next, alarms: { ...next.alarms, [alarmKey(step)]: ctx.at } },
        entry(ctx, {
          ...(step.selector ? { selector: step.selector } : {}),
          reason: step.reason,
          message: step.message,
        }),
      );
    case 'clear-alarm': {
      const { [alarmKey(step)]: _cleared, ...alarms } = next.alarms ?? {};
      const { alarms: _all, ...rest } = next;
      return withHistory(
        Object.keys(alarms).length > 0 ? { ...rest, alarms } : rest,
        entry(ctx, { reason: step.reason, message: step.message }),
      );
    }
    case 'ses-enable':
      return withHistory(next, entry(ctx, { reason: step.reason, message: step.message }));
    case 'destroy-key':
      return updateKey(next, step.selector, (k) => {
        k.destroyedAt = ctx.at;
      });
    case 'send-canary':
    case 'canary-judged':
    case 'canary-lost':
    case 'discard-canary':
      return applyCanaryStep(next, step, ctx);
    case 'hand-off-done': {
      const { handOff: _applied, ...rest } = next;
      return withHistory(rest, entry(ctx, { reason: step.reason, message: step.message }));
    }
    case 'clear-request': {
      if (step.which === 'rotation') {
        const { rotation: _done, ...rest } = next;
        return rest;
      }
      const { rollback: _done, ...rest } = next;
      return rest;
    }
    case 'clear-intent':
      return withHistory(withoutIntent(next), entry(ctx, { reason: step.reason, message: step.message }));
    case 'notify':
      return next;
    case 'request': {
      const requested = {
        ...next,
        ...(step.rotation ? { rotation: step.rotation } : {}),
        ...(step.rollback ? { rollback: step.rollback } : {}),
      };
      return withHistory(
        requested,
        entry(ctx, {
          ...(step.selector ? { selector: step.selector } : {}),
          reason: step.reason,
          message: step.message,
        }),
      );
    }
    case 'adopt': {
      if (!step.key)
        return withHistory(
          { ...next, easyDkimTakeover: true },
          entry(ctx, { reason: step.reason, message: step.message }),
        );
      const key: KeyEntry = {
        selector: step.key.selector,
        bits: step.key.bits,
        publicKey: step.key.publicKey,
        vaultRef: ctx.outcome?.generated?.vaultRef ?? step.key.vaultRef,
        origin: 'adopted',
        createdAt: step.key.createdAt,
        notAfter: step.key.notAfter,
        status: 'active',
        statusSince: ctx.at,
        verifyStreak: step.key.verifyStreak,
      };
      return withHistory(
        { ...next, keys: [key], ...(step.rotation ? { rotation: step.rotation } : {}) },
        entry(ctx, { selector: key.selector, to: 'active', reason: step.reason, message: step.message }),
      );
    }
  }
}

/** How an alarm is remembered: `<code>@<region>`. */
export function alarmKey(alarm: { code: string; region?: string }): string {
  return `${alarm.code}@${alarm.region ?? ''}`;
}

function applyPublished(
  initial: DomainState,
  changes: readonly PlannedDnsChange[],
  outcome: 'applied' | 'handed-off',
  ctx: ApplyContext,
): DomainState {
  let state = initial;
  const history: HistoryEntry[] = [];
  for (const change of changes) {
    const key = state.keys.find((k) => k.selector === change.selector);
    if (!key) continue;
    if (change.action === 'delete') {
      state = updateKey(state, change.selector, (k) => {
        k.removalRequestedAt = ctx.at;
      });
      history.push(
        entry(ctx, {
          selector: change.selector,
          reason: Reason.RemovalRequested,
          message: `${outcome === 'applied' ? 'removed' : 'asked the DNS team to remove'} ${change.name}${change.notBefore ? ` (not before ${change.notBefore})` : ''}`,
        }),
      );
    } else if (change.record === 'revoked') {
      state = updateKey(state, change.selector, (k) => {
        k.revokedAt = ctx.at;
      });
      history.push(
        entry(ctx, {
          selector: change.selector,
          reason: Reason.EmergencyRevocation,
          message: `revoked ${change.name} (empty p=)`,
        }),
      );
    } else if (key.status !== 'staged') {
      state = updateKey(state, change.selector, (k) => {
        k.lastPublishedAt = ctx.at;
      });
      history.push(
        entry(ctx, {
          selector: change.selector,
          reason: change.reason,
          message: `published ${change.name} again (${change.reason})`,
        }),
      );
    } else {
      state = updateKey(state, change.selector, (k) => {
        k.status = 'published';
        k.statusSince = ctx.at;
        k.lastPublishedAt = ctx.at;
        k.verifyStreak = 0;
      });
      history.push(
        entry(ctx, {
          selector: change.selector,
          from: 'staged',
          to: 'published',
          reason: outcome === 'applied' ? Reason.Published : Reason.HandedOff,
          message: `${outcome === 'applied' ? 'published' : 'handed to the DNS team'}: ${change.name}`,
        }),
      );
    }
  }
  // Only additions block the next hand-off: removals are dated and tracked per key.
  const adds = resolveDnsChanges(state, changes).filter((c) => c.action === 'upsert');
  if (outcome === 'handed-off' && adds.length > 0) {
    state = {
      ...state,
      handOff: {
        sentAt: ctx.at,
        add: adds.map((c) => ({ name: c.name, value: c.value })),
        remove: resolveDnsChanges(state, changes)
          .filter((c) => c.action === 'delete')
          .map((c) => ({ name: c.name, value: c.value })),
      },
    };
  }
  return withHistory(state, ...history);
}

/**
 * The records a planned batch means, with their whole values, as of `state` (so a key
 * generated earlier in the same pass is published with its real public key).
 */
export function resolveDnsChanges(
  state: DomainState,
  changes: readonly PlannedDnsChange[],
): DnsRecordChange[] {
  return changes.map((change) => {
    const key = state.keys.find((k) => k.selector === change.selector);
    const value =
      change.record === 'revoked' ? REVOKED_RECORD_VALUE : buildDkimRecordValue(key?.publicKey ?? '');
    return {
      action: change.action,
      name: change.name,
      value,
      ttl: change.ttl,
      selector: change.selector,
      reason: change.reason,
      ...(change.notBefore ? { notBefore: change.notBefore } : {}),
    };
  });
}

/** The write-ahead intent of a step that creates something, or undefined for other steps. */
export function intentOf(step: Step, at: string): Intent | undefined {
  switch (step.kind) {
    case 'generate-key':
      return { kind: 'generate-key', at, selectors: [step.selector] };
    case 'publish':
      return { kind: 'publish', at, selectors: [...new Set(step.changes.map((c) => c.selector))] };
    case 'ses-put':
    case 'ses-create':
      return { kind: step.kind, at, selectors: [step.selector], region: step.region };
    case 'adopt':
      return { kind: 'adopt', at, selectors: step.key ? [step.key.selector] : [] };
    default:
      return undefined;
  }
}

/** The state as saved before `step`'s side effect: its intent recorded. */
export function withIntent(state: DomainState, step: Step, at: string): DomainState {
  const intent = intentOf(step, at);
  return intent ? { ...state, intent } : state;
}

/** A step that failed: its failure in the history, and what the failure tells about a key. */
export function recordFailure(
  state: DomainState,
  step: Step,
  failure: { code?: string; message: string },
  ctx: Pick<ApplyContext, 'at' | 'actor'>,
): DomainState {
  const selector = 'selector' in step ? step.selector : undefined;
  // Whether the effect happened is for the next pass to see (an orphan key is swept, SES is read).
  let next = withoutIntent(state);
  const problem = keyProblemOf(failure.code);
  if (problem && selector) {
    next = updateKey(next, selector, (k) => {
      k.keyProblem = { code: problem, at: ctx.at };
    });
  }
  return withHistory(
    next,
    entry(
      { ...ctx },
      {
        ...(selector ? { selector } : {}),
        reason: failedReason(step.reason),
        message: `${step.message}: ${failure.message}`,
      },
    ),
  );
}

/**
 * The state after a step the service's API budget had no room for (throttled, or past the
 * run's deadline): the intent is dropped (the effect did not happen; the next pass reads the
 * world again) and the history says it was deferred. Nothing is marked failed.
 */
export function recordDeferral(
  state: DomainState,
  step: Step,
  deferral: { message: string },
  ctx: Pick<ApplyContext, 'at' | 'actor'>,
): DomainState {
  const selector = 'selector' in step ? step.selector : undefined;
  return withHistory(
    withoutIntent(state),
    entry(
      { ...ctx },
      {
        ...(selector ? { selector } : {}),
        reason: deferredReason(step.reason),
        message: `${step.message}: deferred to the next pass (${deferral.message})`,
      },
    ),
  );
}

function keyProblemOf(code: string | undefined): KeyProblem | undefined {
  if (code === KEY_MISMATCH) return Reason.KeyMismatch;
  if (code === KEY_MISSING) return Reason.KeyMissing;
  return undefined;
}
