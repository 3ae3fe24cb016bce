/**
 * What the canary's steps do to the state (called by `applyStep`, the one way state changes):
 * a sent canary is remembered as in flight; a judged one records what real mail showed per
 * region and, the first time a canary is signed with a switch's new selector, closes the gap
 * measured from real mail. Routine judgments write no history (one a day per region would
 * crowd it); surprises, lost canaries and the measured gap do.
 */
import {
  type CanaryRegion,
  type CanaryState,
  type DomainState,
  type HistoryEntry,
  withHistory,
} from '../state.js';
import type { ApplyContext } from './apply-step.js';
import type { StepOf } from './plan.js';

/** Judged ids kept so a canary left in the inbox (retention) is judged once. */
const JUDGED_KEPT = 50;

type CanaryStep = StepOf<'send-canary' | 'canary-judged' | 'canary-lost' | 'discard-canary'>;

function withRegion(
  state: DomainState,
  region: string,
  update: (r: CanaryRegion) => CanaryRegion,
  extra: Partial<CanaryState> = {},
): DomainState {
  const canary = state.canary ?? { regions: {} };
  return {
    ...state,
    canary: {
      ...canary,
      ...extra,
      regions: { ...canary.regions, [region]: update(canary.regions[region] ?? {}) },
    },
  };
}

function withoutPending(r: CanaryRegion, id: string): CanaryRegion {
  const pending = (r.pending ?? []).filter((p) => p.id !== id);
  const { pending: _old, ...rest } = r;
  return pending.length > 0 ? { ...rest, pending } : rest;
}

export function applyCanaryStep(state: DomainState, step: CanaryStep, ctx: ApplyContext): DomainState {
  const entry = (fields: Omit<HistoryEntry, 'at' | 'actor'>): HistoryEntry => ({
    at: ctx.at,
    actor: ctx.actor,
    ...fields,
  });
  switch (step.kind) {
    case 'send-canary':
      return withRegion(state, step.region, (r) => ({
        ...r,
        lastSentAt: ctx.at,
        pending: [...(r.pending ?? []), { id: step.id, sentAt: ctx.at }],
      }));
    case 'canary-lost':
      return withHistory(
        withRegion(state, step.region, (r) => withoutPending(r, step.id)),
        entry({ reason: step.reason, message: step.message }),
      );
    case 'discard-canary':
      return state;
    case 'canary-judged': {
      const judged = [...(state.canary?.judged ?? []), step.id].slice(-JUDGED_KEPT);
      let next = withRegion(
        state,
        step.region,
        (r) => {
          const newer = !r.lastJudged || Date.parse(step.sentAt) >= Date.parse(r.lastJudged.sentAt);
          const signedNewer =
            step.signed &&
            step.selector !== undefined &&
            (!r.lastSigned || Date.parse(step.sentAt) >= Date.parse(r.lastSigned.sentAt));
          return {
            ...withoutPending(r, step.id),
            ...(newer
              ? {
                  lastJudged: {
                    id: step.id,
                    sentAt: step.sentAt,
                    ...(step.arrivedAt ? { arrivedAt: step.arrivedAt } : {}),
                    signed: step.signed,
                    ...(step.selector ? { selector: step.selector } : {}),
                    dmarcPass: step.dmarcPass,
                    pass: step.pass,
                    ...(step.failing ? { failing: step.failing } : {}),
                    expectation: step.expectation,
                  },
                }
              : {}),
            ...(signedNewer && step.selector
              ? { lastSigned: { selector: step.selector, sentAt: step.sentAt } }
              : {}),
          };
        },
        { judged },
      );
      const last = next.lastSwitch;
      const put = last?.regions[step.region];
      if (step.closesGap && last && put && !put.canarySignedAt) {
        next = {
          ...next,
          lastSwitch: {
            ...last,
            regions: { ...last.regions, [step.region]: { ...put, canarySignedAt: step.sentAt } },
          },
        };
      }
      const noteworthy =
        step.closesGap || step.expectation === 'unexpected-selector' || step.expectation === 'unsigned';
      return noteworthy
        ? withHistory(
            next,
            entry({
              ...(step.selector ? { selector: step.selector } : {}),
              reason: step.reason,
              message: step.message,
            }),
          )
        : next;
    }
  }
}
