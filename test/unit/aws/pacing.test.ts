import { describe, expect, it } from 'vitest';
import { Pacer, PacerPerKey } from '../../../src/adapters/aws/pacing.js';

describe('client-side pacing', () => {
  it('lets calls through no faster than the rate, in order', async () => {
    const pacer = new Pacer(50);
    const started = performance.now();
    const order: number[] = [];
    await Promise.all(Array.from({ length: 11 }, (_, i) => pacer.take().then(() => order.push(i))));
    // 11 calls at 50/s: the first at once, the last 10 intervals (200 ms) later.
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('paces each key on its own', async () => {
    const pacers = new PacerPerKey(20);
    const order: string[] = [];
    await Promise.all([
      pacers.take('us-east-1').then(() => order.push('us-east-1 first')),
      pacers.take('us-east-1').then(() => order.push('us-east-1 second')),
      pacers.take('eu-west-1').then(() => order.push('eu-west-1 first')),
    ]);
    // The second us-east-1 call waits its turn; eu-west-1 does not wait behind it.
    expect(order).toEqual(['us-east-1 first', 'eu-west-1 first', 'us-east-1 second']);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new Pacer(0)).toThrow(/rate must be > 0/);
  });
});
