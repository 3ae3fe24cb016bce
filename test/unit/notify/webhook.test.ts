import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type WebhookBody, WebhookNotifier, webhookSignature } from '../../../src/adapters/notify/webhook.js';
import { ServiceError } from '../../../src/errors.js';
import type { Notification } from '../../../src/ports.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP server whose answers are scripted per test: one handler per request, in order. */
let server: Server;
let base: string;
let received: Received[];
let script: Array<(res: ServerResponse) => void>;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = script.shift() ?? ((r: ServerResponse) => r.writeHead(204).end());
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  script = [];
});

const HAND_OFF: Notification = {
  kind: 'dns-hand-off',
  domain: 'example.com',
  add: [
    {
      action: 'upsert',
      name: 'example-20260101-1._domainkey.example.com',
      value: 'v=DKIM1; k=rsa; p=MIIBIjANBgkq',
      ttl: 300,
      selector: 'example-20260101-1',
      reason: 'PUBLISH_NEXT',
    },
  ],
  remove: [],
};

const status =
  (code: number, headers: Record<string, string> = {}) =>
  (res: ServerResponse) =>
    res.writeHead(code, headers).end('body');

const noSleep = { sleep: async () => {}, random: () => 0.5 };

describe('WebhookNotifier against a local HTTP server', () => {
  it('POSTs the notification as JSON with event and delivery headers, unsigned without a secret', async () => {
    const notifier = new WebhookNotifier({ url: `${base}/hooks/byodkim?token=abc`, env: {}, ...noSleep });
    expect(notifier.signed).toBe(false);
    await notifier.notify(HAND_OFF);

    expect(received).toHaveLength(1);
    const [request] = received as [Received];
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hooks/byodkim?token=abc');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-byodkim-event']).toBe('dns-hand-off');
    expect(request.headers['x-byodkim-signature']).toBeUndefined();
    const body = JSON.parse(request.body) as WebhookBody;
    expect(body).toMatchObject({ source: 'byodkim', version: 1, notification: HAND_OFF });
    expect(body.id).toBe(request.headers['x-byodkim-delivery']);
    expect(body.text).toMatch(/^DNS hand-off for example\.com/);
    expect(Date.parse(body.at)).not.toBeNaN();
  });

  it('signs "<timestamp>.<body>" with HMAC-SHA256 when the secret variable is set', async () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const notifier = new WebhookNotifier({
      url: `${base}/signed`,
      env: { BYODKIM_WEBHOOK_SECRET: 's3cret' },
      now: () => now,
      ...noSleep,
    });
    expect(notifier.signed).toBe(true);
    await notifier.notify({
      kind: 'rotated',
      domain: 'example.com',
      selector: 'sel2',
      message: 'now signing',
    });

    const [request] = received as [Received];
    const timestamp = String(now.getTime() / 1000);
    expect(request.headers['x-byodkim-timestamp']).toBe(timestamp);
    expect(request.headers['x-byodkim-signature']).toBe(
      `sha256=${webhookSignature('s3cret', timestamp, request.body)}`,
    );
    // Independently of the helper: a receiver's own computation matches.
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', 's3cret').update(`${timestamp}.${request.body}`).digest('hex');
    expect(request.headers['x-byodkim-signature']).toBe(`sha256=${expected}`);
  });

  it('reads the secret from a custom variable and ignores an empty one', () => {
    expect(new WebhookNotifier({ url: base, secretEnv: 'HOOK_KEY', env: { HOOK_KEY: 'k' } }).signed).toBe(
      true,
    );
    expect(new WebhookNotifier({ url: base, env: { BYODKIM_WEBHOOK_SECRET: '' } }).signed).toBe(false);
  });

  it('retries 5xx and 429 with the same delivery id, then succeeds', async () => {
    script = [status(503), status(429, { 'retry-after': '2' }), status(500), status(200)];
    const sleeps: number[] = [];
    const notifier = new WebhookNotifier({
      url: base,
      env: {},
      maxAttempts: 4,
      backoffMs: 100,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    await notifier.notify(HAND_OFF);
    expect(received).toHaveLength(4);
    expect(new Set(received.map((r) => r.headers['x-byodkim-delivery'])).size).toBe(1);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    // Full jitter over a doubling cap (100, 200, 400); Retry-After (2 s) wins when longer.
    expect(sleeps).toEqual([50, 2000, 200]);
  });

  it('gives up after maxAttempts with a retryable ServiceError that names only the origin', async () => {
    script = [status(502), status(502), status(502)];
    const notifier = new WebhookNotifier({
      url: `${base}/T000/B000/secret-token`,
      env: {},
      maxAttempts: 3,
      ...noSleep,
    });
    const error = await notifier.notify(HAND_OFF).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'NOTIFY_WEBHOOK_FAILED', retryable: true });
    expect((error as Error).message).toContain('HTTP 502');
    expect((error as Error).message).toContain('3 attempts');
    expect((error as Error).message).not.toContain('secret-token');
    expect(JSON.stringify((error as ServiceError).context)).not.toContain('secret-token');
    expect(received).toHaveLength(3);
  });

  it('does not retry a 4xx answer', async () => {
    script = [status(400)];
    const notifier = new WebhookNotifier({ url: base, env: {}, ...noSleep });
    await expect(notifier.notify(HAND_OFF)).rejects.toMatchObject({
      code: 'NOTIFY_WEBHOOK_FAILED',
      retryable: false,
      message: expect.stringContaining('HTTP 400 (1 attempt)'),
    });
    expect(received).toHaveLength(1);
  });

  it('times out a server that never answers, and retries', async () => {
    script = [() => {}, () => {}];
    const notifier = new WebhookNotifier({ url: base, env: {}, timeoutMs: 200, maxAttempts: 2, ...noSleep });
    await expect(notifier.notify(HAND_OFF)).rejects.toThrow(/no answer within 200 ms \(2 attempts\)/);
    expect(received).toHaveLength(2);
  });

  it('treats a refused connection as retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const notifier = new WebhookNotifier({
      url: `http://127.0.0.1:${port}/`,
      env: {},
      maxAttempts: 2,
      ...noSleep,
    });
    await expect(notifier.notify(HAND_OFF)).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('refuses non-HTTP URLs', () => {
    expect(() => new WebhookNotifier({ url: 'file:///etc/passwd' })).toThrow(/must be http/);
  });
});
