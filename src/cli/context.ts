import { processUser } from '../config/engine.js';
import { DEFAULT_CONFIG_FILE, type LoadedConfig, loadConfig } from '../config/load.js';
import type { Actor } from '../domain/state.js';
import { InputError } from '../errors.js';
import type { Clock } from '../ports.js';

/** Options every command understands (set on the root program). */
export interface GlobalOptions {
  config?: string;
  output: 'table' | 'json';
  now?: string;
  profile?: string;
}

export function configPath(options: GlobalOptions): string {
  return options.config ?? DEFAULT_CONFIG_FILE;
}

export async function loadCliConfig(options: GlobalOptions): Promise<LoadedConfig> {
  if (options.profile) process.env.AWS_PROFILE = options.profile;
  return loadConfig(configPath(options));
}

/** `--now` freezes the clock at a moment (what-if and tests); otherwise real time. */
export function cliClock(options: GlobalOptions): Clock {
  if (options.now === undefined) return { now: () => new Date() };
  const at = new Date(options.now);
  if (Number.isNaN(at.getTime())) {
    throw new InputError(
      'NOW_INVALID',
      `--now: "${options.now}" is not an ISO 8601 time (e.g. 2026-01-31T00:00:00Z)`,
      {
        context: { now: options.now },
      },
    );
  }
  return { now: () => new Date(at) };
}

export function cliActor(): Actor {
  const user = processUser();
  return user === undefined ? { kind: 'cli' } : { kind: 'cli', user };
}

/**
 * A whole-number flag within bounds, or an InputError (exit 2) naming the flag and the value:
 * `--concurrency abc` must not quietly mean "no domain at all".
 */
export function integerOption(value: unknown, flag: string, min: number, max: number): number {
  const text = String(value).trim();
  const number = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new InputError(
      'OPTION_INVALID',
      `${flag}: "${String(value)}" must be a whole number from ${min} to ${max}`,
      {
        context: { flag, value: String(value) },
      },
    );
  }
  return number;
}
