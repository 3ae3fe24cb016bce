/**
 * Rules every lease store applies, whatever it is made of (a lock file, a secret, an item).
 *
 * A lease is judged by the real clock, never by `--now` (a what-if time must not hold a
 * domain for years), and no lease counts for longer than the longest lease byodkim takes,
 * measured from now: one written by a process run with `--now 2030-…`, or by a host whose
 * clock runs far ahead, is treated as expired instead of blocking the domain until then.
 */

/** The longest lease byodkim takes (a reconcile pass); passes renew it while they run. */
export const MAX_LEASE_MS = 5 * 60_000;

/**
 * How far ahead another host's clock may run before its leases stop counting. Hosts kept
 * by NTP are within a second; a minute tolerates a badly kept one.
 */
export const LEASE_CLOCK_SKEW_MS = 60_000;

/**
 * Whether a lease that expires at `expiresAt` still holds at `now` (the real clock): it
 * has not expired, and it does not claim to run longer from now than any lease can.
 */
export function leaseHolds(expiresAt: Date | number | string, now: Date): boolean {
  const left = new Date(expiresAt).getTime() - now.getTime();
  return left > 0 && left <= MAX_LEASE_MS + LEASE_CLOCK_SKEW_MS;
}

/** The latest expiry a lease may claim at `now` and still hold (for stores that compare in a query). */
export function latestHoldingExpiry(now: Date): Date {
  return new Date(now.getTime() + MAX_LEASE_MS + LEASE_CLOCK_SKEW_MS);
}
