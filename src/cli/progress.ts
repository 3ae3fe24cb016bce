import { PHASES, type Phase } from '../domain/vocabulary.js';
import type { EngineEvent, Output } from '../ports.js';

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
      return `[${event.domain}] phase ${event.phase} ${(PHASES[event.phase as Phase] ?? '').padEnd(10)} ${mark} ${event.message}`;
    }
    case 'warning':
      return `[${event.domain ?? '-'}] warning ${event.code}: ${event.message}`;
    case 'domain-done':
      return `[${event.domain}] ${event.outcome === 'ok' ? 'ok' : event.outcome === 'waiting' ? 'waiting' : 'FAILED'}: ${event.message}`;
  }
}
