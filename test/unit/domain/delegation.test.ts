import { describe, expect, it } from 'vitest';
import {
  delegationCnames,
  freeRingSelectors,
  publishedRecordName,
  ringSelectors,
} from '../../../src/domain/delegation.js';
import type { KeyEntry } from '../../../src/domain/state.js';

const delegation = { zone: 'dkim.example.net', selectors: 3, coolDownDays: 7 };

function key(selector: string, destroyedAt?: string): KeyEntry {
  return {
    selector,
    bits: 2048,
    publicKey: 'x',
    vaultRef: 'v',
    origin: 'generated',
    createdAt: '2026-01-01T00:00:00Z',
    notAfter: '2027-01-01T00:00:00Z',
    status: destroyedAt ? 'retired' : 'active',
    statusSince: '2026-01-01T00:00:00Z',
    ...(destroyedAt ? { destroyedAt } : {}),
  };
}

describe('delegated selector ring', () => {
  it('names a fixed ring and the one-time CNAMEs', () => {
    expect(ringSelectors('mail', 3)).toEqual(['mail-a', 'mail-b', 'mail-c']);
    expect(delegationCnames('example.com', 'mail', delegation)[1]).toEqual({
      selector: 'mail-b',
      name: 'mail-b._domainkey.example.com',
      target: 'mail-b.dkim.example.net',
    });
    expect(publishedRecordName({ domain: 'example.com', delegation }, 'mail-a')).toBe(
      'mail-a.dkim.example.net',
    );
    expect(publishedRecordName({ domain: 'example.com' }, 'mail-a')).toBe('mail-a._domainkey.example.com');
  });

  it('reuses a name only after its key was destroyed and the cool-down passed, least recently used first', () => {
    const now = new Date('2026-06-10T00:00:00Z');
    expect(freeRingSelectors('mail', delegation, [key('mail-a')], now)).toEqual(['mail-b', 'mail-c']);
    const coolingDown = [key('mail-a', '2026-06-05T00:00:00Z'), key('mail-b'), key('mail-c')];
    expect(freeRingSelectors('mail', delegation, coolingDown, now)).toEqual([]);
    expect(freeRingSelectors('mail', delegation, coolingDown, new Date('2026-06-12T00:00:00Z'))).toEqual([
      'mail-a',
    ]);
    const both = [
      key('mail-a', '2026-05-01T00:00:00Z'),
      key('mail-b', '2026-04-01T00:00:00Z'),
      key('mail-c'),
    ];
    expect(freeRingSelectors('mail', delegation, both, now)).toEqual(['mail-b', 'mail-a']);
  });
});
