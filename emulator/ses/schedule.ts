/**
 * The SES clock (SPEC.md §6): when SES checks DNS for an identity. Checks are scheduled on
 * the emulator clock and run lazily, at the first look at or after a scheduled moment, so
 * results are deterministic under a virtual clock.
 */

export interface Timing {
  readonly verificationDelayMs: number;
  readonly pendingCheckIntervalMs: number;
  readonly pendingCheckBackoff: number;
  readonly maxPendingCheckIntervalMs: number;
  readonly recheckIntervalMs: number;
  readonly failAfterMs: number;
}

/** A verification window: SES searches from `startMs` for `failAfterMs`. */
export interface Window {
  readonly startMs: number;
  /** A window opened by a put tolerates "not found" as PENDING; one opened by a failing recheck does not. */
  readonly kind: 'put' | 'recheck';
  /** The first scheduled check of the window. */
  readonly firstCheckMs: number;
}

export function windowOpenedByPut(nowMs: number, timing: Timing): Window {
  return { startMs: nowMs, kind: 'put', firstCheckMs: nowMs + timing.verificationDelayMs };
}

export function windowOpenedByRecheck(nowMs: number, timing: Timing): Window {
  return { startMs: nowMs, kind: 'recheck', firstCheckMs: nowMs + timing.pendingCheckIntervalMs };
}

export function windowEndMs(window: Window, timing: Timing): number {
  return window.startMs + timing.failAfterMs;
}

/**
 * The first scheduled check of `window` strictly after a check that ran at `afterMs`:
 * steps start at `pendingCheckIntervalMs` and grow by `pendingCheckBackoff` up to
 * `maxPendingCheckIntervalMs`; the window's end is always a scheduled moment. With an
 * interval of 0 every look is a check, so the answer is `afterMs` itself.
 */
export function nextScheduledCheck(window: Window, afterMs: number, timing: Timing): number {
  const endMs = windowEndMs(window, timing);
  if (afterMs < window.firstCheckMs) return Math.min(window.firstCheckMs, endMs);
  if (timing.pendingCheckIntervalMs === 0 || afterMs >= endMs) return afterMs;
  let moment = window.firstCheckMs;
  let step = timing.pendingCheckIntervalMs;
  while (moment <= afterMs) {
    const capped = Math.min(step, timing.maxPendingCheckIntervalMs);
    if (capped === 0) return afterMs;
    if (capped === timing.maxPendingCheckIntervalMs || timing.pendingCheckBackoff === 1) {
      // Constant steps from here on: jump straight past afterMs.
      moment += (Math.floor((afterMs - moment) / capped) + 1) * capped;
      break;
    }
    moment += capped;
    step = capped * timing.pendingCheckBackoff;
  }
  return Math.min(moment, endMs);
}
