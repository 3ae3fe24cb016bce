/**
 * Injected faults (SPEC.md §10): API calls that fail before they run, and DKIM checks that
 * end with a chosen ErrorType without asking DNS.
 */
import { VERIFICATION_ERRORS, type VerificationError } from './dns-check.js';

export interface FaultSpec {
  readonly operation?: string | undefined;
  readonly region?: string | undefined;
  readonly account?: string | undefined;
  readonly status?: 500 | 429 | undefined;
  readonly count: number;
}

export interface CheckFaultSpec {
  readonly count: number;
  /** Default SERVICE_ERROR. */
  readonly errorType?: VerificationError | undefined;
  readonly account?: string | undefined;
  readonly region?: string | undefined;
  readonly identity?: string | undefined;
}

interface Pending<T> {
  readonly matches: (probe: Record<string, string>) => boolean;
  readonly value: T;
  remaining: number;
}

/** Consumed in the order injected; each matching event uses up one. */
class MatchQueue<T> {
  #entries: Pending<T>[] = [];

  add(count: number, filter: Record<string, string | undefined>, value: T): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError('fault count must be an integer >= 1');
    const wanted = Object.entries(filter).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    );
    this.#entries.push({
      matches: (probe) => wanted.every(([key, value]) => probe[key] === value),
      value,
      remaining: count,
    });
  }

  take(probe: Record<string, string>): T | undefined {
    const index = this.#entries.findIndex((entry) => entry.matches(probe));
    const entry = this.#entries[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.#entries.splice(index, 1);
    return entry.value;
  }

  clear(): void {
    this.#entries = [];
  }
}

export class FaultQueue {
  readonly #queue = new MatchQueue<500 | 429>();

  add(spec: FaultSpec): void {
    if (spec.status !== undefined && spec.status !== 500 && spec.status !== 429) {
      throw new RangeError('fault status must be 500 or 429');
    }
    const { operation, region, account } = spec;
    this.#queue.add(spec.count, { operation, region, account }, spec.status ?? 500);
  }

  /** The status of the fault this call must fail with, if any (and uses it up). */
  take(operation: string, region: string, account: string): 500 | 429 | undefined {
    return this.#queue.take({ operation, region, account });
  }

  clear(): void {
    this.#queue.clear();
  }
}

export class CheckFaultQueue {
  readonly #queue = new MatchQueue<VerificationError>();

  add(spec: CheckFaultSpec): void {
    const errorType = spec.errorType ?? 'SERVICE_ERROR';
    if (!(VERIFICATION_ERRORS as readonly string[]).includes(errorType)) {
      throw new RangeError(`errorType must be one of ${VERIFICATION_ERRORS.join(', ')}`);
    }
    const { account, region } = spec;
    const identity = spec.identity?.toLowerCase();
    this.#queue.add(spec.count, { account, region, identity }, errorType);
  }

  take(account: string, region: string, identity: string): VerificationError | undefined {
    return this.#queue.take({ account, region, identity });
  }

  clear(): void {
    this.#queue.clear();
  }
}
