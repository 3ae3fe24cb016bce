/**
 * What a pass did, told the same way by every front end: the CLI's table and JSON, the
 * Lambda's response and metrics, the sandbox's log. Built from the step results the
 * interpreter returns, never reconstructed from the plan and the order of events.
 */
import type { Step } from '../domain/lifecycle/index.js';
import type { DomainState } from '../domain/state.js';
import { isReported, type Phase, type StepKind } from '../domain/vocabulary.js';
import type { StepResult } from './execute.js';
import type { DomainResult } from './reconcile.js';

/** One step as reported: what was planned, and what became of it (apply only). */
export interface StepReport {
  kind: StepKind;
  phase: Phase;
  reason: string;
  message: string;
  /** Absent for a plan that was not carried out (`plan`, `status`). */
  status?: StepResult['status'];
  error?: string;
  selector?: string;
  region?: string;
}

function reportOf(step: Step, result?: StepResult): StepReport {
  return {
    kind: step.kind,
    phase: step.phase,
    reason: step.reason,
    message: step.message,
    ...(result ? { status: result.status } : {}),
    ...(result?.error ? { error: result.error } : {}),
    ...('selector' in step && step.selector ? { selector: step.selector } : {}),
    ...('region' in step ? { region: step.region } : {}),
  };
}

/** Each step of the pass: the results when the plan was carried out, else the plan. */
export function stepReports(result: DomainResult): StepReport[] {
  if (result.steps)
    return result.steps.filter((r) => isReported(r.step.kind)).map((r) => reportOf(r.step, r));
  return (result.plan?.steps ?? []).filter((s) => isReported(s.kind)).map((s) => reportOf(s));
}

/** Keys generated in the pass, in order. */
export function generatedKeys(result: DomainResult): Array<{ selector: string; bits: number }> {
  return (result.steps ?? []).flatMap((r) => (r.generated ? [r.generated] : []));
}

/** Keys that became the signing key in the pass (the promotion was carried out). */
export function rotationsCompleted(result: DomainResult): number {
  return (result.steps ?? []).filter(
    (r) => r.status === 'done' && r.step.kind === 'transition' && r.step.to === 'active',
  ).length;
}

/** One line: the first failure, else what the domain waits for, else how much was done. */
export function domainSummary(result: DomainResult): string {
  if (result.errors.length > 0) return result.errors.join('; ');
  const deferred = result.steps?.find((r) => r.status === 'deferred');
  if (deferred) return `${deferred.step.message}: deferred to the next pass (no room in the SES budget)`;
  const waiting = result.plan?.waits.find((w) => w.outside)?.message;
  if (waiting) return waiting;
  const done = (result.steps ?? []).filter((r) => r.status === 'done').length;
  const planned = result.plan?.steps.length ?? 0;
  if (result.steps) return done > 0 ? `${done} step(s) done` : 'nothing to do';
  return planned > 0 ? `${planned} step(s)` : 'nothing to do';
}

/** One region of the last switch as reported: the gap is null while SES has not been seen signing. */
export interface SwitchGap {
  putAt: string;
  successSeenAt: string | null;
  /** Seconds from the put to the first pass that saw SUCCESS: an upper bound set by how often byodkim looked. */
  gapSeconds: number | null;
  /** SES's own LastSuccessTimestamp when it verified after the put, if it said. */
  sesVerifiedAt?: string;
  /** The first canary SES signed with the new selector (sent at), when a canary is configured. */
  canarySignedAt?: string;
  /** Seconds from the put to that canary: the gap as real mail saw it, at most one canary interval late. */
  canaryGapSeconds?: number;
}

export interface LastSwitchReport {
  selector: string;
  regions: Record<string, SwitchGap>;
}

/** The last switch of a domain, per region (`status --output json`, the Lambda's metrics, the sandbox). */
export function lastSwitchReport(state: DomainState | undefined): LastSwitchReport | undefined {
  const last = state?.lastSwitch;
  if (!last) return undefined;
  const regions: Record<string, SwitchGap> = {};
  for (const [region, r] of Object.entries(last.regions)) {
    regions[region] = {
      putAt: r.putAt,
      successSeenAt: r.successSeenAt ?? null,
      gapSeconds: r.successSeenAt
        ? Math.round((Date.parse(r.successSeenAt) - Date.parse(r.putAt)) / 1000)
        : null,
      ...(r.sesVerifiedAt ? { sesVerifiedAt: r.sesVerifiedAt } : {}),
      ...(r.canarySignedAt
        ? {
            canarySignedAt: r.canarySignedAt,
            canaryGapSeconds: Math.round((Date.parse(r.canarySignedAt) - Date.parse(r.putAt)) / 1000),
          }
        : {}),
    };
  }
  return { selector: last.selector, regions };
}

/** What real mail last showed per region (`status`): the selector it was signed with and when. */
export interface CanaryRegionReport {
  lastSigned: { selector: string; sentAt: string } | null;
  lastJudged: {
    id: string;
    sentAt: string;
    expectation: string;
    dmarcPass: boolean;
    failing?: string;
  } | null;
  inFlight: number;
}

export function canaryReport(state: DomainState | undefined): Record<string, CanaryRegionReport> | undefined {
  const regions = state?.canary?.regions;
  if (!regions) return undefined;
  const out: Record<string, CanaryRegionReport> = {};
  for (const [region, r] of Object.entries(regions)) {
    const j = r.lastJudged;
    out[region] = {
      lastSigned: r.lastSigned ?? null,
      lastJudged: j
        ? {
            id: j.id,
            sentAt: j.sentAt,
            expectation: j.expectation,
            dmarcPass: j.dmarcPass,
            ...(j.failing ? { failing: j.failing } : {}),
          }
        : null,
      inFlight: r.pending?.length ?? 0,
    };
  }
  return out;
}

/** Canaries judged in this pass (the Lambda's CanarySigned, CanaryDmarcPass, CanaryLatencySeconds). */
export function canariesJudged(
  result: DomainResult,
): Array<{ region: string; signed: boolean; dmarcPass: boolean; latencySeconds?: number }> {
  return (result.steps ?? []).flatMap((r) => {
    if (r.status !== 'done' || r.step.kind !== 'canary-judged') return [];
    const s = r.step;
    const latency = s.arrivedAt ? (Date.parse(s.arrivedAt) - Date.parse(s.sentAt)) / 1000 : undefined;
    return [
      {
        region: s.region,
        signed: s.signed,
        dmarcPass: s.dmarcPass,
        ...(latency !== undefined && latency >= 0 ? { latencySeconds: latency } : {}),
      },
    ];
  });
}

/** Gaps closed in this pass, per region (the Lambda's SigningGapSeconds metric). */
export function gapsClosed(
  result: DomainResult,
): Array<{ region: string; selector: string; gapSeconds: number }> {
  const report = lastSwitchReport(result.state);
  if (!report) return [];
  return (result.steps ?? []).flatMap((r) => {
    if (r.status !== 'done' || r.step.kind !== 'signing-seen' || r.step.selector !== report.selector)
      return [];
    const gap = report.regions[r.step.region]?.gapSeconds;
    return gap === null || gap === undefined
      ? []
      : [{ region: r.step.region, selector: r.step.selector, gapSeconds: gap }];
  });
}

/**
 * The soonest follow-up any domain asked for (a switch to see through), so a watching
 * process wakes up for it instead of at its next interval.
 */
export function soonestFollowUp(results: readonly DomainResult[]): Date | undefined {
  const times = results
    .map((r) => r.plan?.next)
    .filter((next) => next?.kind === 'follow-up' || next?.kind === 'canary')
    .map((next) => Date.parse(next?.at ?? ''));
  return times.length > 0 ? new Date(Math.min(...times)) : undefined;
}
