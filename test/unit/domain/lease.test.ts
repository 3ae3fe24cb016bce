import { describe, expect, it } from 'vitest';
import {
  LEASE_CLOCK_SKEW_MS,
  latestHoldingExpiry,
  leaseHolds,
  MAX_LEASE_MS,
} from '../../../src/domain/lease.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('when a lease holds', () => {
  it.each([
    ['expired a moment ago', -1, false],
    ['expires now', 0, false],
    ['has a minute left', 60_000, true],
    ['has the longest lease left', MAX_LEASE_MS, true],
    ['comes from a clock a minute ahead', MAX_LEASE_MS + LEASE_CLOCK_SKEW_MS, true],
    ['claims more than any lease can (a clock further ahead)', MAX_LEASE_MS + LEASE_CLOCK_SKEW_MS + 1, false],
    ['was written with --now 2030', Date.parse('2030-01-01T00:05:00Z') - NOW.getTime(), false],
  ])('a lease that %s', (_, left, holds) => {
    expect(leaseHolds(at(left), NOW)).toBe(holds);
  });

  it('gives stores that compare in a query the same bound', () => {
    const latest = latestHoldingExpiry(NOW);
    expect(leaseHolds(latest, NOW)).toBe(true);
    expect(leaseHolds(new Date(latest.getTime() + 1), NOW)).toBe(false);
  });
});
