/**
 * Tells a person, on a terminal (or any stream), what byodkim needs from them. This is a
 * deliberate output channel, not logging: it writes to the stream it is given, never to
 * the console.
 */
import type { DnsRecordChange, Notification, Notifier } from '../../ports.js';

export interface StdoutNotifierOptions {
  /** Where messages go. Default `process.stdout`. */
  stream?: NodeJS.WritableStream;
}

/**
 * @example
 * ```ts
 * const notifier = new StdoutNotifier({ stream: process.stderr });
 * await notifier.notify({ kind: 'rotated', domain: 'example.com', selector: 'sel2', message: 'now signing with sel2' });
 * ```
 */
export class StdoutNotifier implements Notifier {
  readonly #stream: NodeJS.WritableStream;

  constructor(options: StdoutNotifierOptions = {}) {
    this.#stream = options.stream ?? process.stdout;
  }

  async notify(notification: Notification): Promise<void> {
    const text = `${formatNotification(notification)}\n`;
    await new Promise<void>((resolve, reject) => {
      this.#stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** A short human message: names and counts, never record values. */
export function formatNotification(notification: Notification): string {
  switch (notification.kind) {
    case 'dns-hand-off': {
      const { domain, add, remove, files } = notification;
      const lines = [
        `DNS hand-off for ${domain}: please ${[
          add.length > 0 ? `publish ${plural(add.length, 'TXT record')}` : undefined,
          remove.length > 0 ? `remove ${plural(remove.length, 'TXT record')}` : undefined,
        ]
          .filter(Boolean)
          .join(' and ')}.`,
        ...add.map((c) => `  add     ${c.name} (TTL ${c.ttl ?? 'default'}, selector ${c.selector})`),
        ...remove.map((c) => `  remove  ${c.name}${notBefore(c)} (selector ${c.selector})`),
      ];
      if (files && files.length > 0) lines.push(`  request files: ${files.join(', ')}`);
      lines.push('byodkim keeps checking DNS and goes on once every nameserver shows the change.');
      return lines.join('\n');
    }
    case 'failure':
      return `byodkim: ${notification.domain}: ${notification.message} (${notification.reason})`;
    case 'rotated':
      return `byodkim: ${notification.domain}: ${notification.message} (selector ${notification.selector})`;
  }
}

function notBefore(change: DnsRecordChange): string {
  return change.notBefore ? `, not before ${change.notBefore}` : '';
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
