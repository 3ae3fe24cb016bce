/**
 * A PROTOTYPE, for measurement only: what a client-side rate limiter per SES region would
 * change. byodkim does not have one (src/adapters/aws/ses.ts relies on the SDK's adaptive
 * retry); the bench wraps the SigningService with this to measure the difference without
 * touching src/. See docs/performance.md.
 */
import { performance } from 'node:perf_hooks';
import type { DkimPrivateKey } from '../../src/domain/key.js';
import type { SesDkimView, SigningService } from '../../src/ports.js';

/**
 * Generic cell rate algorithm: requests leave at most `ratePerSecond`, with up to `burst`
 * at once; callers are served in the order they asked, each waiting only as long as needed.
 */
export class PacedBucket {
  readonly #intervalMs: number;
  readonly #burst: number;
  #theoreticalArrival = 0;

  constructor(ratePerSecond: number, burst = 1) {
    if (!(ratePerSecond > 0)) throw new RangeError('rate must be > 0');
    this.#intervalMs = 1000 / ratePerSecond;
    this.#burst = Math.max(1, Math.floor(burst));
  }

  async take(): Promise<void> {
    const now = performance.now();
    const tat = Math.max(this.#theoreticalArrival, now);
    const allowedAt = tat - (this.#burst - 1) * this.#intervalMs;
    this.#theoreticalArrival = tat + this.#intervalMs;
    if (allowedAt > now) await new Promise((resolve) => setTimeout(resolve, allowedAt - now));
  }
}

/** Every SES call waits for its region's bucket first. */
export class PacedSigningService implements SigningService {
  readonly #inner: SigningService;
  readonly #buckets = new Map<string, PacedBucket>();
  readonly #rate: number;
  readonly #burst: number;

  constructor(inner: SigningService, ratePerSecond: number, burst = 1) {
    this.#inner = inner;
    this.#rate = ratePerSecond;
    this.#burst = burst;
  }

  #bucket(region: string): PacedBucket {
    let bucket = this.#buckets.get(region);
    if (bucket === undefined) {
      bucket = new PacedBucket(this.#rate, this.#burst);
      this.#buckets.set(region, bucket);
    }
    return bucket;
  }

  async describe(identity: string, region: string): Promise<SesDkimView> {
    await this.#bucket(region).take();
    return this.#inner.describe(identity, region);
  }

  async putExternalKey(
    identity: string,
    region: string,
    selector: string,
    key: DkimPrivateKey,
  ): Promise<void> {
    await this.#bucket(region).take();
    return this.#inner.putExternalKey(identity, region, selector, key);
  }

  async setSigningEnabled(identity: string, region: string, enabled: boolean): Promise<void> {
    await this.#bucket(region).take();
    return this.#inner.setSigningEnabled(identity, region, enabled);
  }

  async createIdentity(
    identity: string,
    region: string,
    signing?: { selector: string; key: DkimPrivateKey },
  ): Promise<void> {
    await this.#bucket(region).take();
    return this.#inner.createIdentity(identity, region, signing);
  }

  async listIdentities(region: string): Promise<string[]> {
    await this.#bucket(region).take();
    return this.#inner.listIdentities(region);
  }
}
