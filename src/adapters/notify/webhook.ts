/**
 * POSTs every notification as JSON to a URL (chat bridges, ticketing, a DNS team's own
 * automation). Each delivery has an id that stays the same across retries, so a receiver
 * can drop duplicates; 5xx, 408, 429, timeouts and network errors are retried with
 * exponential backoff and jitter; other 4xx answers are final.
 *
 * Signing: when the secret environment variable (default `BYODKIM_WEBHOOK_SECRET`) is set,
 * each request carries
 *
 *   X-Byodkim-Timestamp: <unix seconds>
 *   X-Byodkim-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>
 *
 * A receiver recomputes the HMAC over the raw body, compares in constant time, and rejects
 * stale timestamps (replays). The secret is read from the environment, never from the config
 * file, and never appears in errors. Webhook URLs often embed a token (Slack, Teams), so
 * errors name only the URL's origin.
 *
 * Body:
 *
 *   { "source": "byodkim", "version": 1, "id": "<delivery id>", "at": "<ISO time>",
 *     "text": "<one human line>", "notification": { "kind": ..., "domain": ..., ... } }
 */
import { createHmac, randomUUID } from 'node:crypto';
import { ServiceError } from '../../errors.js';
import type { Notification, Notifier } from '../../ports.js';
import { formatNotification } from './stdout.js';

export const WEBHOOK_SECRET_ENV = 'BYODKIM_WEBHOOK_SECRET';

export interface WebhookNotifierOptions {
  url: string;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Attempts in all, the first included. Default 4. */
  maxAttempts?: number;
  /** First backoff; doubles per attempt (full jitter), capped at 30 s. Default 500 ms. */
  backoffMs?: number;
  /** HMAC secret; default the value of `secretEnv`. */
  secret?: string;
  /** Environment variable holding the HMAC secret. Default `BYODKIM_WEBHOOK_SECRET`. */
  secretEnv?: string;
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface WebhookBody {
  source: 'byodkim';
  version: 1;
  id: string;
  at: string;
  text: string;
  notification: Notification;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * @example
 * ```ts
 * // BYODKIM_WEBHOOK_SECRET=… in the environment signs every request.
 * const notifier = new WebhookNotifier({ url: 'https://hooks.example.com/byodkim' });
 * await notifier.notify({ kind: 'rotated', domain: 'example.com', selector: 'sel2', message: 'now signing with sel2' });
 * ```
 */
export class WebhookNotifier implements Notifier {
  readonly url: string;
  /** The URL without path or query: safe to print. */
  readonly origin: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #secret: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #now: () => Date;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: WebhookNotifierOptions) {
    const parsed = new URL(options.url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ServiceError('NOTIFY_WEBHOOK_URL', `webhook URL must be http(s), not ${parsed.protocol}`, {
        context: { service: 'webhook', origin: parsed.origin },
      });
    }
    this.url = options.url;
    this.origin = parsed.origin;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.#backoffMs = options.backoffMs ?? 500;
    const env = options.env ?? process.env;
    const secret = options.secret ?? env[options.secretEnv ?? WEBHOOK_SECRET_ENV];
    this.#secret = secret === undefined || secret === '' ? undefined : secret;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? (() => new Date());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  /** Whether requests carry an HMAC signature. */
  get signed(): boolean {
    return this.#secret !== undefined;
  }

  async notify(notification: Notification): Promise<void> {
    const id = randomUUID();
    const body: WebhookBody = {
      source: 'byodkim',
      version: 1,
      id,
      at: this.#now().toISOString(),
      text: formatNotification(notification).split('\n')[0] ?? '',
      notification,
    };
    const text = JSON.stringify(body);
    let last = '';
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const outcome = await this.#deliver(text, id, notification.kind);
      if (outcome.ok) return;
      last = outcome.detail;
      if (!outcome.retryable || attempt === this.#maxAttempts) {
        throw new ServiceError(
          'NOTIFY_WEBHOOK_FAILED',
          `webhook ${this.origin} did not accept the ${notification.kind} notification for ${notification.domain}: ${last} (${attempt} ${attempt === 1 ? 'attempt' : 'attempts'})`,
          {
            context: {
              service: 'webhook',
              origin: this.origin,
              domain: notification.domain,
              kind: notification.kind,
              delivery: id,
              attempts: attempt,
            },
            retryable: outcome.retryable,
          },
        );
      }
      const cap = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2 ** (attempt - 1));
      await this.#sleep(Math.max(outcome.retryAfterMs ?? 0, Math.floor(this.#random() * cap)));
    }
  }

  async #deliver(
    text: string,
    id: string,
    kind: string,
  ): Promise<{ ok: true } | { ok: false; retryable: boolean; detail: string; retryAfterMs?: number }> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'byodkim-webhook/1',
      'x-byodkim-event': kind,
      'x-byodkim-delivery': id,
    };
    if (this.#secret !== undefined) {
      const timestamp = String(Math.floor(this.#now().getTime() / 1000));
      headers['x-byodkim-timestamp'] = timestamp;
      headers['x-byodkim-signature'] = `sha256=${webhookSignature(this.#secret, timestamp, text)}`;
    }
    try {
      const response = await this.#fetch(this.url, {
        method: 'POST',
        headers,
        body: text,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      // Drain the body so the connection can be reused; its content is not needed.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true };
      const status = response.status;
      const retryable = status >= 500 || status === 408 || status === 429;
      const retryAfter = Number(response.headers.get('retry-after'));
      return {
        ok: false,
        retryable,
        detail: `HTTP ${status}`,
        ...(Number.isFinite(retryAfter) && retryAfter > 0
          ? { retryAfterMs: Math.min(MAX_BACKOFF_MS, retryAfter * 1000) }
          : {}),
      };
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      const detail =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${this.#timeoutMs} ms`
          : (e.cause?.code ?? e.name ?? 'network error');
      return { ok: false, retryable: true, detail };
    }
  }
}

/** Hex HMAC-SHA256 of `<timestamp>.<body>`: what `X-Byodkim-Signature` carries after `sha256=`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
