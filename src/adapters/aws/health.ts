/**
 * Batched health reads: SES v1 `GetIdentityDkimAttributes` answers for up to 100 identities
 * per call, at the price of one request of the region's budget (SES-REALITY.md §1). The
 * scheduled health reads of every domain pass in flight are gathered per region: the first
 * read of a region asks the budget for a slot (at `health` priority, so after every write and
 * transition read), and when the slot comes, everything queued for the region by then — up to
 * 100 identities — goes in that one call. No scheduler of its own: the wait for the budget
 * (plus a short linger, for when the budget has a slot free at once) is the batching window.
 * The core makes the fleet's health reads fall due in the same pass when reads are batched
 * (`sesReadDue`'s `alignedHealthReads`), so the domains in flight fill the batches.
 *
 * v1 returns DkimEnabled and DkimVerificationStatus, and tokens for Easy DKIM, but never the
 * signing origin and, for BYODKIM, no documented selector: the core reads it only as "healthy
 * or not" (src/domain/lifecycle/reads.ts, `healthyAtHealthRead`) and falls back to a v2 read
 * otherwise. The v1 endpoint is the v2 one (`aws.endpoints.sesv2`, else
 * `AWS_ENDPOINT_URL_SES`/`AWS_ENDPOINT_URL_SESV2`): SES serves both APIs on one host.
 */
import {
  GetIdentityDkimAttributesCommand,
  type GetIdentityDkimAttributesCommandOutput,
  SESClient,
} from '@aws-sdk/client-ses';
import type { SesDkimStatus, SesHealthView } from '../../domain/observation.js';
import type { AwsClientFactory } from './clients.js';
import { awsCall } from './errors.js';
import { type SesBudget, withBudget } from './pacing.js';

/** SES v1's limit per GetIdentityDkimAttributes call [doc]. */
export const HEALTH_BATCH_SIZE = 100;

const V1_STATUS: Readonly<Record<string, SesDkimStatus>> = {
  Pending: 'PENDING',
  Success: 'SUCCESS',
  Failed: 'FAILED',
  TemporaryFailure: 'TEMPORARY_FAILURE',
  NotStarted: 'NOT_STARTED',
};

interface Queued {
  identity: string;
  resolve(view: SesHealthView): void;
  reject(error: unknown): void;
}

export interface HealthBatcherOptions {
  clients: AwsClientFactory;
  budget: SesBudget;
  /** Whose budget the reads take from (the account the clients act in). Default the caller's own. */
  account?: string;
  batchSize?: number;
  /**
   * Wall time a region's first queued read waits before asking the budget for a slot, so the
   * domains in flight reach their reads and join the batch even when the budget has a slot
   * free at once. Default 25 ms (nothing, against SES's one request per second).
   */
  lingerMs?: number;
}

export class HealthBatcher {
  readonly #clients: AwsClientFactory;
  readonly #budget: SesBudget;
  readonly #account: string | undefined;
  readonly #batchSize: number;
  readonly #lingerMs: number;
  readonly #queues = new Map<string, Queued[]>();
  /** Regions that asked the budget for a slot and have not had it yet. */
  readonly #asking = new Set<string>();
  /** Calls made and identities read through them, for the bench and the logs. */
  readonly stats = { calls: 0, identities: 0 };

  constructor(options: HealthBatcherOptions) {
    this.#clients = options.clients;
    this.#budget = options.budget;
    this.#account = options.account;
    this.#batchSize = Math.min(HEALTH_BATCH_SIZE, Math.max(1, options.batchSize ?? HEALTH_BATCH_SIZE));
    this.#lingerMs = Math.max(0, options.lingerMs ?? 25);
  }

  read(identity: string, region: string): Promise<SesHealthView> {
    return new Promise<SesHealthView>((resolve, reject) => {
      let queue = this.#queues.get(region);
      if (!queue) {
        queue = [];
        this.#queues.set(region, queue);
      }
      queue.push({ identity, resolve, reject });
      if (!this.#asking.has(region)) void this.#next(region);
    });
  }

  async #next(region: string): Promise<void> {
    this.#asking.add(region);
    const queue = this.#queues.get(region) ?? [];
    if (this.#lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#lingerMs));
    try {
      await this.#budget.take(region, 'health', this.#account);
    } catch (error) {
      this.#asking.delete(region);
      for (const q of queue.splice(0)) q.reject(error);
      return;
    }
    this.#asking.delete(region);
    const batch: Queued[] = [];
    const names = new Set<string>();
    while (queue.length > 0 && (names.size < this.#batchSize || names.has(lower(queue[0]?.identity)))) {
      const q = queue.shift() as Queued;
      names.add(lower(q.identity));
      batch.push(q);
    }
    if (queue.length > 0) void this.#next(region);
    const identities = [...new Set(batch.map((q) => q.identity))];
    try {
      const output = await this.#call(region, identities);
      this.stats.calls++;
      this.stats.identities += identities.length;
      for (const q of batch) q.resolve(toHealthView(q.identity, region, output));
    } catch (error) {
      for (const q of batch) q.reject(error);
    }
  }

  #call(region: string, identities: string[]): Promise<GetIdentityDkimAttributesCommandOutput> {
    const call = {
      service: 'SES',
      operation: 'GetIdentityDkimAttributes',
      region,
      target: { identities: `${identities.length} identities` },
    };
    return awsCall(call, async () => {
      const client = this.#clients.client('ses', region, (config) => new SESClient(config));
      const command = new GetIdentityDkimAttributesCommand({ Identities: identities });
      return client.send(
        withBudget(command, this.#budget, region, 'health', {
          prepaid: true,
          ...(this.#account === undefined ? {} : { account: this.#account }),
        }),
      );
    });
  }
}

function lower(name: string | undefined): string {
  return (name ?? '').toLowerCase();
}

/** One identity out of a v1 answer: SES leaves out identities that do not exist. */
export function toHealthView(
  identity: string,
  region: string,
  output: Pick<GetIdentityDkimAttributesCommandOutput, 'DkimAttributes'>,
): SesHealthView {
  const all = output.DkimAttributes ?? {};
  const found =
    all[identity] ?? Object.entries(all).find(([name]) => name.toLowerCase() === identity.toLowerCase())?.[1];
  if (!found) return { identity, region, exists: false };
  const view: SesHealthView = { identity, region, exists: true };
  const status =
    found.DkimVerificationStatus === undefined ? undefined : V1_STATUS[found.DkimVerificationStatus];
  if (status !== undefined) view.status = status;
  if (found.DkimEnabled !== undefined) view.signingEnabled = found.DkimEnabled;
  if (found.DkimTokens !== undefined) view.tokens = [...found.DkimTokens];
  return view;
}
