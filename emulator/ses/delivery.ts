/**
 * What happens to mail after SendEmail accepted it (SPEC.md §15): it waits `deliveryDelayMs`
 * of the emulator clock, then goes to the inbound sink routed for each recipient's domain —
 * an S3 bucket as SES receiving's S3 action stores it, an SMTP/LMTP server, or the
 * emulator's own mailbox (kept in memory, for a harness with no server to receive). The
 * outbox keeps the truth of every message (when, signed with what, delivered where) without
 * bodies.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { EmulatorClock } from '../clock.js';
import { rfc5322Date } from './signing.js';
import { deliverOverSmtp } from './smtp-client.js';

export type InboundRoute =
  | {
      /** Recipient domain this route receives for (exact, case-insensitive). */
      domain: string;
      type: 's3';
      bucket: string;
      prefix?: string;
      /** S3 endpoint (moto); the SDK's default when absent. */
      endpoint?: string;
      region?: string;
      credentials?: { accessKeyId: string; secretAccessKey: string };
    }
  | { domain: string; type: 'smtp' | 'lmtp'; host: string; port: number }
  /** Kept in the emulator's mailbox: `mailbox()` reads it, `removeFromMailbox(id)` deletes. */
  | { domain: string; type: 'mailbox' };

/** A message delivered to the emulator's mailbox, as the receiving side stored it. */
export interface MailboxMessage {
  id: string;
  recipients: string[];
  /** Emulator clock, ISO: when it was delivered. */
  at: string;
  /** The raw message, `Return-Path` and `Received` on top. */
  raw: string;
}

/** Messages the mailbox holds at most; the oldest goes first [choice: a harness reads and deletes]. */
const MAILBOX_LIMIT = 1_000;

export interface OutboxDelivery {
  recipient: string;
  /** `s3://bucket/key`, `lmtp://host:port`, `mailbox:<id>`, or `no-route`. */
  sink: string;
  /** Emulator clock, when delivered. */
  at?: string;
  error?: string;
}

export interface OutboxEntry {
  messageId: string;
  /** Emulator clock, ISO: when SES accepted (and signed) the message. */
  at: string;
  account: string;
  region: string;
  from: string;
  recipients: string[];
  envelopeFrom: string;
  signedWithDomainKey: boolean;
  selector?: string;
  dueAt: string;
  deliveries: OutboxDelivery[];
}

export interface OutboxFilter {
  account?: string | undefined;
  region?: string | undefined;
  identity?: string | undefined;
}

interface Queued {
  entry: OutboxEntry;
  message: string;
  dueMs: number;
}

const POLL_MS = 100;

export class Delivery {
  readonly #clock: EmulatorClock;
  readonly #delayMs: number;
  #routes: readonly InboundRoute[];
  #outbox: OutboxEntry[] = [];
  #queue: Queued[] = [];
  #mailbox: MailboxMessage[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #s3 = new Map<string, S3Client>();
  #serial = 0;

  constructor(clock: EmulatorClock, delayMs: number, routes: readonly InboundRoute[]) {
    this.#clock = clock;
    this.#delayMs = delayMs;
    this.#routes = routes;
  }

  /** Queues an accepted message; it is delivered `deliveryDelayMs` later on the emulator clock. */
  enqueue(entry: Omit<OutboxEntry, 'dueAt' | 'deliveries'>, message: string): OutboxEntry {
    const dueMs = Date.parse(entry.at) + this.#delayMs;
    const full: OutboxEntry = { ...entry, dueAt: new Date(dueMs).toISOString(), deliveries: [] };
    this.#outbox.push(full);
    this.#queue.push({ entry: full, message, dueMs });
    this.#poll();
    return full;
  }

  /** Delivers every message whose moment has come on the emulator clock. */
  deliverDue(): Promise<void> {
    // One sweep at a time: a second caller waits for the sweep under way, then sweeps again.
    const run = async (): Promise<void> => {
      const now = this.#clock.now().getTime();
      const due = this.#queue.filter((q) => q.dueMs <= now);
      this.#queue = this.#queue.filter((q) => q.dueMs > now);
      for (const q of due) await this.#deliver(q);
    };
    const previous = this.#running ?? Promise.resolve();
    const next = previous.then(run, run);
    this.#running = next.finally(() => {
      if (this.#running === next) this.#running = undefined;
    });
    return next;
  }

  outbox(filter: OutboxFilter = {}): OutboxEntry[] {
    const identity = filter.identity?.toLowerCase();
    return this.#outbox
      .filter(
        (e) =>
          (filter.account === undefined || e.account === filter.account) &&
          (filter.region === undefined || e.region === filter.region) &&
          (identity === undefined ||
            e.from.toLowerCase() === identity ||
            e.from.toLowerCase().endsWith(`@${identity}`)),
      )
      .map((e) => structuredClone(e));
  }

  /** What the mailbox holds now, oldest first (copies). */
  mailbox(): MailboxMessage[] {
    return this.#mailbox.map((m) => ({ ...m, recipients: [...m.recipients] }));
  }

  /** Deletes one message from the mailbox; false when it is not there. */
  removeFromMailbox(id: string): boolean {
    const before = this.#mailbox.length;
    this.#mailbox = this.#mailbox.filter((m) => m.id !== id);
    return this.#mailbox.length < before;
  }

  reset(): void {
    this.#outbox = [];
    this.#queue = [];
    this.#mailbox = [];
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const client of this.#s3.values()) client.destroy();
    this.#s3.clear();
  }

  /** A wall-clock poller that runs only while something waits (unref'd: it never keeps a process up). */
  #poll(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#queue.length === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        return;
      }
      this.deliverDue().catch(() => undefined);
    }, POLL_MS);
    this.#timer.unref();
  }

  async #deliver(q: Queued): Promise<void> {
    // Stamped with the moment it was due: a lazy sweep must not stretch the delay it models.
    const at = new Date(q.dueMs);
    const byRoute = new Map<InboundRoute | undefined, string[]>();
    for (const recipient of q.entry.recipients) {
      const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
      const route = this.#routes.find((r) => r.domain.toLowerCase() === domain);
      byRoute.set(route, [...(byRoute.get(route) ?? []), recipient]);
    }
    for (const [route, recipients] of byRoute) {
      if (route === undefined) {
        for (const recipient of recipients) q.entry.deliveries.push({ recipient, sink: 'no-route' });
        continue;
      }
      const id = `${at.getTime().toString(36)}${(this.#serial++).toString(36)}${randomBytes(8).toString('hex')}`;
      const message = receivedHeaders(q, route, recipients, id, at) + q.message;
      let sink: string;
      let error: string | undefined;
      try {
        sink = await this.#toSink(route, recipients, q.entry.envelopeFrom, message, id, at);
      } catch (failure) {
        sink = describeRoute(route);
        error = failure instanceof Error ? failure.message : String(failure);
      }
      for (const recipient of recipients)
        q.entry.deliveries.push({
          recipient,
          sink,
          ...(error === undefined ? { at: at.toISOString() } : { error }),
        });
    }
  }

  async #toSink(
    route: InboundRoute,
    recipients: string[],
    envelopeFrom: string,
    message: string,
    id: string,
    at: Date,
  ): Promise<string> {
    if (route.type === 'mailbox') {
      this.#mailbox.push({ id, recipients: [...recipients], at: at.toISOString(), raw: message });
      if (this.#mailbox.length > MAILBOX_LIMIT) this.#mailbox.shift();
      return `mailbox:${id}`;
    }
    if (route.type === 's3') {
      const key = `${route.prefix ?? ''}${id}`;
      await this.#s3Client(route).send(
        new PutObjectCommand({
          Bucket: route.bucket,
          Key: key,
          Body: message,
          ContentType: 'message/rfc822',
        }),
      );
      return `s3://${route.bucket}/${key}`;
    }
    await deliverOverSmtp(
      { host: route.host, port: route.port, protocol: route.type },
      { from: envelopeFrom, recipients },
      message,
    );
    return describeRoute(route);
  }

  #s3Client(route: Extract<InboundRoute, { type: 's3' }>): S3Client {
    const key = `${route.endpoint ?? ''}|${route.region ?? ''}|${route.credentials?.accessKeyId ?? ''}`;
    let client = this.#s3.get(key);
    if (!client) {
      client = new S3Client({
        region: route.region ?? 'us-east-1',
        ...(route.endpoint ? { endpoint: route.endpoint, forcePathStyle: true } : {}),
        ...(route.credentials ? { credentials: route.credentials } : {}),
      });
      this.#s3.set(key, client);
    }
    return client;
  }
}

/** The region's fixed sending address (SPEC.md §15), from TEST-NET-3. */
export function sendingAddress(region: string): string {
  let hash = 0;
  for (const c of region) hash = (hash * 31 + c.charCodeAt(0)) % 250;
  return `203.0.113.${hash + 1}`;
}

function receivedHeaders(q: Queued, route: InboundRoute, recipients: string[], id: string, at: Date): string {
  const region = q.entry.region;
  const host = `a${sendingAddress(region).split('.')[3]}.smtp-out.${region}.amazonses.com`;
  const by =
    route.type === 's3'
      ? `inbound-smtp.${region}.amazonaws.com`
      : route.type === 'mailbox'
        ? 'mailbox.ses-emulator.invalid'
        : route.host;
  const received =
    `Received: from ${host} (${host} [${sendingAddress(region)}])\r\n` +
    ` by ${by} with ESMTP id ${id}\r\n` +
    ` for <${recipients[0]}>; ${rfc5322Date(at)}`;
  return `Return-Path: <${q.entry.envelopeFrom}>\r\n${received}\r\n`;
}

function describeRoute(route: InboundRoute): string {
  if (route.type === 's3') return `s3://${route.bucket}/${route.prefix ?? ''}`;
  if (route.type === 'mailbox') return 'mailbox';
  return `${route.type}://${route.host}:${route.port}`;
}
