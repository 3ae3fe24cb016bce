/**
 * The SES API budget (SPEC.md §9): one token bucket per account and region, refilled on the
 * wall clock or the emulator clock, and which throttling error a refused request gets.
 */
import { performance } from 'node:perf_hooks';
import type { EmulatorClock } from '../clock.js';
import type { BudgetSettings, RateClock } from './options.js';

/** Capacity `burst`, full at start, refilled continuously at `ratePerSecond`. A rate of 0 refuses everything. */
export class TokenBucket {
  readonly #ratePerSecond: number;
  readonly #capacity: number;
  readonly #nowMs: () => number;
  #tokens: number;
  #lastMs: number;

  constructor(ratePerSecond: number, burst: number, nowMs: () => number) {
    this.#ratePerSecond = Math.max(0, ratePerSecond);
    this.#capacity = Math.max(1, burst);
    this.#nowMs = nowMs;
    this.#tokens = this.#ratePerSecond > 0 ? this.#capacity : 0;
    this.#lastMs = nowMs();
  }

  tryTake(): boolean {
    const now = this.#nowMs();
    // A clock set backwards refills nothing.
    const elapsedMs = Math.max(0, now - this.#lastMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsedMs / 1000) * this.#ratePerSecond);
    this.#lastMs = Math.max(this.#lastMs, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Which documented throttling answer a refused request gets. */
export type Throttled = 'TooManyRequests' | 'ThrottlingException';

export class ApiBudget {
  readonly #emulatorClock: EmulatorClock;
  readonly #throttlingExceptionEvery: number;
  #settings: BudgetSettings;
  #buckets = new Map<string, TokenBucket>();
  #throttledCounts = new Map<string, number>();

  constructor(settings: BudgetSettings, throttlingExceptionEvery: number, emulatorClock: EmulatorClock) {
    this.#settings = settings;
    this.#throttlingExceptionEvery = throttlingExceptionEvery;
    this.#emulatorClock = emulatorClock;
  }

  get settings(): BudgetSettings {
    return this.#settings;
  }

  /** New settings start every bucket full again. */
  configure(settings: BudgetSettings): void {
    this.#settings = settings;
    this.#buckets = new Map();
    this.#throttledCounts = new Map();
  }

  /** Undefined when the request may go on; otherwise the throttling answer it gets. */
  admit(account: string, region: string): Throttled | undefined {
    const rate = this.#settings.ratePerSecond;
    if (rate === null) return undefined;
    const key = `${account}/${region}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(
        rate,
        this.#settings.burst ?? Math.max(2, rate),
        this.#clock(this.#settings.clock),
      );
      this.#buckets.set(key, bucket);
    }
    if (bucket.tryTake()) return undefined;
    const count = (this.#throttledCounts.get(key) ?? 0) + 1;
    this.#throttledCounts.set(key, count);
    const every = this.#throttlingExceptionEvery;
    return every > 0 && count % every === 0 ? 'ThrottlingException' : 'TooManyRequests';
  }

  #clock(kind: RateClock): () => number {
    if (kind === 'wall') return () => performance.now();
    const clock = this.#emulatorClock;
    return () => clock.now().getTime();
  }
}
