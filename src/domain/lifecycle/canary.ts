/**
 * Rules: the signing canary. Everything else byodkim knows about signing is inferred (SES
 * says SUCCESS, DNS serves the key); a canary is a message SES really sent, read back from
 * an inbox and judged as a receiver judges it. Per region:
 *
 *   send (daily; every few minutes while a switch is open or a canary alarm holds)
 *     └─▶ SES signs it (or not) ─▶ inbox ─▶ gather judges it ─▶ judged here:
 *           expected            signed with a selector SES should hold
 *           gap                 unsigned inside an open switch (the measured gap)
 *           unexpected-selector signed with a selector the state does not expect  ─▶ alarm
 *           unsigned            not signed by the domain outside a switch          ─▶ alarm
 *
 * The first canary signed with a switch's new selector after the put closes the gap as real
 * mail saw it (at most one canary interval late), beside the SES-read measure of gap.ts.
 */
import type { CanaryExpectation, CanaryReading } from '../canary.js';
import { canaryId } from '../canary.js';
import { HOUR_MS } from '../policy.js';
import type { CanaryRegion } from '../state.js';
import { Reason } from '../vocabulary.js';
import { alarmKey } from './apply-step.js';
import type { Working } from './working.js';

/** A canary not in the inbox this long after it was sent is given up on [choice: SES delivers in seconds]. */
export const CANARY_LOST_AFTER_MS = HOUR_MS;
/** More canaries in flight than this in one region: the inbox is not being read; stop adding to it. */
const MAX_IN_FLIGHT = 3;
/** When a canary sent is first looked for: SES delivers within seconds. */
const JUDGE_AFTER_MS = 60_000;

const CANARY_ALARMS = [Reason.CanaryUnexpectedSelector, Reason.CanaryUnsigned] as const;

/** The selectors SES may sign with in `region` for a canary sent at `sentAt`, as the state knows it. */
export function expectedSelectors(w: Working, region: string, sentAt: string): Set<string> {
  const sent = Date.parse(sentAt);
  const last = w.initial.lastSwitch;
  const put = last?.regions[region];
  if (last && put && Date.parse(put.putAt) <= sent) return new Set([last.selector]);
  const expected = new Set<string>();
  const active = w.initial.keys.find((k) => k.status === 'active');
  if (active) expected.add(active.selector);
  // Sent before a later put: the key SES held then, now retiring.
  for (const key of w.initial.keys)
    if (key.retiringSince !== undefined && Date.parse(key.retiringSince) >= sent) expected.add(key.selector);
  return expected;
}

/** A switch was open in `region` when the canary was sent: put, and no signing seen yet. */
function insideSwitch(w: Working, region: string, sentAt: string): boolean {
  const sent = Date.parse(sentAt);
  const put = w.initial.lastSwitch?.regions[region];
  if (!put || Date.parse(put.putAt) > sent) return false;
  const closedAt = [put.successSeenAt, put.canarySignedAt]
    .filter((t): t is string => t !== undefined)
    .map((t) => Date.parse(t));
  return !closedAt.some((t) => t <= sent);
}

export function expectationOf(w: Working, reading: CanaryReading): CanaryExpectation {
  const { region, sentAt } = reading.tag;
  const { verdict } = reading;
  const expected = expectedSelectors(w, region, sentAt);
  if (verdict.selector !== undefined && !expected.has(verdict.selector)) return 'unexpected-selector';
  if (verdict.signed) return 'expected';
  return insideSwitch(w, region, sentAt) ? 'gap' : 'unsigned';
}

function describe(reading: CanaryReading, expectation: CanaryExpectation, gapSeconds?: number): string {
  const { region, id } = reading.tag;
  const v = reading.verdict;
  const signedText = v.signed
    ? `signed s=${v.selector}`
    : v.selector
      ? `signature s=${v.selector} did not verify (${v.failing ?? 'failed'})`
      : 'not signed by the domain';
  const dmarc = `DMARC ${v.dmarc.result}${v.dmarc.alignedBy.length > 0 ? ` (${v.dmarc.alignedBy.join(', ')})` : ''}`;
  const what = {
    expected: '',
    gap: ' — inside the switch gap',
    'unexpected-selector': ' — a selector the state does not expect',
    unsigned: ' — outside any switch',
  }[expectation];
  const gap = gapSeconds === undefined ? '' : `; the gap seen by real mail: ${gapSeconds} s after the put`;
  return `canary ${id} from SES ${region}: ${signedText}, ${dmarc}${what}${gap}`;
}

/** Judges the canaries gather found, gives up on lost ones, and empties the inbox as retention says. */
export function judgeCanaries(w: Working): void {
  const spec = w.spec.canary;
  const obs = w.obs.canary;
  if (!spec || !obs) return;
  if (!obs.ok) {
    w.warn({
      code: Reason.CanaryInboxUnavailable,
      message: `the canary inbox could not be read: ${obs.error}`,
    });
    return;
  }
  const judged = new Set(w.state.canary?.judged ?? []);
  const found = new Set<string>();
  const readings = [...obs.readings].sort((a, b) => Date.parse(a.tag.sentAt) - Date.parse(b.tag.sentAt));
  for (const reading of readings) {
    const { id, region, sentAt } = reading.tag;
    found.add(id);
    if (!judged.has(id) && w.spec.regions.includes(region)) {
      const expectation = expectationOf(w, reading);
      const v = reading.verdict;
      const last = w.state.lastSwitch;
      const put = last?.regions[region];
      const closesGap =
        v.signed &&
        put !== undefined &&
        v.selector === last?.selector &&
        Date.parse(put.putAt) <= Date.parse(sentAt) &&
        canaryGapOpen(w, region, Date.parse(sentAt));
      const gapSeconds =
        closesGap && put ? Math.round((Date.parse(sentAt) - Date.parse(put.putAt)) / 1000) : undefined;
      w.do({
        kind: 'canary-judged',
        region,
        id,
        sentAt,
        ...(reading.arrivedAt ? { arrivedAt: reading.arrivedAt } : {}),
        signed: v.signed,
        ...(v.selector ? { selector: v.selector } : {}),
        dmarcPass: v.dmarc.result === 'pass',
        pass: v.pass,
        ...(v.failing ? { failing: v.failing } : {}),
        expectation,
        ...(closesGap ? { closesGap: true } : {}),
        reason: closesGap ? Reason.CanaryGapMeasured : Reason.CanaryJudged,
        message: describe(reading, expectation, gapSeconds),
        phase: 7,
      });
    }
    const arrived = Date.parse(reading.arrivedAt ?? sentAt);
    if (w.now.getTime() >= arrived + spec.retentionMs)
      w.do({
        kind: 'discard-canary',
        id,
        ref: reading.ref,
        reason: Reason.CanaryDiscarded,
        message: `delete canary ${id} from the inbox`,
        phase: 7,
      });
  }
  for (const [region, r] of Object.entries(w.state.canary?.regions ?? {})) {
    for (const pending of r.pending ?? []) {
      if (found.has(pending.id)) continue;
      if (w.now.getTime() - Date.parse(pending.sentAt) < CANARY_LOST_AFTER_MS) continue;
      w.do({
        kind: 'canary-lost',
        region,
        id: pending.id,
        reason: Reason.CanaryLost,
        message: `canary ${pending.id} sent through SES ${region} at ${pending.sentAt} never reached the inbox (${spec.to})`,
        phase: 7,
      });
    }
  }
}

/** Raises (once) and clears the canary alarms from the last canary judged in each region. */
export function watchCanaryAlarms(w: Working): void {
  // An alarm holds until a canary shows otherwise: nothing is cleared on an unread inbox.
  if (!w.spec.canary || !w.obs.canary?.ok) return;
  const raised = w.state.alarms ?? {};
  const holding = new Set<string>();
  for (const region of w.spec.regions) {
    const last = w.state.canary?.regions[region]?.lastJudged;
    if (!last) {
      for (const code of CANARY_ALARMS) holding.add(alarmKey({ code, region }));
      continue;
    }
    if (last.expectation !== 'unexpected-selector' && last.expectation !== 'unsigned') continue;
    const code = last.expectation === 'unsigned' ? Reason.CanaryUnsigned : Reason.CanaryUnexpectedSelector;
    const key = alarmKey({ code, region });
    holding.add(key);
    if (raised[key]) continue;
    const expected = [...expectedSelectors(w, region, last.sentAt)].join(' or ') || 'no selector';
    w.do({
      kind: 'raise-alarm',
      code,
      region,
      ...(last.selector ? { selector: last.selector } : {}),
      reason: code,
      message:
        code === Reason.CanaryUnsigned
          ? `real mail from ${w.spec.domain} through SES ${region} is not signed by the domain (canary ${last.id}, sent ${last.sentAt}), and no switch is open: expected s=${expected}`
          : `real mail from ${w.spec.domain} through SES ${region} is signed with s=${last.selector} (canary ${last.id}), which byodkim did not put there: expected s=${expected}`,
      phase: 7,
    });
  }
  for (const key of Object.keys(raised)) {
    const [code = key, region] = key.split('@');
    if (!(CANARY_ALARMS as readonly string[]).includes(code) || holding.has(key)) continue;
    w.do({
      kind: 'clear-alarm',
      code,
      ...(region ? { region } : {}),
      reason: Reason.AlarmCleared,
      message: `${code}${region ? ` in ${region}` : ''} no longer holds: the last canary was signed as expected`,
      phase: 7,
    });
  }
}

/**
 * The gap as real mail sees it is still open in `region` at `at`: a put, no canary signed with
 * its selector yet, and SES's SUCCESS (if seen) at most one canary interval ago. A switch that
 * ended before canaries were configured is never measured long after the fact.
 */
function canaryGapOpen(w: Working, region: string, at: number): boolean {
  const put = w.state.lastSwitch?.regions[region];
  if (!put || put.canarySignedAt || !w.spec.canary) return false;
  return (
    put.successSeenAt === undefined || at <= Date.parse(put.successSeenAt) + w.spec.canary.switchIntervalMs
  );
}

/** Whether a region wants canaries at the close interval: the gap open there, or a canary alarm. */
function closeWatch(w: Working, region: string): boolean {
  if (canaryGapOpen(w, region, w.now.getTime())) return true;
  return CANARY_ALARMS.some((code) => w.state.alarms?.[alarmKey({ code, region })] !== undefined);
}

function sendDueAt(w: Working, region: string, r: CanaryRegion | undefined): number {
  const spec = w.spec.canary;
  if (!spec || !r?.lastSentAt) return Number.NEGATIVE_INFINITY;
  const interval = closeWatch(w, region) ? spec.switchIntervalMs : spec.intervalMs;
  return Date.parse(r.lastSentAt) + interval;
}

/**
 * Sends a canary in each region that is due: daily, or every `switchIntervalMinutes` while a
 * switch is open there (a put earlier in this very pass counts) or a canary alarm holds.
 * Nothing is sent before the first key is active (SES refuses mail from an identity it has
 * not verified yet), nor past a few canaries in flight.
 */
export function sendCanaries(w: Working): void {
  if (!w.spec.canary || !w.active) return;
  for (const region of w.spec.regions) {
    const r = w.state.canary?.regions[region];
    if ((r?.pending?.length ?? 0) >= MAX_IN_FLIGHT) continue;
    if (w.now.getTime() < sendDueAt(w, region, r)) continue;
    const id = canaryId(region, w.now);
    w.do({
      kind: 'send-canary',
      region,
      id,
      reason: Reason.CanarySend,
      message: `send canary ${id} through SES ${region} to ${w.spec.canary.to}`,
      phase: 7,
    });
  }
}

/**
 * When the canary wants the next pass, while a switch is open: to judge what is in flight, or
 * to send the next close-interval canary. Quiet domains send daily and wake nobody.
 */
export function canaryNextAt(w: Working): { at: Date; selector: string } | undefined {
  const last = w.state.lastSwitch;
  if (!w.spec.canary || !last) return undefined;
  const times: number[] = [];
  for (const region of w.spec.regions) {
    if (!closeWatch(w, region)) continue;
    const r = w.state.canary?.regions[region];
    times.push(sendDueAt(w, region, r));
    for (const p of r?.pending ?? []) times.push(Date.parse(p.sentAt) + JUDGE_AFTER_MS);
  }
  const soonest = Math.min(...times.filter(Number.isFinite));
  if (!Number.isFinite(soonest)) return undefined;
  return { at: new Date(Math.max(soonest, w.now.getTime() + JUDGE_AFTER_MS)), selector: last.selector };
}
