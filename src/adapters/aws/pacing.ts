import { performance } from 'node:perf_hooks';
import { OWN_ACCOUNT } from '../../domain/account.js';
import type { SesCallPriority } from '../../domain/observation.js';
import { ServiceError } from '../../errors.js';
import type { ApiBudget } from '../../ports.js';
import { isThrottling } from './errors.js';

/**
 * The SES API budget as the client keeps it (SES-REALITY.md §1: every SES action but the
 * send calls is throttled at about one request per second per account and region, not
 * adjustable). One {@link PriorityPacer} per account and region, shared by every domain of
 * the process, lets calls leave no faster than the rate, highest priority first:
 *
 *   change      puts, creates, enables: a switch in progress waits on them
 *   transition  reads of identities in transition, or of a domain whose DNS shows an anomaly
 *   health      the scheduled health read (lowest: it can wait an hour)
 *
 * Sending at the rate instead of bouncing off it is what keeps throttling the exception.
 * When SES throttles anyway (another client in the account, a clock that disagrees), the
 * pacer slows down (AIMD: the rate halves on each throttled answer, down to 1/8 of the
 * configured rate, and climbs back by 1/10 of it per accepted call) rather than failing
 * the domain.
 */

/** Where the pacer's time comes from: the wall clock, or a virtual one (benchmarks that simulate days). */
export interface PacerTimer {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const WALL_CLOCK: PacerTimer = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The order calls leave in: lower index first. */
export const PRIORITIES: readonly SesCallPriority[] = ['change', 'transition', 'health'];

/** SES's documented rate: one request per second per account and region. */
export const DEFAULT_SES_RATE = 1;
/**
 * How many calls may leave back to back after a quiet spell. One: the client never spends
 * the service's burst (the emulator models 2, SPEC.md §9), so a call that arrives a little
 * early after a late one still finds a token (at exactly the service's capacity every
 * jitter in latency would be a throttled call).
 */
export const DEFAULT_SES_BURST = 1;

const MIN_RATE_FRACTION = 1 / 8;
const INCREASE_FRACTION = 1 / 10;

/** A call the budget will not grant before the caller's deadline: deferred to a later pass, not failed. */
export class BudgetDeferredError extends ServiceError {
  constructor(key: string, priority: SesCallPriority) {
    super(
      'SES_DEFERRED',
      `SES ${key}: the API budget has no room for this ${priority} call before the run's deadline; deferred to the next pass`,
      { context: { budget: key, priority }, retryable: true },
    );
  }
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * One budget (account and region): the generic cell rate algorithm with a queue per
 * priority. A call is granted when its theoretical arrival time allows it; the time the
 * next call may leave is computed from when this one actually left, so a late timer never
 * makes the next call early.
 */
export class PriorityPacer {
  readonly #maxRate: number;
  readonly #burst: number;
  readonly #timer: PacerTimer;
  readonly #queues = new Map<SesCallPriority, Waiter[]>(PRIORITIES.map((p) => [p, []]));
  #rate: number;
  #theoreticalArrival = Number.NEGATIVE_INFINITY;
  #sleeping = false;
  /** No grant may come later than this (timer time); later callers are deferred. */
  #deadline = Number.POSITIVE_INFINITY;

  constructor(
    readonly key: string,
    ratePerSecond: number,
    burst = DEFAULT_SES_BURST,
    timer: PacerTimer = WALL_CLOCK,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be > 0, got ${ratePerSecond}`);
    this.#maxRate = ratePerSecond;
    this.#rate = ratePerSecond;
    this.#burst = Math.max(1, Math.floor(burst));
    this.#timer = timer;
  }

  /** The rate in force now (below the configured one after throttling). */
  get rate(): number {
    return this.#rate;
  }

  get waiting(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Resolves when the caller may send; rejects with BudgetDeferredError past the deadline. */
  take(priority: SesCallPriority): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queues.get(priority)?.push({ resolve, reject });
      this.#pump();
    });
  }

  /** SES throttled a call anyway: halve the rate and leave the service a full interval. */
  throttled(): void {
    this.#rate = Math.max(this.#maxRate * MIN_RATE_FRACTION, this.#rate / 2);
    const now = this.#timer.now();
    this.#theoreticalArrival = Math.max(this.#theoreticalArrival, now + this.#burst * this.#interval());
  }

  /** A call was accepted: climb back towards the configured rate. */
  accepted(): void {
    this.#rate = Math.min(this.#maxRate, this.#rate + this.#maxRate * INCREASE_FRACTION);
  }

  /** From now on, calls that cannot be granted by `at` (timer time) are deferred. */
  setDeadline(at: number): void {
    this.#deadline = at;
    this.#pump();
  }

  clearDeadline(): void {
    this.#deadline = Number.POSITIVE_INFINITY;
  }

  #interval(): number {
    return 1000 / this.#rate;
  }

  #next(): Waiter | undefined {
    for (const priority of PRIORITIES) {
      const waiter = this.#queues.get(priority)?.shift();
      if (waiter) return waiter;
    }
    return undefined;
  }

  #pump(): void {
    if (this.#sleeping) return;
    for (;;) {
      if (this.waiting === 0) return;
      const now = this.#timer.now();
      const interval = this.#interval();
      const allowedAt = this.#theoreticalArrival - (this.#burst - 1) * interval;
      if (allowedAt > this.#deadline) {
        // Nothing waiting can be granted in time: every waiter is deferred, most urgent first.
        for (const priority of PRIORITIES) {
          for (const waiter of this.#queues.get(priority)?.splice(0) ?? [])
            waiter.reject(new BudgetDeferredError(this.key, priority));
        }
        return;
      }
      if (now >= allowedAt) {
        this.#theoreticalArrival = Math.max(this.#theoreticalArrival, now) + interval;
        this.#next()?.resolve();
        continue;
      }
      this.#sleeping = true;
      void this.#timer.sleep(allowedAt - now).then(() => {
        this.#sleeping = false;
        this.#pump();
      });
      return;
    }
  }
}

export interface BudgetCounts {
  /** Calls sent (every attempt, the throttled ones included). */
  calls: number;
  /** Calls SES answered with throttling. */
  throttled: number;
  /** Calls the budget deferred (never sent) because a deadline came first. */
  deferred: number;
}

export interface SesBudgetOptions {
  /** Requests per second per account and region (config `aws.sesRequestsPerSecond`). Default 1. */
  ratePerSecond?: number;
  /** Calls that may leave back to back (config `aws.sesBurst`). Default 1. */
  burst?: number;
  timer?: PacerTimer;
}

/**
 * The process's SES budget: one pacer per account and region, made on first use, and the
 * counts the Lambda reports as metrics. Share one instance across every SES client of a
 * process (the config's composition root does).
 */
export class SesBudget implements ApiBudget {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly timer: PacerTimer;
  readonly #pacers = new Map<string, PriorityPacer>();
  #counts: BudgetCounts = { calls: 0, throttled: 0, deferred: 0 };
  readonly #byAccount = new Map<string, BudgetCounts>();
  #deadline: number | undefined;

  constructor(options: SesBudgetOptions = {}) {
    this.ratePerSecond = options.ratePerSecond ?? DEFAULT_SES_RATE;
    this.burst = options.burst ?? DEFAULT_SES_BURST;
    this.timer = options.timer ?? WALL_CLOCK;
    if (!(this.ratePerSecond > 0)) throw new RangeError(`rate must be > 0, got ${this.ratePerSecond}`);
  }

  /**
   * The pacer of one account and region. `account` is the config's name for a member account
   * (`accounts[].name`), default the caller's own: each account keeps its own budget, so a
   * throttled account slows only itself.
   */
  pacer(region: string, account = OWN_ACCOUNT): PriorityPacer {
    const key = `${account}/${region}`;
    let pacer = this.#pacers.get(key);
    if (pacer === undefined) {
      pacer = new PriorityPacer(key, this.ratePerSecond, this.burst, this.timer);
      if (this.#deadline !== undefined) pacer.setDeadline(this.#deadline);
      this.#pacers.set(key, pacer);
    }
    return pacer;
  }

  /** Waits for a slot; counts the call. Rejects with BudgetDeferredError past the deadline. */
  async take(region: string, priority: SesCallPriority, account = OWN_ACCOUNT): Promise<void> {
    try {
      await this.pacer(region, account).take(priority);
    } catch (error) {
      if (error instanceof BudgetDeferredError) this.#count(account, 'deferred');
      throw error;
    }
    this.#count(account, 'calls');
  }

  /** What SES answered a call: throttled slows that budget down, accepted lets it climb back. */
  answered(region: string, throttled: boolean, account = OWN_ACCOUNT): void {
    const pacer = this.pacer(region, account);
    if (throttled) {
      this.#count(account, 'throttled');
      pacer.throttled();
    } else pacer.accepted();
  }

  #count(account: string, what: keyof BudgetCounts): void {
    this.#counts[what]++;
    let counts = this.#byAccount.get(account);
    if (counts === undefined) {
      counts = { calls: 0, throttled: 0, deferred: 0 };
      this.#byAccount.set(account, counts);
    }
    counts[what]++;
  }

  /**
   * Calls that could not be granted before `at` (timer time, e.g. the Lambda's deadline less
   * its margin) are deferred from now on. `undefined` lifts it.
   */
  setDeadline(at: number | undefined): void {
    this.#deadline = at;
    for (const pacer of this.#pacers.values()) {
      if (at === undefined) pacer.clearDeadline();
      else pacer.setDeadline(at);
    }
  }

  /** `setDeadline` in time from now (the Lambda knows its remaining time, not the timer's). */
  deferAfter(ms: number | undefined): void {
    this.setDeadline(ms === undefined ? undefined : this.timer.now() + ms);
  }

  /** Counts since the process started, of every account or of one (take a copy before a run and subtract). */
  counts(account?: string): BudgetCounts {
    if (account === undefined) return { ...this.#counts };
    return { ...(this.#byAccount.get(account) ?? { calls: 0, throttled: 0, deferred: 0 }) };
  }
}

type Next = (args: unknown) => Promise<unknown>;
interface WithMiddlewareStack {
  readonly middlewareStack: object;
}

/**
 * Makes one SDK command wait for the budget: every attempt (the SDK's retries included)
 * waits for a slot in the account's and region's budget at `priority`, and tells the budget
 * whether SES throttled it. The middleware sits inside the retry loop, just before signing.
 * `prepaid`: the first attempt's slot was taken already (the health batcher forms its batch
 * when the slot comes). `account`: whose budget (default the caller's own). Returns the command.
 *
 * @example
 * await client.send(withBudget(new GetEmailIdentityCommand({ EmailIdentity }), budget, 'eu-west-1', 'health'));
 */
export function withBudget<C extends WithMiddlewareStack>(
  command: C,
  budget: SesBudget,
  region: string,
  priority: SesCallPriority,
  options: { prepaid?: boolean; account?: string } = {},
): C {
  let prepaid = options.prepaid ?? false;
  const account = options.account ?? OWN_ACCOUNT;
  const middleware = (next: Next) => async (args: unknown) => {
    if (prepaid) prepaid = false;
    else await budget.take(region, priority, account);
    try {
      const output = await next(args);
      budget.answered(region, false, account);
      return output;
    } catch (error) {
      if (isThrottling(error)) budget.answered(region, true, account);
      throw error;
    }
  };
  // The SDK's stack types tie a middleware to one command's input and output; this one handles any.
  (command.middlewareStack as { addRelativeTo(m: unknown, o: unknown): void }).addRelativeTo(middleware, {
    name: 'byodkimSesBudget',
    relation: 'before',
    toMiddleware: 'httpSigningMiddleware',
    override: true,
  });
  return command;
}
