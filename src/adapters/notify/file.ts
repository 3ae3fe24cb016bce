/**
 * Appends every notification as one JSON line to a file, for a ticketing hook, a log
 * shipper or a person with `tail -f`. Each line is `{ "at": ISO time, ...notification }`.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ServiceError } from '../../errors.js';
import type { Notification, Notifier } from '../../ports.js';

export interface FileNotifierOptions {
  path: string;
  /** Clock for the `at` field. Default the system clock. */
  now?: () => Date;
}

/**
 * @example
 * ```ts
 * const notifier = new FileNotifier({ path: '/var/log/byodkim/notifications.jsonl' });
 * await notifier.notify({ kind: 'failure', domain: 'example.com', reason: 'SES_FAILED', message: 'SES reported FAILED' });
 * ```
 */
export class FileNotifier implements Notifier {
  readonly path: string;
  readonly #now: () => Date;

  constructor(options: FileNotifierOptions) {
    this.path = resolve(options.path);
    this.#now = options.now ?? (() => new Date());
  }

  async notify(notification: Notification): Promise<void> {
    // One write per line with O_APPEND: concurrent writers never interleave within a line.
    const line = `${JSON.stringify({ at: this.#now().toISOString(), ...notification })}\n`;
    try {
      // Never group- or world-writable, whatever the umask: others may read, not forge, lines.
      await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
      await appendFile(this.path, line, { encoding: 'utf8', mode: 0o640 });
    } catch (error) {
      throw new ServiceError(
        'NOTIFY_FILE_FAILED',
        `cannot append the notification to ${this.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        {
          context: { service: 'notify', path: this.path, kind: notification.kind },
          cause: error,
          retryable: true,
        },
      );
    }
  }
}
