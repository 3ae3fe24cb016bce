import type { ProbeResult } from '../ports.js';

/** Every answer is `match`, and there is at least one: the record is served everywhere. */
export function isPropagated(result: ProbeResult | undefined): boolean {
  return (
    result !== undefined && result.answers.length > 0 && result.answers.every((a) => a.outcome === 'match')
  );
}

/** Every answer is `missing`, and there is at least one: the record is gone everywhere. */
export function isGone(result: ProbeResult | undefined): boolean {
  return (
    result !== undefined && result.answers.length > 0 && result.answers.every((a) => a.outcome === 'missing')
  );
}
