import { describe, expect, it } from 'vitest';
import { aKey, aSpec, aState, daysAgo, NOW, plan, sesOn, stepsOf } from '../../../support/builders.js';

/** `old` superseded `days` ago (grace 7 days by default), `k2` signing. */
function retiringFor(days: number, extra: Parameters<typeof aKey>[2] = {}) {
  return aState([aKey('k2', 'active'), aKey('old', 'retiring', { retiringSince: daysAgo(days), ...extra })]);
}

describe('retire old keys (phase 8)', () => {
  it.each([
    {
      name: 'inside the grace period: the record stays',
      state: retiringFor(3),
      dns: 'match',
      steps: [] as string[],
    },
    {
      name: 'grace over: the record is removed',
      state: retiringFor(8),
      dns: 'match',
      steps: ['publish(delete old)'],
    },
    {
      name: 'removal requested, record still served: wait, the key stays (invariant 3)',
      state: retiringFor(8, { removalRequestedAt: daysAgo(0.5) }),
      dns: 'match',
      steps: [],
    },
    {
      name: 'removal requested, one nameserver still serves: the key stays (invariant 3)',
      state: retiringFor(8, { removalRequestedAt: daysAgo(0.5) }),
      dns: ['missing', 'match'],
      steps: [],
    },
    {
      name: 'record seen gone everywhere: the key is destroyed',
      state: retiringFor(8, { removalRequestedAt: daysAgo(0.5) }),
      dns: 'missing',
      steps: ['destroy-key:old', 'transition:old→retired'],
    },
    {
      name: 'grace over and the record already gone: destroyed without asking DNS',
      state: retiringFor(8),
      dns: 'missing',
      steps: ['destroy-key:old', 'transition:old→retired'],
    },
    {
      name: 'a nameserver that times out is not "gone": the key stays',
      state: retiringFor(8, { removalRequestedAt: daysAgo(0.5) }),
      dns: ['missing', 'timeout'],
      steps: [],
    },
  ] as const)('$name', ({ state, dns, steps }) => {
    const p = plan(state, { sesDefault: sesOn('k2'), dns: { k2: 'match', old: dns } });
    expect(stepsOf(p)).toEqual(steps);
  });

  it('never removes a record SES still uses in a region; its grace restarts (invariant 2)', () => {
    const p = plan(retiringFor(30), {
      ses: { 'us-east-1': sesOn('k2'), 'ap-northeast-1': sesOn('old') },
      dns: { k2: 'match', old: 'match' },
    });
    // The grace restart is recorded before the put that moves SES off the key: a pass that
    // dies after the put must not lose the fact that SES held the key until now.
    expect(stepsOf(p)).toEqual([
      'transition:old→retiring',
      'ses-put:k2@ap-northeast-1',
      'ses-enable@ap-northeast-1',
    ]);
    expect(p.steps[0]).toMatchObject({ reason: 'StillInUse', set: { retiringSince: NOW.toISOString() } });
  });

  it('never removes a record while a region cannot be read (it might use it)', () => {
    const p = plan(retiringFor(30), {
      ses: { 'us-east-1': sesOn('k2'), 'ap-northeast-1': 'Rate exceeded' },
      dns: { k2: 'match', old: 'match' },
    });
    expect(p.steps.filter((s) => s.kind === 'publish')).toEqual([]);
  });

  it('manual DNS: the removal is handed over early, dated with the end of the grace period', () => {
    const p = plan(
      retiringFor(2),
      { sesDefault: sesOn('k2'), dns: { k2: 'match', old: 'match' } },
      aSpec({ dnsMode: 'manual' }),
    );
    const publish = p.steps.find((s) => s.kind === 'publish');
    expect(publish?.kind === 'publish' && publish.changes).toEqual([
      expect.objectContaining({ action: 'delete', selector: 'old', notBefore: daysAgo(-5) }),
    ]);
  });

  it('emergency --revoke-now: the active record becomes p= at once', () => {
    const state = aState([aKey('k1', 'active')], {
      rotation: {
        kind: 'emergency',
        requestedAt: NOW.toISOString(),
        revokeNow: true,
        actor: { kind: 'test' },
      },
    });
    const p = plan(state, { sesDefault: sesOn('k1'), dns: { k1: 'match' } });
    const publish = p.steps.find((s) => s.kind === 'publish');
    expect(publish?.kind === 'publish' && publish.changes[0]).toMatchObject({
      record: 'revoked',
      selector: 'k1',
    });
  });
});
