import { DAY_MS } from './policy.js';
import { buildDkimRecordValue, REVOKED_RECORD_VALUE } from './record.js';
import type { KeyEntry } from './state.js';

/**
 * What DNS must hold for a key's record right now: the one definition of "which records
 * should be in DNS" that `dns-records` (the DNS team's list), `verify-dns` (what to check)
 * and `doctor` (what to expect) share.
 *
 *   staged, published          add     the record must be served; not yet seen everywhere
 *   verified, active           keep    served, and needed (active: SES signs with it)
 *   retiring, failed (grace)   keep    SES stopped using it; mail in flight still verifies
 *   retiring, failed (removal) remove  the grace period is over or a dated removal was asked
 *   revoked (or revoked now)   keep    the revocation: an empty p= that fails every signature
 *   retired, destroyed         —       gone for good
 */
export type DnsDuty =
  | { action: 'add' | 'keep'; value: string; revoked: boolean }
  | { action: 'remove'; value: string };

/** The end of a retiring key's grace period: the earliest moment its record may go. */
export function graceEndsAt(key: KeyEntry, graceDays: number): Date {
  return new Date(Date.parse(key.retiringSince ?? key.statusSince) + graceDays * DAY_MS);
}

export function dnsDutyOf(key: KeyEntry): DnsDuty | undefined {
  if (key.revokedAt !== undefined || key.status === 'revoked')
    return { action: 'keep', value: REVOKED_RECORD_VALUE, revoked: true };
  const value = buildDkimRecordValue(key.publicKey);
  switch (key.status) {
    case 'staged':
    case 'published':
      return { action: 'add', value, revoked: false };
    case 'verified':
    case 'active':
      return { action: 'keep', value, revoked: false };
    case 'retiring':
    case 'failed':
      if (key.destroyedAt !== undefined) return undefined;
      if (key.removalRequestedAt !== undefined) return { action: 'remove', value };
      return { action: 'keep', value, revoked: false };
    case 'retired':
      return undefined;
  }
}

/** Whether the key's own public key should be served now (added or kept, not revoked). */
export function keyRecordWanted(key: KeyEntry): boolean {
  const duty = dnsDutyOf(key);
  return duty !== undefined && duty.action !== 'remove' && !duty.revoked;
}
