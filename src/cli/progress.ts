import type { EngineEvent, Output } from '../ports.js';

const PHASE_NAMES: Record<number, string> = {
  3: 'generate',
  4: 'publish',
  5: 'verify DNS',
  6: 'switch SES',
  7: 'signing',
  8: 'retire',
};

/**
 * Progress for people: one line per finished side effect, warning and domain result,
 * `[domain] phase 6 switch SES  ✓ SES us-east-1: sign with …`. Written to stderr when
 * stdout carries JSON, so scripts get clean data.
 */
export function progressOutput(
  stream: NodeJS.WritableStream,
  options: { quiet?: boolean } = {},
): Output & { events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  return {
    events,
    event(event) {
      events.push(event);
      if (options.quiet) return;
      const line = formatEvent(event);
      if (line) stream.write(`${line}\n`);
    },
  };
}

export function formatEvent(event: EngineEvent): string | undefined {
  switch (event.type) {
    case 'domain-start':
      return undefined;
    case 'step': {
      if (event.status === 'start') return undefined;
      const mark = event.status === 'done' ? '✓' : event.status === 'failed' ? '✗' : '·';
      return `[${event.domain}] phase ${event.phase} ${(PHASE_NAMES[event.phase] ?? '').padEnd(10)} ${mark} ${event.message}`;
    }
    case 'warning':
      return `[${event.domain ?? '-'}] warning ${event.code}: ${event.message}`;
    case 'domain-done':
      return `[${event.domain}] ${event.outcome === 'ok' ? 'ok' : event.outcome === 'waiting' ? 'waiting' : 'FAILED'}: ${event.message}`;
  }
}
