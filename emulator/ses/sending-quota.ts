/**
 * The sending quota (SPEC.md §14): separate from the API budget of §9. Per account and region,
 * a maximum send rate (token bucket) and a maximum number of messages in any 24 hours of the
 * emulator clock. A refused message is not counted.
 */
import { performance } from 'node:perf_hooks';
import type { EmulatorClock } from '../clock.js';
import { TokenBucket } from './budget.js';
import { throttlingException } from './errors.js';
import type { RateClock } from './options.js';

const DAY_MS = 86_400_000;

export interface SendingQuotaSettings {
  maxSendRate: number;
  max24HourSend: number;
  clock: RateClock;
}

export class SendingQuota {
  readonly #settings: SendingQuotaSettings;
  readonly #emulatorClock: EmulatorClock;
  #buckets = new Map<string, TokenBucket>();
  #sent = new Map<string, number[]>();

  constructor(settings: SendingQuotaSettings, emulatorClock: EmulatorClock) {
    this.#settings = settings;
    this.#emulatorClock = emulatorClock;
  }

  /** Takes one message of the quota, or throws the documented ThrottlingException. */
  take(account: string, region: string): void {
    const key = `${account}/${region}`;
    const now = this.#emulatorClock.now().getTime();
    const sent = (this.#sent.get(key) ?? []).filter((at) => at > now - DAY_MS);
    this.#sent.set(key, sent);
    if (sent.length >= this.#settings.max24HourSend)
      throw throttlingException('Daily message quota exceeded.');
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      const clock = this.#emulatorClock;
      bucket = new TokenBucket(
        this.#settings.maxSendRate,
        Math.max(1, this.#settings.maxSendRate),
        this.#settings.clock === 'wall' ? () => performance.now() : () => clock.now().getTime(),
      );
      this.#buckets.set(key, bucket);
    }
    if (!bucket.tryTake()) throw throttlingException('Maximum sending rate exceeded.');
    sent.push(now);
  }

  reset(): void {
    this.#buckets = new Map();
    this.#sent = new Map();
  }
}
