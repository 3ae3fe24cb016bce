/**
 * A counting semaphore for DNS exchanges. One limiter is shared by everything a probe
 * sends (discovery, authoritative queries, recursive checks), so a pass over thousands of
 * records keeps at most `max` sockets open however the work is split.
 *
 * It bounds single exchanges, never whole probes: a slot is never held while waiting for
 * another slot, so nested work (a probe that must first discover nameservers) cannot
 * deadlock.
 */
export class ConcurrencyLimiter {
  readonly max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${max}`);
    this.max = max;
  }

  /** Exchanges running now. */
  get active(): number {
    return this.#active;
  }

  /** Exchanges waiting for a slot. */
  get pending(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` when a slot is free and frees the slot when it settles.
   * @example
   * ```ts
   * const limiter = new ConcurrencyLimiter(64);
   * const answers = await Promise.all(names.map((n) => limiter.run(() => ask(n))));
   * ```
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.max) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // Hand the slot straight to the next waiter, so #active never dips and rises again.
      if (next) next();
      else this.#active--;
    }
  }
}
