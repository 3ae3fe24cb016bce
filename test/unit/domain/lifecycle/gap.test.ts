import { describe, expect, it } from 'vitest';
import { aKey, aSpec, aState, daysAgo, NOW, plan, sesOn, stepsOf } from '../../../support/builders.js';

const MIN = 60_000;
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * MIN).toISOString();
const at = (minutes: number) => new Date(NOW.getTime() + minutes * MIN).toISOString();

/** A switch to `next` put `minutes` ago in both regions. */
function switching(minutes: number, seen: Record<string, string> = {}) {
  return aState(
    [aKey('old', 'active'), aKey('next', 'verified', { verifyStreak: 2, switchedAt: ago(minutes) })],
    {
      lastSwitch: {
        selector: 'next',
        regions: {
          'us-east-1': {
            putAt: ago(minutes),
            ...(seen['us-east-1'] ? { successSeenAt: seen['us-east-1'] } : {}),
          },
          'ap-northeast-1': { putAt: ago(minutes) },
        },
      },
    },
  );
}
const dns = { old: 'match', next: 'match' } as const;

describe('the switch gap', () => {
  it('a put starts a gap per region; the first pass that sees SUCCESS closes it', () => {
    const p = plan(switching(12), {
      ses: {
        'us-east-1': sesOn('next', 'SUCCESS', { lastSuccessAt: ago(2) }),
        'ap-northeast-1': sesOn('next', 'PENDING'),
      },
      dns,
    });
    expect(stepsOf(p)).toEqual(['signing-seen:next@us-east-1']);
    expect(p.steps[0]).toMatchObject({ sesVerifiedAt: ago(2) });
    expect(p.steps[0]?.message).toContain('720 s after the put');
  });

  it('an empty Tokens list is read as the selector byodkim last put there (SES-REALITY.md §5)', () => {
    const empty = { origin: 'EXTERNAL', tokens: [] };
    const p = plan(switching(12), { sesDefault: sesOn(undefined, 'SUCCESS', empty), dns });
    expect(stepsOf(p).filter((s) => s.startsWith('signing-seen'))).toHaveLength(2);
    expect(stepsOf(p)).toContain('transition:next→active');
    expect(p.steps.some((s) => s.kind === 'ses-put')).toBe(false);
  });

  it('follows the switch closely: the next read is due minutes after the put, then less often', () => {
    expect(plan(switching(0), { sesDefault: sesOn('next', 'PENDING'), dns }).next).toMatchObject({
      kind: 'follow-up',
      at: at(5),
    });
    expect(plan(switching(40), { sesDefault: sesOn('next', 'PENDING'), dns }).next).toMatchObject({
      kind: 'follow-up',
      at: at(20),
    });
    expect(plan(switching(300), { sesDefault: sesOn('next', 'PENDING'), dns }).next?.at).toBe(at(60));
  });

  it('a put in this very pass is followed up followUpMinutes later', () => {
    const due = aState([
      aKey('old', 'active', { notAfter: daysAgo(-20) }),
      aKey('next', 'verified', { verifyStreak: 2 }),
    ]);
    const p = plan(due, { sesDefault: sesOn('old'), dns }, aSpec({ policy: { followUpMinutes: 3 } }));
    expect(p.next).toMatchObject({ kind: 'follow-up', selector: 'next', at: at(3) });
  });

  it('alarms once on a switch pending for over an hour, and clears it when SES verifies', () => {
    const pending = plan(switching(61), { sesDefault: sesOn('next', 'PENDING'), dns });
    expect(stepsOf(pending)).toEqual(['raise-alarm:next@us-east-1', 'raise-alarm:next@ap-northeast-1']);
    const raised = {
      ...switching(61),
      alarms: { 'SwitchPendingLong@us-east-1': ago(1), 'SwitchPendingLong@ap-northeast-1': ago(1) },
    };
    expect(stepsOf(plan(raised, { sesDefault: sesOn('next', 'PENDING'), dns }))).toEqual([]);
    const verified = plan(raised, { sesDefault: sesOn('next'), dns });
    expect(stepsOf(verified).filter((s) => s.startsWith('clear-alarm'))).toHaveLength(2);
  });

  it('alarms on TEMPORARY_FAILURE of the signing key (SES fails the identity 72 h later)', () => {
    const p = plan(aState([aKey('k1', 'active')]), {
      ses: {
        'us-east-1': sesOn('k1', 'TEMPORARY_FAILURE', { verificationError: 'DNS_SERVER_ERROR' }),
        'ap-northeast-1': sesOn('k1'),
      },
      dns: { k1: 'match' },
    });
    expect(p.steps[0]).toMatchObject({
      kind: 'raise-alarm',
      code: 'SesTemporaryFailure',
      region: 'us-east-1',
    });
  });
});

describe('switch window and DMARC during the gap', () => {
  const due = aState([
    aKey('old', 'active', { notAfter: daysAgo(-20) }),
    aKey('next', 'verified', { verifyStreak: 2 }),
  ]);
  // 2027-01-01T00:00Z is a Friday, 09:00 in Tokyo.
  const nights = aSpec({
    policy: { switchWindow: { days: ['sat'], start: '02:00', end: '05:00', timeZone: 'Asia/Tokyo' } },
  });

  it('holds a routine switch until the window opens, and says when', () => {
    const p = plan(due, { sesDefault: sesOn('old'), dns }, nights);
    expect(p.steps.some((s) => s.kind === 'ses-put')).toBe(false);
    expect(p.waits).toContainEqual(expect.objectContaining({ reason: 'SwitchWindowClosed', outside: false }));
    expect(p.next).toMatchObject({ kind: 'switch-window', selector: 'next', at: '2027-01-01T17:00:00.000Z' });
    const inWindow = plan(
      due,
      { sesDefault: sesOn('old'), dns, now: new Date('2027-01-01T17:30:00Z') },
      nights,
    );
    expect(inWindow.steps.filter((s) => s.kind === 'ses-put')).toHaveLength(2);
  });

  it('never holds an emergency rotation', () => {
    const emergency = {
      ...due,
      rotation: {
        kind: 'emergency' as const,
        requestedAt: NOW.toISOString(),
        actor: { kind: 'test' as const },
      },
    };
    expect(
      plan(emergency, { sesDefault: sesOn('old'), dns }, nights).steps.filter((s) => s.kind === 'ses-put'),
    ).toHaveLength(2);
  });

  it('warns before a switch where no aligned custom MAIL FROM keeps DMARC passing through the gap', () => {
    const aligned = sesOn('old', 'SUCCESS', {
      mailFromDomain: 'bounce.example.com',
      mailFromStatus: 'SUCCESS',
    });
    const p = plan(due, { ses: { 'us-east-1': aligned, 'ap-northeast-1': sesOn('old') }, dns });
    expect(p.warnings).toEqual([
      expect.objectContaining({ code: 'DmarcUncoveredDuringGap', region: 'ap-northeast-1' }),
    ]);
  });
});
