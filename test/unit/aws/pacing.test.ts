import { describe, expect, it } from 'vitest';
import {
  BudgetDeferredError,
  type PacerTimer,
  PriorityPacer,
  SesBudget,
  withBudget,
} from '../../../src/adapters/aws/pacing.js';
import type { SesCallPriority } from '../../../src/ports.js';

/** A timer that moves only when told: sleepers wake in time order as the clock passes them. */
class ManualTimer implements PacerTimer {
  #now = 0;
  #sleepers: Array<{ at: number; wake: () => void }> = [];
  now(): number {
    return this.#now;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.#sleepers.push({ at: this.#now + ms, wake }));
  }
  /** Moves the clock by `ms`, waking sleepers due by then, and lets their grants settle. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      this.#sleepers.sort((a, b) => a.at - b.at);
      const next = this.#sleepers[0];
      if (!next || next.at > target) break;
      this.#sleepers.shift();
      this.#now = next.at;
      next.wake();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('the SES budget: one pacer per account and region', () => {
  it('lets calls leave no faster than the rate after the burst', async () => {
    const timer = new ManualTimer();
    const pacer = new PriorityPacer('a/us-east-1', 1, 2, timer);
    let granted = 0;
    for (let i = 0; i < 10; i++) void pacer.take('transition').then(() => granted++);
    await settle();
    expect(granted).toBe(2); // the burst
    await timer.advance(999);
    expect(granted).toBe(2);
    await timer.advance(1);
    expect(granted).toBe(3);
    await timer.advance(5_000);
    expect(granted).toBe(8); // one a second
  });

  it('grants writes first, then reads of identities in transition, health reads last', async () => {
    const timer = new ManualTimer();
    const pacer = new PriorityPacer('a/eu-west-1', 1, 1, timer);
    const order: string[] = [];
    const ask = (priority: SesCallPriority, label: string) =>
      void pacer.take(priority).then(() => order.push(label));
    ask('health', 'first, alone');
    await settle();
    ask('health', 'health 1');
    ask('transition', 'transition');
    ask('health', 'health 2');
    ask('change', 'put');
    await timer.advance(10_000);
    expect(order).toEqual(['first, alone', 'put', 'transition', 'health 1', 'health 2']);
  });

  it('slows down when SES throttles anyway, and climbs back as calls are accepted', () => {
    const pacer = new PriorityPacer('a/us-east-1', 4, 1, new ManualTimer());
    pacer.throttled();
    expect(pacer.rate).toBe(2);
    pacer.throttled();
    pacer.throttled();
    pacer.throttled();
    expect(pacer.rate).toBe(0.5); // never below 1/8 of the configured rate
    for (let i = 0; i < 100; i++) pacer.accepted();
    expect(pacer.rate).toBe(4); // never above it
  });

  it('after a throttled answer, leaves the service a full interval before the next call', async () => {
    const timer = new ManualTimer();
    const pacer = new PriorityPacer('a/us-east-1', 1, 2, timer);
    let granted = 0;
    pacer.throttled(); // rate 0.5: one call every 2 s, and none before then
    for (let i = 0; i < 3; i++) void pacer.take('change').then(() => granted++);
    await timer.advance(1_999);
    expect(granted).toBe(0);
    await timer.advance(1);
    expect(granted).toBe(1);
  });

  it('defers, never fails, the calls it cannot grant before the deadline', async () => {
    const timer = new ManualTimer();
    const budget = new SesBudget({ ratePerSecond: 1, burst: 1, timer });
    budget.setDeadline(2_500);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      budget.take('us-east-1', 'health').then(
        () => outcomes.push('granted'),
        (error: unknown) => outcomes.push(error instanceof BudgetDeferredError ? error.code : 'other'),
      );
    }
    await timer.advance(10_000);
    // At 0, 1 000 and 2 000 ms; the 3 000 ms slot is past the deadline.
    expect(outcomes).toEqual(['granted', 'granted', 'granted', 'SES_DEFERRED', 'SES_DEFERRED']);
    expect(budget.counts()).toEqual({ calls: 3, throttled: 0, deferred: 2 });
    budget.setDeadline(undefined);
    await budget.take('us-east-1', 'health');
    expect(budget.counts().calls).toBe(4);
  });

  it('keeps each region to its own budget', async () => {
    const timer = new ManualTimer();
    const budget = new SesBudget({ ratePerSecond: 1, burst: 1, timer });
    const order: string[] = [];
    void budget.take('us-east-1', 'change').then(() => order.push('us-east-1 first'));
    void budget.take('us-east-1', 'change').then(() => order.push('us-east-1 second'));
    void budget.take('eu-west-1', 'change').then(() => order.push('eu-west-1 first'));
    await settle();
    expect(order).toEqual(['us-east-1 first', 'eu-west-1 first']);
    await timer.advance(1_000);
    expect(order).toEqual(['us-east-1 first', 'eu-west-1 first', 'us-east-1 second']);
  });

  it('keeps each account to its own budget: a throttled account slows only itself', async () => {
    const timer = new ManualTimer();
    const budget = new SesBudget({ ratePerSecond: 1, burst: 1, timer });
    const order: string[] = [];
    // brand-a was throttled: its pace halves; brand-b in the same region keeps its own.
    await budget.take('eu-west-1', 'change', 'brand-a');
    budget.answered('eu-west-1', true, 'brand-a');
    await budget.take('eu-west-1', 'change', 'brand-b');
    budget.answered('eu-west-1', false, 'brand-b');
    for (const n of [1, 2, 3]) {
      void budget.take('eu-west-1', 'change', 'brand-a').then(() => order.push(`a${n}`));
      void budget.take('eu-west-1', 'change', 'brand-b').then(() => order.push(`b${n}`));
    }
    await timer.advance(3_000);
    // brand-b made its three calls; brand-a, at half the pace after its throttled answer, one.
    expect(order.filter((c) => c.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    expect(order.filter((c) => c.startsWith('a'))).toEqual(['a1']);
    expect(budget.counts('brand-a')).toEqual({ calls: 2, throttled: 1, deferred: 0 });
    expect(budget.counts('brand-b')).toEqual({ calls: 4, throttled: 0, deferred: 0 });
    expect(budget.counts()).toEqual({ calls: 6, throttled: 1, deferred: 0 });
  });

  it('makes every attempt of an SDK command wait for the budget, and learns from throttled answers', async () => {
    const timer = new ManualTimer();
    const budget = new SesBudget({ ratePerSecond: 1, burst: 1, timer });
    let installed: ((next: (a: unknown) => Promise<unknown>) => (a: unknown) => Promise<unknown>) | undefined;
    const command = {
      middlewareStack: {
        addRelativeTo(middleware: typeof installed, options: { toMiddleware: string }) {
          expect(options.toMiddleware).toBe('httpSigningMiddleware');
          installed = middleware;
        },
      },
    };
    expect(withBudget(command, budget, 'us-east-1', 'change')).toBe(command);
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    const attempt = installed?.(async () => {
      throw throttled;
    });
    await expect(attempt?.({})).rejects.toBe(throttled);
    const ok = installed?.(async () => 'answer');
    const second = ok?.({});
    await timer.advance(10_000);
    await expect(second).resolves.toBe('answer');
    expect(budget.counts()).toEqual({ calls: 2, throttled: 1, deferred: 0 });
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new SesBudget({ ratePerSecond: 0 })).toThrow(/rate must be > 0/);
  });
});
