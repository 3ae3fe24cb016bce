import { describe, expect, it } from 'vitest';
import { dnsDutyOf, graceEndsAt, keyRecordWanted } from '../../../src/domain/dns-duty.js';
import { buildDkimRecordValue, REVOKED_RECORD_VALUE } from '../../../src/domain/record.js';
import type { KeyEntry, KeyStatus } from '../../../src/domain/state.js';

const KEY = 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC';

function key(status: KeyStatus, extra: Partial<KeyEntry> = {}): KeyEntry {
  return {
    selector: `s-${status}`,
    bits: 1024,
    publicKey: KEY,
    vaultRef: 'file:x',
    origin: 'generated',
    createdAt: '2026-01-01T00:00:00.000Z',
    notAfter: '2027-01-01T00:00:00.000Z',
    status,
    statusSince: '2026-03-01T00:00:00.000Z',
    ...extra,
  };
}

describe('what DNS must do about a key now (one rule for dns-records, verify-dns, doctor)', () => {
  it.each([
    ['staged', {}, 'add', 'key'],
    ['published', {}, 'add', 'key'],
    ['verified', {}, 'keep', 'key'],
    ['active', {}, 'keep', 'key'],
    ['active', { revokedAt: '2026-03-02T00:00:00.000Z' }, 'keep', 'revoked'],
    ['retiring', {}, 'keep', 'key'],
    ['retiring', { removalRequestedAt: '2026-03-09T00:00:00.000Z' }, 'remove', 'key'],
    ['failed', {}, 'keep', 'key'],
    ['failed', { removalRequestedAt: '2026-03-09T00:00:00.000Z' }, 'remove', 'key'],
    ['failed', { removalRequestedAt: 'x', destroyedAt: '2026-03-10T00:00:00.000Z' }, undefined, undefined],
    ['revoked', { destroyedAt: '2026-03-02T00:00:00.000Z' }, 'keep', 'revoked'],
    ['retired', { destroyedAt: '2026-03-10T00:00:00.000Z' }, undefined, undefined],
  ] as const)('%s %j → %s', (status, extra, action, value) => {
    const duty = dnsDutyOf(key(status, extra));
    expect(duty?.action).toBe(action);
    if (value !== undefined)
      expect(duty?.value).toBe(value === 'key' ? buildDkimRecordValue(KEY) : REVOKED_RECORD_VALUE);
    expect(keyRecordWanted(key(status, extra))).toBe(
      (action === 'add' || action === 'keep') && value === 'key',
    );
  });

  it('dates a removal at the end of the grace period, counted from when SES stopped using the key', () => {
    expect(graceEndsAt(key('retiring', { retiringSince: '2026-03-05T00:00:00.000Z' }), 7).toISOString()).toBe(
      '2026-03-12T00:00:00.000Z',
    );
    expect(graceEndsAt(key('failed'), 1).toISOString()).toBe('2026-03-02T00:00:00.000Z');
  });
});
