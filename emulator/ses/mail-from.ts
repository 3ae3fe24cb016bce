/**
 * Custom MAIL FROM (SPEC.md §7): the setting of one identity and its state machine, driven by
 * checks of the MX (and optionally SPF) records at the MAIL FROM domain.
 *
 *   put ──> PENDING ──found──> SUCCESS ──record gone──> FAILED (until the next put)
 *              │  ^               │  ^
 *   DNS failure│  │       DNS     │  │ found
 *              v  │     failure   v  │
 *        TEMPORARY_FAILURE <──────────┘     any state but SUCCESS, window over ──> FAILED
 */
import {
  nextScheduledCheck,
  type Timing,
  type Window,
  windowEndMs,
  windowOpenedByPut,
  windowOpenedByRecheck,
} from './schedule.js';

export type MailFromStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE';
export type BehaviorOnMxFailure = 'USE_DEFAULT_VALUE' | 'REJECT_MESSAGE';
export const BEHAVIORS_ON_MX_FAILURE: readonly BehaviorOnMxFailure[] = [
  'USE_DEFAULT_VALUE',
  'REJECT_MESSAGE',
];

/** `found`: SES's MX (and SPF when required) is there; `not-found`: it is not; `temporary`: DNS failed. */
export type MailFromOutcome =
  | { readonly kind: 'found' }
  | { readonly kind: 'not-found' | 'temporary'; readonly detail: string };

export interface MailFromDomain {
  /** As given in the put. */
  readonly name: string;
  status: MailFromStatus;
  window: Window;
  nextCheckMs: number;
  lastCheckedMs: number | undefined;
  /** A put replaces the whole object, so a check begun before it writes into the old one. */
  inflightCheck: Promise<void> | undefined;
}

export interface MailFromSetting {
  behavior: BehaviorOnMxFailure;
  /** Undefined: SES uses its own MAIL FROM domain. */
  domain: MailFromDomain | undefined;
}

export function newMailFromDomain(name: string, nowMs: number, timing: Timing): MailFromDomain {
  const window = windowOpenedByPut(nowMs, timing);
  return {
    name,
    status: 'PENDING',
    window,
    nextCheckMs: window.firstCheckMs,
    lastCheckedMs: undefined,
    inflightCheck: undefined,
  };
}

export function isMailFromCheckDue(domain: MailFromDomain, nowMs: number, timing: Timing): boolean {
  if (domain.status === 'FAILED') return false;
  if (domain.status === 'SUCCESS') {
    return domain.lastCheckedMs === undefined || nowMs >= domain.lastCheckedMs + timing.recheckIntervalMs;
  }
  return nowMs >= domain.nextCheckMs;
}

export function applyMailFromOutcome(
  domain: MailFromDomain,
  outcome: MailFromOutcome,
  nowMs: number,
  timing: Timing,
): void {
  domain.lastCheckedMs = nowMs;
  if (outcome.kind === 'found') {
    domain.status = 'SUCCESS';
    return;
  }
  if (domain.status === 'SUCCESS') {
    // "FAILED – SES can't find the required MX record, or the record no longer exists."
    if (outcome.kind === 'not-found') {
      domain.status = 'FAILED';
      return;
    }
    domain.status = 'TEMPORARY_FAILURE';
    domain.window = windowOpenedByRecheck(nowMs, timing);
    domain.nextCheckMs = domain.window.firstCheckMs;
    return;
  }
  const seenBefore = domain.window.kind === 'recheck';
  if (nowMs >= windowEndMs(domain.window, timing) || (seenBefore && outcome.kind === 'not-found')) {
    domain.status = 'FAILED';
    return;
  }
  domain.status = outcome.kind === 'temporary' ? 'TEMPORARY_FAILURE' : 'PENDING';
  domain.nextCheckMs = nextScheduledCheck(domain.window, nowMs, timing);
}
