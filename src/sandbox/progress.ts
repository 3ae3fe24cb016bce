/**
 * Live progress of a sandbox run. Every line names the virtual time, the domain and the
 * phase. On a terminal a small panel at the bottom shows where each domain is right now
 * and is redrawn after every pass; anywhere else (a pipe, a file, CI) only plain lines are
 * written, so the output reads the same in a log.
 */
import type { Plan } from '../domain/lifecycle/index.js';
import type { DomainState } from '../domain/state.js';
import { PHASES, type Phase } from '../domain/vocabulary.js';

export interface Reporter {
  /** A line of the log (scrolls). */
  line(text: string): void;
  /** The per-domain panel (terminal only; ignored for plain output). */
  panel(lines: readonly string[]): void;
  /** Erases the panel (the final report follows) and stops redrawing. */
  close(): void;
}

export function createReporter(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
): Reporter {
  if (!stream.isTTY) {
    return {
      line: (text) => {
        stream.write(`${text}\n`);
      },
      panel: () => undefined,
      close: () => undefined,
    };
  }
  let shown: readonly string[] = [];
  const width = () => Math.max(40, (stream.columns ?? 120) - 1);
  const fit = (text: string) => (text.length > width() ? `${text.slice(0, width() - 1)}…` : text);
  const erase = () => {
    if (shown.length > 0) stream.write(`\x1b[${shown.length}A\x1b[0J`);
  };
  const draw = () => {
    if (shown.length > 0) stream.write(`${shown.map(fit).join('\n')}\n`);
  };
  return {
    line(text) {
      erase();
      stream.write(`${text}\n`);
      draw();
    },
    panel(lines) {
      erase();
      shown = lines;
      draw();
    },
    close() {
      erase();
      shown = [];
    },
  };
}

export function phaseLabel(phase: number, manual = false): string {
  if (phase === 4 && manual) return 'phase 4 hand-off';
  return `phase ${phase} ${PHASES[phase as Phase] ?? ''}`.trimEnd();
}

/** Virtual time as `YYYY-MM-DD HH:MM` (UTC). */
export function clockText(date: Date | string): string {
  return (typeof date === 'string' ? date : date.toISOString()).slice(0, 16).replace('T', ' ');
}

/** Where a domain is in its life right now, in a few words. */
export function phaseOf(
  state: DomainState | undefined,
  plan: Plan | undefined,
  options: { verifyChecks: number; manual: boolean },
): { label: string; detail: string } {
  const keys = state?.keys ?? [];
  if (keys.length === 0) return { label: 'phase 1–2 identity', detail: 'not managed yet' };
  const active = keys.find((k) => k.status === 'active');
  const switching = keys.find((k) => k.status === 'verified' && k.switchedAt !== undefined);
  const staged = keys.find((k) => k.status === 'staged');
  const published = keys.find((k) => k.status === 'published');
  const ready = keys.find((k) => k.status === 'verified' && k.switchedAt === undefined);
  const leaving = keys.find(
    (k) => (k.status === 'retiring' || k.status === 'failed' || k.status === 'revoked') && !k.destroyedAt,
  );
  const wait = plan?.waits[0]?.message;
  if (switching)
    return { label: 'phase 6–7 switch SES', detail: `to ${switching.selector}${wait ? `: ${wait}` : ''}` };
  if (staged) return { label: phaseLabel(4, options.manual), detail: `${staged.selector} generated` };
  if (published) {
    if (state?.handOff)
      return { label: 'phase 4 hand-off', detail: `${published.selector}: waiting for the DNS team` };
    return {
      label: 'phase 5 verify DNS',
      detail: `${published.selector}: ${published.verifyStreak ?? 0}/${options.verifyChecks} checks on every nameserver`,
    };
  }
  if (ready && !active) return { label: 'phase 6 switch SES', detail: `${ready.selector} verified` };
  if (leaving) {
    return {
      label: 'phase 8 retire',
      detail: leaving.removalRequestedAt
        ? `${leaving.selector}: removal requested${plan?.next ? `, ${plan.next.what} on ${clockText(plan.next.at)}` : ''}`
        : `${leaving.selector}: grace period${plan?.next ? `, ${plan.next.what} on ${clockText(plan.next.at)}` : ''}`,
    };
  }
  if (active)
    return {
      label: 'signing',
      detail: `${active.selector}${plan?.next ? `; next: ${plan.next.what} on ${clockText(plan.next.at)}` : ''}`,
    };
  return { label: 'phase 3 generate', detail: wait ?? '' };
}
