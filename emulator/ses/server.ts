/**
 * SES v2 BYODKIM emulator: an HTTP server speaking the SES v2 REST-JSON protocol, so the real
 * `SESv2Client` works against it by `endpoint`, plus `/_emulator/*` control endpoints.
 * Behaviour is specified in `emulator/SPEC.md`.
 *
 * @example
 * const dns = await EmbeddedDnsServer.start();
 * const ses = await SesEmulator.start({ dns: { host: dns.host, port: dns.port }, clock });
 * const client = new SESv2Client({ endpoint: ses.endpoint, region: 'eu-west-1', credentials });
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmulatorClock, systemClock, VirtualClock } from '../clock.js';
import { DnsChecker } from './dns-check.js';
import { badRequest, internalError, SesApiError, tooManyRequests } from './errors.js';
import type { Timing } from './identity.js';
import { SesService } from './service.js';
import type { SampleOptions, SignedSample } from './signing.js';
import { Counters, FaultQueue, type FaultSpec, TokenBucket } from './throttle.js';

export interface SesEmulatorOptions {
  host?: string;
  port?: number;
  dns: { host: string; port: number };
  clock?: EmulatorClock;
  /** Emulator-clock ms after a put before the first DNS check. Default 0. */
  verificationDelayMs?: number;
  /** Length of the verification window. Default 72 h. */
  failAfterMs?: number;
  /** Interval of rechecks after SUCCESS, emulator clock. Default 1 h. */
  recheckIntervalMs?: number;
  /** Minimum emulator-clock ms between checks while PENDING / TEMPORARY_FAILURE. Default 0. */
  pendingCheckIntervalMs?: number;
  /** Maximum API requests per second per region; unset = unlimited. */
  ratePerRegion?: number;
  /** Timeout of one DNS query, wall clock. Default 1000. */
  dnsTimeoutMs?: number;
}

export type { FaultSpec, SampleOptions, SignedSample };

const HOUR_MS = 3_600_000;
const DEFAULT_REGION = 'us-east-1';
const MAX_BODY_BYTES = 1_048_576;
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/;

type Operation =
  | 'CreateEmailIdentity'
  | 'GetEmailIdentity'
  | 'ListEmailIdentities'
  | 'DeleteEmailIdentity'
  | 'PutEmailIdentityDkimSigningAttributes'
  | 'PutEmailIdentityDkimAttributes';

interface Route {
  readonly operation: Operation;
  readonly identity?: string;
}

type Json = Record<string, unknown>;

export class SesEmulator {
  /** `http://HOST:PORT` — give it to `SESv2Client` as `endpoint`. */
  readonly endpoint: string;
  readonly #server: Server;
  readonly #clock: EmulatorClock;
  readonly #service: SesService;
  readonly #initialRate: number | undefined;
  #rate: number | undefined;
  #buckets = new Map<string, TokenBucket>();
  readonly #faults = new FaultQueue();
  readonly #counters = new Counters();
  readonly #rejections = new Counters();
  #latencyMs = 0;

  private constructor(opts: SesEmulatorOptions, server: Server, endpoint: string) {
    this.#server = server;
    this.endpoint = endpoint;
    this.#clock = opts.clock ?? systemClock;
    const timing: Timing = {
      verificationDelayMs: nonNegative(opts.verificationDelayMs ?? 0, 'verificationDelayMs'),
      failAfterMs: nonNegative(opts.failAfterMs ?? 72 * HOUR_MS, 'failAfterMs'),
      recheckIntervalMs: nonNegative(opts.recheckIntervalMs ?? HOUR_MS, 'recheckIntervalMs'),
      pendingCheckIntervalMs: nonNegative(opts.pendingCheckIntervalMs ?? 0, 'pendingCheckIntervalMs'),
    };
    const checker = new DnsChecker(opts.dns, nonNegative(opts.dnsTimeoutMs ?? 1000, 'dnsTimeoutMs'));
    this.#service = new SesService(this.#clock, timing, checker);
    this.#initialRate = opts.ratePerRegion;
    this.#rate = opts.ratePerRegion;
  }

  static async start(opts: SesEmulatorOptions): Promise<SesEmulator> {
    const server = createServer({ keepAliveTimeout: 10_000 });
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    let emulator: SesEmulator;
    try {
      emulator = new SesEmulator(opts, server, `http://${urlHost}:${port}`);
    } catch (error) {
      server.close();
      throw error;
    }
    server.on('request', (req, res) => {
      emulator.#dispatch(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendError(res, internalError(`emulator error: ${describe(error)}`));
        else res.destroy();
      });
    });
    return emulator;
  }

  /** Runs every DNS check that is due at the emulator clock's present moment. */
  verifyPending(): Promise<void> {
    return this.#service.verifyPending();
  }

  /** The message SES would send from `identity` now: DKIM-signed with the held key only when SES would. */
  signSample(region: string, identity: string, opts?: SampleOptions): Promise<SignedSample> {
    return this.#service.signSample(region, identity, opts);
  }

  /** API requests received (throttled and faulted ones included), by `Op` and `Op@region`. */
  counters(): Record<string, number> {
    return this.#counters.snapshot();
  }

  /** Requests refused by the rate limit or an injected fault, by `throttled@region` / `faulted@region`. */
  rejections(): Record<string, number> {
    return this.#rejections.snapshot();
  }

  resetCounters(): void {
    this.#counters.clear();
    this.#rejections.clear();
  }

  /** Drops every identity and held key, counters, faults and latency; the rate returns to the options'. */
  reset(): void {
    this.#service.reset();
    this.resetCounters();
    this.#faults.clear();
    this.#latencyMs = 0;
    this.setRate(this.#initialRate);
  }

  setRate(perRegion: number | undefined): void {
    if (perRegion !== undefined && (!Number.isFinite(perRegion) || perRegion < 0)) {
      throw new RangeError('rate must be a finite number >= 0');
    }
    this.#rate = perRegion;
    this.#buckets = new Map();
  }

  injectFault(f: FaultSpec): void {
    this.#faults.add(f);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  setLatency(ms: number): void {
    this.#latencyMs = nonNegative(ms, 'latency');
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  // --- HTTP -------------------------------------------------------------------------------

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_emulator/')) {
      await this.#control(method, url.pathname, req, res);
      return;
    }
    let body: string;
    let route: Route | undefined;
    try {
      body = await readBody(req);
      route = matchRoute(method, url.pathname);
    } catch (error) {
      sendError(res, asApiError(error));
      return;
    }
    if (route === undefined) {
      sendError(
        res,
        new SesApiError('UnknownOperationException', 404, `No operation for ${method} ${url.pathname}`),
      );
      return;
    }
    const region = regionFromAuthorization(req.headers.authorization);
    this.#counters.add(route.operation);
    this.#counters.add(`${route.operation}@${region}`);
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);
    try {
      this.#admit(route.operation, region);
      const output = await this.#invoke(route, region, parseJsonBody(body), url.searchParams);
      sendJson(res, 200, output);
    } catch (error) {
      sendError(res, asApiError(error));
    }
  }

  #admit(operation: Operation, region: string): void {
    if (this.#rate !== undefined) {
      let bucket = this.#buckets.get(region);
      if (bucket === undefined) {
        bucket = new TokenBucket(this.#rate);
        this.#buckets.set(region, bucket);
      }
      if (!bucket.tryTake()) {
        this.#rejections.add(`throttled@${region}`);
        throw tooManyRequests();
      }
    }
    const fault = this.#faults.take(operation, region);
    if (fault !== undefined) {
      this.#rejections.add(`faulted@${region}`);
      throw fault === 429 ? tooManyRequests() : internalError('Injected fault (emulator).');
    }
  }

  #invoke(route: Route, region: string, body: Json, query: URLSearchParams): Promise<Json> | Json {
    const service = this.#service;
    const identity = route.identity ?? '';
    switch (route.operation) {
      case 'CreateEmailIdentity':
        return service.createEmailIdentity(region, body);
      case 'GetEmailIdentity':
        return service.getEmailIdentity(region, identity);
      case 'ListEmailIdentities':
        return service.listEmailIdentities(
          region,
          query.has('PageSize') || query.has('NextToken')
            ? { PageSize: query.get('PageSize') ?? undefined, NextToken: query.get('NextToken') ?? undefined }
            : body,
        );
      case 'DeleteEmailIdentity':
        return service.deleteEmailIdentity(region, identity);
      case 'PutEmailIdentityDkimSigningAttributes':
        return service.putEmailIdentityDkimSigningAttributes(region, identity, body);
      case 'PutEmailIdentityDkimAttributes':
        return service.putEmailIdentityDkimAttributes(region, identity, body);
    }
  }

  async #control(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = parseJsonBody(await readBody(req));
      const route = `${method} ${path}`;
      switch (route) {
        case 'GET /_emulator/health':
          return sendJson(res, 200, { ok: true, endpoint: this.endpoint });
        case 'GET /_emulator/clock':
          return sendJson(res, 200, {
            now: this.#clock.now().toISOString(),
            virtual: this.#clock instanceof VirtualClock,
          });
        case 'POST /_emulator/clock': {
          const clock = this.#clock;
          if (!(clock instanceof VirtualClock)) throw badRequest('The emulator runs on the system clock.');
          if (body.set !== undefined) {
            if (typeof body.set !== 'string' && typeof body.set !== 'number')
              throw badRequest('set: ISO or epoch ms');
            if (Number.isNaN(new Date(body.set).getTime())) throw badRequest('set is not a valid time');
            clock.set(body.set);
          }
          if (body.advanceMs !== undefined) {
            if (typeof body.advanceMs !== 'number' || !Number.isFinite(body.advanceMs)) {
              throw badRequest('advanceMs must be a number');
            }
            clock.advance(body.advanceMs);
          }
          return sendJson(res, 200, { now: clock.now().toISOString() });
        }
        case 'GET /_emulator/counters':
          return sendJson(res, 200, this.counters());
        case 'DELETE /_emulator/counters':
          this.resetCounters();
          return sendEmpty(res);
        case 'GET /_emulator/rejections':
          return sendJson(res, 200, this.rejections());
        case 'POST /_emulator/faults':
          this.injectFault({
            operation: optionalText(body.operation, 'operation'),
            region: optionalText(body.region, 'region'),
            status: body.status === undefined ? undefined : (body.status as 500 | 429),
            count: typeof body.count === 'number' ? body.count : Number.NaN,
          });
          return sendEmpty(res);
        case 'DELETE /_emulator/faults':
          this.clearFaults();
          return sendEmpty(res);
        case 'PUT /_emulator/rate': {
          const perRegion = body.perRegion;
          if (perRegion !== null && perRegion !== undefined && typeof perRegion !== 'number') {
            throw badRequest('perRegion must be a number or null');
          }
          this.setRate(perRegion ?? undefined);
          return sendEmpty(res);
        }
        case 'PUT /_emulator/latency':
          if (typeof body.ms !== 'number') throw badRequest('ms must be a number');
          this.setLatency(body.ms);
          return sendEmpty(res);
        case 'POST /_emulator/verify':
          await this.verifyPending();
          return sendEmpty(res);
        case 'POST /_emulator/sign': {
          const region = optionalText(body.region, 'region') ?? DEFAULT_REGION;
          const identity = optionalText(body.identity, 'identity');
          if (identity === undefined) throw badRequest('identity is required');
          const opts: SampleOptions = {};
          for (const field of ['from', 'to', 'subject', 'body'] as const) {
            const value = optionalText(body[field], field);
            if (value !== undefined) opts[field] = value;
          }
          return sendJson(res, 200, await this.signSample(region, identity, opts));
        }
        case 'POST /_emulator/reset':
          this.reset();
          return sendEmpty(res);
        default:
          throw new SesApiError('UnknownOperationException', 404, `No control endpoint ${route}`);
      }
    } catch (error) {
      if (error instanceof RangeError) return sendError(res, badRequest(error.message));
      return sendError(res, asApiError(error));
    }
  }
}

/** The region of the SigV4 credential scope; the signature itself is not verified. */
export function regionFromAuthorization(authorization: string | undefined): string {
  const match = authorization === undefined ? null : CREDENTIAL_SCOPE.exec(authorization);
  return match?.[1] ?? DEFAULT_REGION;
}

function matchRoute(method: string, pathname: string): Route | undefined {
  const segments = pathname.split('/').slice(1);
  if (segments[0] !== 'v2' || segments[1] !== 'email') return undefined;
  if (segments.length === 3 && segments[2] === 'list-identities' && method === 'POST') {
    return { operation: 'ListEmailIdentities' };
  }
  if (segments[2] !== 'identities') return undefined;
  if (segments.length === 3 || (segments.length === 4 && segments[3] === '')) {
    if (method === 'POST') return { operation: 'CreateEmailIdentity' };
    if (method === 'GET') return { operation: 'ListEmailIdentities' };
    return undefined;
  }
  const raw = segments[3];
  if (raw === undefined || raw === '') return undefined;
  let identity: string;
  try {
    identity = decodeURIComponent(raw);
  } catch {
    throw badRequest('EmailIdentity in the path is not valid percent-encoding.');
  }
  const rest = segments.slice(4).join('/');
  if (rest === '' && method === 'GET') return { operation: 'GetEmailIdentity', identity };
  if (rest === '' && method === 'DELETE') return { operation: 'DeleteEmailIdentity', identity };
  if (rest === 'dkim' && method === 'PUT') return { operation: 'PutEmailIdentityDkimAttributes', identity };
  if (rest === 'dkim/signing' && method === 'PUT') {
    return { operation: 'PutEmailIdentityDkimSigningAttributes', identity };
  }
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw badRequest('Request body too large.');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(text: string): Json {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return value as Json;
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(body);
}

function sendEmpty(res: ServerResponse): void {
  res.writeHead(204, { 'x-amzn-requestid': randomUUID() });
  res.end();
}

function sendError(res: ServerResponse, error: SesApiError): void {
  sendJson(res, error.status, { message: error.message }, { 'x-amzn-errortype': error.errorType });
}

function asApiError(error: unknown): SesApiError {
  if (error instanceof SesApiError) return error;
  return internalError(`emulator error: ${describe(error)}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function optionalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0`);
  return value;
}
