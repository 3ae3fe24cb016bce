import { describe, expect, it } from 'vitest';
import { decide, sesReadDue } from '../../../../src/domain/lifecycle/index.js';
import type { DomainState } from '../../../../src/domain/state.js';
import {
  aKey,
  anObservation,
  aSpec,
  aState,
  daysAgo,
  dnsFor,
  NOW,
  REGIONS,
  sesOn,
  vaultOf,
} from '../../../support/builders.js';

const healthySeen = (at: string, selector = 'k1') => ({
  at,
  regions: Object.fromEntries(
    REGIONS.map((r) => [r, { exists: true, status: 'SUCCESS', selector, signingEnabled: true }]),
  ),
});
const idle = (extra: Partial<DomainState> = {}) =>
  aState([aKey('k1', 'active')], { sesSeen: healthySeen(daysAgo(0.5)), ...extra });
const due = (state: DomainState, dns: 'match' | 'missing' = 'match') =>
  sesReadDue(state, aSpec(), { now: NOW, dns: { k1: dnsFor('k1', dns) }, vault: vaultOf(state) });

describe('when SES is read', () => {
  it('not for a domain idle and healthy at its last read, inside the health interval', () => {
    expect(due(idle())).toMatchObject({ due: false });
  });

  it.each([
    ['never read', aState([aKey('k1', 'active')])],
    ['the health read is due', idle({ sesSeen: healthySeen(daysAgo(1.01)) })],
    [
      'not healthy at the last read',
      idle({
        sesSeen: {
          ...healthySeen(daysAgo(0.5)),
          regions: { ...healthySeen('x').regions, 'us-east-1': { exists: true, status: 'PENDING' } },
        },
      }),
    ],
    [
      'a switch in progress',
      idle({ lastSwitch: { selector: 'k2', regions: { 'us-east-1': { putAt: daysAgo(0.01) } } } }),
    ],
    [
      'an operator request',
      idle({ rotation: { kind: 'manual', requestedAt: NOW.toISOString(), actor: { kind: 'test' } } }),
    ],
    ['a raised alarm', idle({ alarms: { 'SesTemporaryFailure@us-east-1': daysAgo(1) } })],
    [
      'a record to remove after the grace period',
      aState([aKey('k2', 'active'), aKey('k1', 'retiring', { retiringSince: daysAgo(8) })], {
        sesSeen: healthySeen(daysAgo(0.5), 'k2'),
      }),
    ],
  ])('when %s', (_, state) => {
    const d = sesReadDue(state, aSpec(), {
      now: NOW,
      dns: Object.fromEntries(state.keys.map((k) => [k.selector, dnsFor(k.selector, 'match')])),
      vault: vaultOf(state),
    });
    expect(d.due).toBe(true);
  });

  it('at once when the DNS probe sees the active record missing, even if the health read is not due', () => {
    expect(due(idle(), 'missing')).toMatchObject({
      due: true,
      why: 'the active record is not served everywhere',
    });
  });

  it('an unread pass decides nothing that needs SES, and remembers no read', () => {
    const state = aState([aKey('k2', 'active'), aKey('k1', 'retiring', { retiringSince: daysAgo(30) })]);
    const obs = {
      ...anObservation({ dns: { k1: 'match', k2: 'match' }, vault: vaultOf(state) }),
      ses: {},
      sesNotRead: 'idle',
    };
    const p = decide(state, obs, aSpec());
    expect(p.steps).toEqual([]);
    expect(p.waits).toEqual([]);
  });

  it('a read in every region is remembered (ses-seen), with the selector SES holds', () => {
    const p = decide(idle(), anObservation({ sesDefault: sesOn('k1'), dns: { k1: 'match' } }), aSpec());
    expect(p.steps[0]).toMatchObject({
      kind: 'ses-seen',
      regions: { 'us-east-1': { status: 'SUCCESS', selector: 'k1', signingEnabled: true, exists: true } },
    });
    const partial = decide(
      idle(),
      anObservation({ ses: { 'us-east-1': 'Rate exceeded' }, sesDefault: sesOn('k1'), dns: { k1: 'match' } }),
      aSpec(),
    );
    expect(partial.steps.some((s) => s.kind === 'ses-seen')).toBe(false);
  });
});
