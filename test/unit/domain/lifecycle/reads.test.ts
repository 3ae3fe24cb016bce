import { describe, expect, it } from 'vitest';
import {
  decide,
  healthReadDue,
  healthyAtHealthRead,
  sesReadDue,
} from '../../../../src/domain/lifecycle/index.js';
import type { SesHealthView } from '../../../../src/domain/observation.js';
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

  it.each([
    ['the scheduled health read', idle({ sesSeen: healthySeen(daysAgo(1.01)) }), 'match', 'health', true],
    ['a first read of an idle domain', aState([aKey('k1', 'active')]), 'match', 'health', false],
    ['onboarding', aState([aKey('k1', 'verified')]), 'match', 'transition', false],
    ['a DNS anomaly', idle(), 'missing', 'transition', false],
    [
      'a switch in progress',
      idle({ lastSwitch: { selector: 'k2', regions: { 'us-east-1': { putAt: daysAgo(0.01) } } } }),
      'match',
      'transition',
      false,
    ],
  ] as const)('%s: priority %s for the SES budget, health-only %s', (_, state, dns, priority, healthOnly) => {
    expect(due(state, dns)).toMatchObject({ due: true, priority, healthOnly });
  });

  const health = (extra: Partial<SesHealthView>): SesHealthView => ({
    identity: 'example.com',
    region: 'us-east-1',
    exists: true,
    status: 'SUCCESS',
    signingEnabled: true,
    ...extra,
  });
  it.each([
    ['SUCCESS, signing on, no tokens (BYODKIM, v1 tells none)', health({}), true],
    ['SUCCESS, signing on, empty tokens', health({ tokens: [] }), true],
    ['SUCCESS, signing on, the active selector', health({ tokens: ['k1'] }), true],
    ['another selector', health({ tokens: ['k9'] }), false],
    ["Easy DKIM's three tokens", health({ tokens: ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)] }), false],
    ['signing off', health({ signingEnabled: false }), false],
    ['PENDING', health({ status: 'PENDING' }), false],
    ['TEMPORARY_FAILURE', health({ status: 'TEMPORARY_FAILURE' }), false],
    ['no answer for the identity', health({ exists: false }), false],
    [
      'no status',
      { identity: 'example.com', region: 'us-east-1', exists: true, signingEnabled: true },
      false,
    ],
  ])('the batched v1 health read: %s → healthy %s', (_, view, healthy) => {
    expect(healthyAtHealthRead(view, 'k1')).toBe(healthy);
  });

  it('a healthy batched read is remembered with the selectors of the last full read, and decides nothing else', () => {
    const state = idle({ sesSeen: healthySeen(daysAgo(1.01)) });
    const sesHealth = Object.fromEntries(REGIONS.map((r) => [r, health({ region: r })]));
    const obs = {
      ...anObservation({ dns: { k1: 'match' }, vault: vaultOf(state) }),
      ses: {},
      sesNotRead: 'healthy at the batched health read',
      sesHealth,
    };
    const p = decide(state, obs, aSpec());
    expect(p.steps.map((s) => s.kind)).toEqual(['ses-seen']);
    expect(p.steps[0]).toMatchObject({
      regions: { 'us-east-1': { status: 'SUCCESS', selector: 'k1', signingEnabled: true, exists: true } },
    });
    expect(p.waits).toEqual([]);
  });

  const at = (iso: string) => Date.parse(iso);
  it.each([
    ['spread: 23 h after the last read', '2027-01-01T01:00:00Z', '2027-01-02T00:00:00Z', false, false],
    ['spread: 24 h after the last read', '2027-01-01T01:00:00Z', '2027-01-02T01:00:00Z', false, true],
    ['aligned: same UTC day', '2027-01-01T00:10:00Z', '2027-01-01T23:59:00Z', true, false],
    ['aligned: the next UTC day, 1 h later', '2027-01-01T23:30:00Z', '2027-01-02T00:30:00Z', true, true],
    ['aligned: a read in the window already', '2027-01-02T00:05:00Z', '2027-01-02T13:00:00Z', true, false],
  ])('the scheduled health read (24 h), %s → due %s', (_, last, now, aligned, expected) => {
    expect(healthReadDue(at(last), at(now), 24, aligned)).toBe(expected);
  });

  it('with batched reads, the whole fleet falls due in the same pass, whenever each was last read', () => {
    const lastReads = [daysAgo(0.9), daysAgo(0.5), daysAgo(0.1)].map((t) =>
      idle({ sesSeen: healthySeen(t) }),
    );
    const dueAt = (state: DomainState, now: Date) =>
      sesReadDue(
        state,
        aSpec(),
        { now, dns: { k1: dnsFor('k1', 'match') }, vault: vaultOf(state) },
        { alignedHealthReads: true },
      ).due;
    // NOW is a UTC midnight: every domain's last read was on the day before.
    expect(lastReads.map((s) => dueAt(s, NOW))).toEqual([true, true, true]);
    const later = new Date(NOW.getTime() + 3_600_000);
    expect(lastReads.map((s) => dueAt({ ...s, sesSeen: healthySeen(NOW.toISOString()) }, later))).toEqual([
      false,
      false,
      false,
    ]);
  });
});
