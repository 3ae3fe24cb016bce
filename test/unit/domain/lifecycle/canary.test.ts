import { describe, expect, it } from 'vitest';
import { applyStep, decide } from '../../../../src/domain/lifecycle/index.js';
import type { DomainState } from '../../../../src/domain/state.js';
import {
  aCanary,
  aCanarySpec,
  aKey,
  anObservation,
  aSpec,
  aState,
  daysAgo,
  NOW,
  plan,
  sesOn,
  stepsOf,
  vaultOf,
} from '../../../support/builders.js';

const MIN = 60_000;
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * MIN).toISOString();
const spec = aSpec({ canary: aCanarySpec() });
const dns = { old: 'match', next: 'match' } as const;
const healthy = { sesDefault: sesOn('old'), dns };

/** Quiet: `old` active, both regions sent a canary `minutes` ago. */
function quiet(minutes = 60, extra: Partial<DomainState> = {}): DomainState {
  return aState([aKey('old', 'active')], {
    canary: {
      regions: { 'us-east-1': { lastSentAt: ago(minutes) }, 'ap-northeast-1': { lastSentAt: ago(minutes) } },
    },
    ...extra,
  });
}

/** A switch to `next` put `minutes` ago in both regions; canaries sent `sent` minutes ago. */
function switching(minutes: number, sent = minutes + 60): DomainState {
  return aState(
    [aKey('old', 'active'), aKey('next', 'verified', { verifyStreak: 2, switchedAt: ago(minutes) })],
    {
      lastSwitch: {
        selector: 'next',
        regions: { 'us-east-1': { putAt: ago(minutes) }, 'ap-northeast-1': { putAt: ago(minutes) } },
      },
      canary: {
        regions: { 'us-east-1': { lastSentAt: ago(sent) }, 'ap-northeast-1': { lastSentAt: ago(sent) } },
      },
    },
  );
}

const inbox = (...readings: ReturnType<typeof aCanary>[]) => ({ canary: { ok: true as const, readings } });

/** The state after the plan's steps, as the interpreter would leave it. */
function stateAfter(state: DomainState, input: Parameters<typeof plan>[1]): DomainState {
  const p = decide(state, anObservation({ vault: vaultOf(state), ...input }, spec.regions), spec);
  return p.steps.reduce(
    (s, step) => applyStep(s, step, { at: NOW.toISOString(), actor: { kind: 'test' } }),
    state,
  );
}

describe('sending canaries', () => {
  it.each([
    [
      'never sent: one per region',
      quiet(0, { canary: { regions: {} } }),
      ['send-canary@us-east-1', 'send-canary@ap-northeast-1'],
    ],
    ['sent an hour ago, nothing switching: not yet (daily)', quiet(60), []],
    ['sent a day ago: again', quiet(24 * 60), ['send-canary@us-east-1', 'send-canary@ap-northeast-1']],
    [
      'no active key yet (SES refuses mail from an unverified identity)',
      aState([aKey('next', 'published')]),
      [],
    ],
  ])('%s', (_case, state, expected) => {
    expect(stepsOf(plan(state, healthy, spec)).filter((s) => s.startsWith('send-canary'))).toEqual(expected);
  });

  it('sends every switchIntervalMinutes while the switch is open, and a canary right after a put in this pass', () => {
    const open = switching(12, 6);
    expect(stepsOf(plan(open, { sesDefault: sesOn('next', 'PENDING'), dns }, spec))).toEqual([
      'send-canary@us-east-1',
      'send-canary@ap-northeast-1',
    ]);
    expect(stepsOf(plan(switching(12, 3), { sesDefault: sesOn('next', 'PENDING'), dns }, spec))).toEqual([]);
    const due = aState(
      [aKey('old', 'active', { notAfter: daysAgo(-20) }), aKey('next', 'verified', { verifyStreak: 2 })],
      { canary: quiet(60).canary ?? { regions: {} } },
    );
    const withPut = stepsOf(plan(due, healthy, spec));
    expect(withPut.indexOf('send-canary@us-east-1')).toBeGreaterThan(
      withPut.indexOf('ses-put:next@us-east-1'),
    );
    expect(withPut).toContain('send-canary@ap-northeast-1');
  });

  it('stops adding canaries to an inbox nobody reads (three in flight)', () => {
    const pending = [1, 2, 3].map((i) => ({ id: `c-${i}`, sentAt: ago(10 * i) }));
    const state = quiet(24 * 60, {
      canary: { regions: { 'us-east-1': { lastSentAt: ago(24 * 60), pending } } },
    });
    expect(stepsOf(plan(state, healthy, spec)).filter((s) => s.startsWith('send'))).toEqual([
      'send-canary@ap-northeast-1',
    ]);
  });

  it('sends nothing for a domain without a canary', () => {
    expect(stepsOf(plan(quiet(24 * 60), healthy, aSpec()))).toEqual([]);
  });
});

describe('judging canaries', () => {
  it('records a canary signed with the active selector, and deletes it from the inbox once judged', () => {
    const p = plan(quiet(), { ...healthy, ...inbox(aCanary('us-east-1', ago(30), 'old')) }, spec);
    expect(p.steps.map((s) => `${s.kind}${'expectation' in s ? `:${s.expectation}` : ''}`)).toEqual([
      'canary-judged:expected',
      'discard-canary',
    ]);
    const state = stateAfter(quiet(), { ...healthy, ...inbox(aCanary('us-east-1', ago(30), 'old')) });
    expect(state.canary?.regions['us-east-1']?.lastSigned).toEqual({ selector: 'old', sentAt: ago(30) });
    expect(state.alarms).toBeUndefined();
  });

  it('keeps a judged canary for the retention, and judges it only once', () => {
    const keep = aSpec({ canary: aCanarySpec({ retentionMs: 60 * MIN }) });
    const canary = aCanary('us-east-1', ago(30), 'old');
    expect(stepsOf(plan(quiet(), { ...healthy, ...inbox(canary) }, keep))).toEqual([
      'canary-judged:old@us-east-1',
    ]);
    const judged = quiet(60, { canary: { regions: quiet().canary?.regions ?? {}, judged: [canary.tag.id] } });
    expect(stepsOf(plan(judged, { ...healthy, ...inbox(canary) }, keep))).toEqual([]);
    const old = aCanary('us-east-1', ago(90), 'old', { id: canary.tag.id });
    expect(stepsOf(plan(judged, { ...healthy, ...inbox(old) }, keep))).toEqual(['discard-canary']);
  });

  it.each([
    ['signed with the active selector', 'old', 'expected', []],
    ['not signed by the domain, no switch open', undefined, 'unsigned', ['raise-alarm@us-east-1']],
    [
      'signed with a selector byodkim never put there',
      'intruder',
      'unexpected-selector',
      ['raise-alarm:intruder@us-east-1'],
    ],
  ] as const)('%s → %s', (_case, selector, expectation, alarms) => {
    const p = plan(quiet(), { ...healthy, ...inbox(aCanary('us-east-1', ago(30), selector)) }, spec);
    expect(p.steps.find((s) => s.kind === 'canary-judged')).toMatchObject({ expectation });
    expect(stepsOf(p).filter((s) => s.startsWith('raise-alarm'))).toEqual(alarms);
    const alarm = p.steps.find((s) => s.kind === 'raise-alarm');
    if (alarm) expect(alarm.message).toContain('expected s=old');
  });

  it('raises a canary alarm once, and clears it when a canary is signed as expected again', () => {
    const unsigned = stateAfter(quiet(), { ...healthy, ...inbox(aCanary('us-east-1', ago(30), undefined)) });
    expect(Object.keys(unsigned.alarms ?? {})).toEqual(['CanaryUnsigned@us-east-1']);
    expect(stepsOf(plan(unsigned, healthy, spec)).filter((s) => s.includes('alarm'))).toEqual([]);
    // While the alarm holds, canaries go out at the close interval to see it clear.
    const soon = {
      ...unsigned,
      canary: {
        ...unsigned.canary,
        regions: {
          ...unsigned.canary?.regions,
          'us-east-1': { ...unsigned.canary?.regions['us-east-1'], lastSentAt: ago(6) },
        },
      },
    };
    expect(stepsOf(plan(soon, healthy, spec))).toEqual(['send-canary@us-east-1']);
    const cleared = plan(unsigned, { ...healthy, ...inbox(aCanary('us-east-1', ago(1), 'old')) }, spec);
    expect(stepsOf(cleared).filter((s) => s.includes('alarm'))).toEqual(['clear-alarm@us-east-1']);
  });

  it('the SES alarm rule leaves canary alarms alone (they clear only from canaries)', () => {
    const raised = quiet(60, { alarms: { 'CanaryUnexpectedSelector@us-east-1': ago(5) } });
    const state: DomainState = {
      ...raised,
      canary: {
        regions: {
          ...raised.canary?.regions,
          'us-east-1': {
            lastSentAt: ago(60),
            lastJudged: {
              id: 'c',
              sentAt: ago(60),
              signed: true,
              selector: 'intruder',
              dmarcPass: true,
              pass: true,
              expectation: 'unexpected-selector',
            },
          },
        },
      },
    };
    expect(stepsOf(plan(state, healthy, spec)).filter((s) => s.includes('alarm'))).toEqual([]);
  });

  it('an unsigned canary inside an open switch is the gap, not an alarm', () => {
    const p = plan(
      switching(12, 6),
      { sesDefault: sesOn('next', 'PENDING'), dns, ...inbox(aCanary('us-east-1', ago(7), undefined)) },
      spec,
    );
    expect(p.steps.find((s) => s.kind === 'canary-judged')).toMatchObject({ expectation: 'gap' });
    expect(stepsOf(p).filter((s) => s.includes('alarm'))).toEqual([]);
  });

  it('a canary sent before the put, signed with the old selector, is as expected', () => {
    const p = plan(
      switching(12, 6),
      { sesDefault: sesOn('next', 'PENDING'), dns, ...inbox(aCanary('us-east-1', ago(20), 'old')) },
      spec,
    );
    expect(p.steps.find((s) => s.kind === 'canary-judged')).toMatchObject({ expectation: 'expected' });
  });

  it('the first canary signed with the new selector after the put measures the gap from real mail', () => {
    const input = {
      sesDefault: sesOn('next', 'PENDING'),
      dns,
      ...inbox(aCanary('us-east-1', ago(2), 'next')),
    };
    const p = plan(switching(12, 6), input, spec);
    expect(p.steps.find((s) => s.kind === 'canary-judged')).toMatchObject({
      expectation: 'expected',
      closesGap: true,
      reason: 'CanaryGapMeasured',
    });
    expect(p.steps.find((s) => s.kind === 'canary-judged')?.message).toContain('600 s after the put');
    const state = stateAfter(switching(12, 6), input);
    expect(state.lastSwitch?.regions['us-east-1']).toEqual({ putAt: ago(12), canarySignedAt: ago(2) });
    expect(state.lastSwitch?.regions['ap-northeast-1']).toEqual({ putAt: ago(12) });
    expect(state.history.at(-1)?.reason).toBe('CanaryGapMeasured');
    // A later canary does not move it.
    const later = plan(state, { ...input, ...inbox(aCanary('us-east-1', ago(1), 'next')) }, spec);
    expect(later.steps.find((s) => s.kind === 'canary-judged')).not.toHaveProperty('closesGap');
  });

  it('does not measure a switch that ended long before the canary (configured later)', () => {
    const done = aState([aKey('next', 'active')], {
      lastSwitch: {
        selector: 'next',
        regions: { 'us-east-1': { putAt: daysAgo(30), successSeenAt: daysAgo(30) } },
      },
    });
    const p = plan(
      done,
      { sesDefault: sesOn('next'), dns: { next: 'match' }, ...inbox(aCanary('us-east-1', ago(5), 'next')) },
      spec,
    );
    expect(p.steps.find((s) => s.kind === 'canary-judged')).not.toHaveProperty('closesGap');
  });

  it('gives up on a canary that never arrived within an hour', () => {
    const state = quiet(61, {
      canary: {
        regions: { 'us-east-1': { lastSentAt: ago(61), pending: [{ id: 'c-lost', sentAt: ago(61) }] } },
      },
    });
    const p = plan(state, { ...healthy, ...inbox() }, spec);
    expect(stepsOf(p)).toContain('canary-lost@us-east-1');
    expect(
      stateAfter(state, { ...healthy, ...inbox() }).canary?.regions['us-east-1']?.pending,
    ).toBeUndefined();
  });

  it('an inbox that cannot be read is a warning, and nothing is judged or cleared', () => {
    const raised = quiet(60, { alarms: { 'CanaryUnsigned@us-east-1': ago(5) } });
    const p = plan(raised, { ...healthy, canary: { ok: false, error: 'AccessDenied' } }, spec);
    expect(p.warnings.map((w) => w.code)).toEqual(['CanaryInboxUnavailable']);
    expect(stepsOf(p).filter((s) => !s.startsWith('send'))).toEqual([]);
  });

  it('during a switch, the next pass is due for the canary, not only for the SES follow-up', () => {
    const p = plan(switching(2, 1), { sesDefault: sesOn('next', 'PENDING'), dns }, spec);
    expect(p.next).toMatchObject({ kind: 'canary', selector: 'next' });
    expect(Date.parse(p.next?.at ?? '')).toBeLessThanOrEqual(NOW.getTime() + 4 * MIN);
  });
});
