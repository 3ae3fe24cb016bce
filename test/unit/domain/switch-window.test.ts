import { describe, expect, it } from 'vitest';
import { isWindowOpen, nextWindowOpening, switchWindowSchema } from '../../../src/domain/switch-window.js';

const tokyoNights = switchWindowSchema.parse({
  days: ['sat', 'sun'],
  start: '02:00',
  end: '05:00',
  timeZone: 'Asia/Tokyo',
});

describe('switch window', () => {
  it.each([
    ['2027-01-01T16:59:00Z', false], // Sat 01:59 JST
    ['2027-01-01T17:00:00Z', true], // Sat 02:00 JST
    ['2027-01-01T19:59:00Z', true],
    ['2027-01-01T20:00:00Z', false], // Sat 05:00 JST: closed
    ['2027-01-03T17:00:00Z', false], // Mon 02:00 JST
  ])('%s open: %s', (at, open) => {
    expect(isWindowOpen(tokyoNights, new Date(at))).toBe(open);
  });

  it('says when it next opens, in the zone, to the minute', () => {
    expect(nextWindowOpening(tokyoNights, new Date('2026-12-30T00:00:00Z')).toISOString()).toBe(
      '2027-01-01T17:00:00.000Z',
    );
    expect(nextWindowOpening(tokyoNights, new Date('2027-01-01T18:00:00Z')).toISOString()).toBe(
      '2027-01-01T18:00:00.000Z',
    );
    expect(nextWindowOpening(tokyoNights, new Date('2027-01-02T20:00:00Z')).toISOString()).toBe(
      '2027-01-08T17:00:00.000Z',
    );
  });

  it('a window past midnight belongs to the day it opens; DST is followed', () => {
    const night = switchWindowSchema.parse({
      days: ['sun'],
      start: '23:30',
      end: '01:30',
      timeZone: 'America/New_York',
    });
    // Sun 2027-03-14 23:30 EDT (after the spring change that morning) = 03:30Z on Monday.
    expect(nextWindowOpening(night, new Date('2027-03-10T00:00:00Z')).toISOString()).toBe(
      '2027-03-15T03:30:00.000Z',
    );
    expect(isWindowOpen(night, new Date('2027-03-15T05:00:00Z'))).toBe(true); // Mon 01:00 EDT
    expect(isWindowOpen(night, new Date('2027-03-15T05:30:00Z'))).toBe(false);
  });

  it('rejects a zone that does not exist and times that are not HH:MM', () => {
    expect(
      switchWindowSchema.safeParse({ start: '02:00', end: '05:00', timeZone: 'Mars/Olympus' }).success,
    ).toBe(false);
    expect(switchWindowSchema.safeParse({ start: '2am', end: '05:00', timeZone: 'UTC' }).success).toBe(false);
  });
});
