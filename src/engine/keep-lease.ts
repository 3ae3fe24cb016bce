import { describeError } from '../errors.js';
import type { Lease } from '../ports.js';

/**
 * Renews `lease` every third of its TTL until the returned function is called, so a pass
 * that runs long (slow SES, many regions, retries up to their timeouts) never outlives its
 * lease and a second run cannot take over a live one. A failed renewal is reported through
 * `onLost`; the pass goes on, and its save is still guarded by the version check.
 *
 * @example
 * ```ts
 * const stop = keepLeaseAlive(lease, 300_000, (message) => log(message));
 * try { await pass(); } finally { stop(); await lease.release(); }
 * ```
 */
export function keepLeaseAlive(lease: Lease, ttlMs: number, onLost: (message: string) => void): () => void {
  let renewing = false;
  const timer = setInterval(
    () => {
      if (renewing) return;
      renewing = true;
      lease
        .renew()
        .catch((error: unknown) =>
          onLost(`the lease on ${lease.domain} could not be renewed: ${describeError(error)}`),
        )
        .finally(() => {
          renewing = false;
        });
    },
    Math.max(1_000, Math.floor(ttlMs / 3)),
  );
  // Renewing must not keep a finished process alive.
  timer.unref();
  return () => clearInterval(timer);
}
