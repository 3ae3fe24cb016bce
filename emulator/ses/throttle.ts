/**
 * Load controls of the emulator (SPEC.md §7): a token bucket per region on the wall clock,
 * injected faults, and request counters.
 */
import { performance } from 'node:perf_hooks';

/** Capacity = one second of requests; refilled continuously. A rate of 0 refuses everything. */
export class TokenBucket {
  readonly #ratePerSecond: number;
  readonly #capacity: number;
  #tokens: number;
  #lastMs: number;

  constructor(ratePerSecond: number) {
    this.#ratePerSecond = Math.max(0, ratePerSecond);
    this.#capacity = Math.max(1, this.#ratePerSecond);
    this.#tokens = this.#ratePerSecond > 0 ? this.#capacity : 0;
    this.#lastMs = performance.now();
  }

  tryTake(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      this.#capacity,
      this.#tokens + ((now - this.#lastMs) / 1000) * this.#ratePerSecond,
    );
    this.#lastMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export interface FaultSpec {
  readonly operation?: string | undefined;
  readonly region?: string | undefined;
  readonly status?: 500 | 429 | undefined;
  readonly count: number;
}

interface PendingFault {
  readonly operation: string | undefined;
  readonly region: string | undefined;
  readonly status: 500 | 429;
  remaining: number;
}

/** Faults are consumed in the order they were injected. */
export class FaultQueue {
  #faults: PendingFault[] = [];

  add(spec: FaultSpec): void {
    if (!Number.isInteger(spec.count) || spec.count < 1)
      throw new RangeError('fault count must be an integer >= 1');
    if (spec.status !== undefined && spec.status !== 500 && spec.status !== 429) {
      throw new RangeError('fault status must be 500 or 429');
    }
    this.#faults.push({
      operation: spec.operation,
      region: spec.region,
      status: spec.status ?? 500,
      remaining: spec.count,
    });
  }

  /** The status of the fault this call must fail with, if any (and uses it up). */
  take(operation: string, region: string): 500 | 429 | undefined {
    const index = this.#faults.findIndex(
      (fault) =>
        (fault.operation === undefined || fault.operation === operation) &&
        (fault.region === undefined || fault.region === region),
    );
    const fault = this.#faults[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.splice(index, 1);
    return fault.status;
  }

  clear(): void {
    this.#faults = [];
  }
}

export class Counters {
  #counts = new Map<string, number>();

  add(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  clear(): void {
    this.#counts.clear();
  }
}
