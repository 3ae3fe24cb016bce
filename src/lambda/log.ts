/**
 * Structured logs for the Lambda: one JSON object per line on stdout, which CloudWatch Logs
 * stores as is and Logs Insights queries by field (`level`, `domain`, `phase`, `step`,
 * `reason`, `requestId`, ...). Written with `process.stdout.write`, not `console`, so the
 * runtime's JSON log format does not wrap the line (EMF metric lines need to stay bare too).
 *
 * Private keys never reach these lines by design (the engine reports selectors and names,
 * `DkimPrivateKey` serializes as a placeholder); the serializer also cuts any PEM private
 * key block, as a second line of defence.
 */
import { isByodkimError } from '../errors.js';
import type { EngineEvent, Output } from '../ports.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, unknown>>;

export interface JsonLoggerOptions {
  /** Writes one line (with its newline). Default `process.stdout.write`. */
  write?: (line: string) => void;
  /** Lowest level written. Default `info`. */
  level?: LogLevel;
  /** Fields on every line (requestId, function name, ...). */
  base?: LogFields;
  now?: () => Date;
}

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g;

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in LEVELS;
}

export function stdoutWriter(line: string): void {
  process.stdout.write(line);
}

/** Errors as plain data: name, code, message (never the cause chain's raw SDK objects). */
export function errorFields(error: unknown): Record<string, unknown> {
  if (isByodkimError(error)) {
    return { name: error.name, code: error.code, message: error.message, context: error.context };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { message: String(error) };
}

/**
 * @example
 * ```ts
 * const log = new JsonLogger({ base: { requestId: context.awsRequestId } });
 * log.info('pass complete', { ok: 12, failed: 0 });
 * // {"timestamp":"…","level":"info","message":"pass complete","requestId":"…","ok":12,"failed":0}
 * ```
 */
export class JsonLogger {
  readonly #write: (line: string) => void;
  readonly #level: LogLevel;
  readonly #base: LogFields;
  readonly #now: () => Date;

  constructor(options: JsonLoggerOptions = {}) {
    this.#write = options.write ?? stdoutWriter;
    this.#level = options.level ?? 'info';
    this.#base = options.base ?? {};
    this.#now = options.now ?? (() => new Date());
  }

  /** A logger whose lines also carry `fields`. */
  child(fields: LogFields): JsonLogger {
    return new JsonLogger({
      write: this.#write,
      level: this.#level,
      base: { ...this.#base, ...fields },
      now: this.#now,
    });
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.#level];
  }

  log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const line = serialize({
      timestamp: this.#now().toISOString(),
      level,
      message,
      ...this.#base,
      ...fields,
    });
    this.#write(`${line}\n`);
  }

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }
}

/** JSON with undefined fields dropped, errors as data, and any PEM private key cut out. */
export function serialize(record: Record<string, unknown>): string {
  const json = JSON.stringify(record, (_key, value: unknown) => {
    if (value instanceof Error) return errorFields(value);
    if (typeof value === 'bigint') return value.toString();
    return value;
  });
  return json.replace(PEM_PRIVATE_KEY, '[private key removed]');
}

/**
 * The engine's Output as log lines: step starts at debug, finished steps at info, failed
 * steps and failed domains at error, skipped steps and warnings at warn.
 */
export function logOutput(log: JsonLogger): Output {
  return { event: (event) => logEngineEvent(log, event) };
}

export function logEngineEvent(log: JsonLogger, event: EngineEvent): void {
  switch (event.type) {
    case 'domain-start':
      log.debug('domain pass started', { event: event.type, domain: event.domain });
      return;
    case 'step': {
      const level: LogLevel =
        event.status === 'start'
          ? 'debug'
          : event.status === 'failed'
            ? 'error'
            : event.status === 'skipped'
              ? 'warn'
              : 'info';
      log.log(level, event.message, {
        event: event.type,
        domain: event.domain,
        phase: event.phase,
        step: event.step,
        status: event.status,
      });
      return;
    }
    case 'warning':
      log.warn(event.message, { event: event.type, domain: event.domain, reason: event.code });
      return;
    case 'domain-done':
      log.log(event.outcome === 'failed' ? 'error' : 'info', event.message, {
        event: event.type,
        domain: event.domain,
        outcome: event.outcome,
      });
      return;
  }
}
