/**
 * SES BYODKIM emulator: an HTTP server speaking the SES v2 REST-JSON protocol (and SES v1
 * `awsQuery` for GetIdentityDkimAttributes), so the real `SESv2Client` and `SESClient` work
 * against it by `endpoint`, plus `/_emulator/*` control endpoints. Behaviour is specified in
 * `emulator/SPEC.md`; every option with its default is in §11 and `options.ts`.
 *
 * @example
 * const dns = await EmbeddedDnsServer.start();
 * const ses = await SesEmulator.start({ dns: { host: dns.host, port: dns.port }, clock });
 * const client = new SESv2Client({ endpoint: ses.endpoint, region: 'eu-west-1', credentials });
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmulatorClock, systemClock } from '../clock.js';
import { AccountResolver, type RequestCredentials } from './accounts.js';
import { ApiBudget } from './budget.js';
import { type ControlTarget, handleControl } from './control.js';
import { Counters, RequestLog, type RequestRecord } from './counters.js';
import {
  Delivery,
  type InboundRoute,
  type MailboxMessage,
  type OutboxEntry,
  type OutboxFilter,
} from './delivery.js';
import { DnsChecker } from './dns-check.js';
import { internalError, SesApiError, throttlingException, tooManyRequests } from './errors.js';
import { CheckFaultQueue, type CheckFaultSpec, FaultQueue, type FaultSpec } from './faults.js';
import {
  asApiError,
  describe,
  type Json,
  parseJsonBody,
  readBody,
  sendJson,
  sendJsonError,
  sendXml,
} from './http.js';
import { type KeyPut, type KeyPutFilter, KeyPutLog } from './key-puts.js';
import {
  type BudgetSettings,
  nonNegative,
  type RateClock,
  type ResolvedOptions,
  resolveOptions,
  type SesEmulatorOptions,
} from './options.js';
import {
  errorXml,
  getIdentityDkimAttributesXml,
  identitiesParam,
  parseQueryRequest,
  QueryApiError,
  toQueryError,
} from './query-api.js';
import { matchV2Route, type V2Route } from './rest-routes.js';
import { SendingQuota } from './sending-quota.js';
import { type Scope, SesService } from './service.js';
import type { SampleOptions, SignedSample } from './signing.js';

export { INSTANT_UNLIMITED } from './options.js';
export type {
  CheckFaultSpec,
  FaultSpec,
  InboundRoute,
  KeyPut,
  KeyPutFilter,
  MailboxMessage,
  OutboxEntry,
  OutboxFilter,
  SampleOptions,
  SesEmulatorOptions,
  SignedSample,
};

const DEFAULT_REGION = 'us-east-1';
const CREDENTIAL_SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/;

export class SesEmulator implements ControlTarget {
  /** `http://HOST:PORT` — give it to `SESv2Client` / `SESClient` as `endpoint`. */
  readonly endpoint: string;
  readonly #server: Server;
  readonly #clock: EmulatorClock;
  readonly #options: ResolvedOptions;
  readonly #service: SesService;
  readonly #budget: ApiBudget;
  readonly #accounts: AccountResolver;
  readonly #faults = new FaultQueue();
  readonly #checkFaults = new CheckFaultQueue();
  readonly #keyPuts = new KeyPutLog();
  readonly #counters = new Counters();
  readonly #rejections = new Counters();
  readonly #requests = new RequestLog();
  readonly #sendingQuota: SendingQuota;
  readonly #delivery: Delivery;
  #latencyMs = 0;

  private constructor(opts: SesEmulatorOptions, server: Server, endpoint: string) {
    this.#server = server;
    this.endpoint = endpoint;
    this.#clock = opts.clock ?? systemClock;
    this.#options = resolveOptions(opts);
    const checker = new DnsChecker(opts.dns, this.#options.dnsTimeoutMs);
    this.#service = new SesService(this.#clock, this.#options, checker, this.#keyPuts, this.#checkFaults);
    this.#budget = new ApiBudget(this.#options.budget, this.#options.throttlingExceptionEvery, this.#clock);
    this.#accounts = new AccountResolver(this.#options);
    const sending = this.#options.sending;
    this.#sendingQuota = new SendingQuota(
      {
        maxSendRate: sending.maxSendRate,
        max24HourSend: sending.max24HourSend,
        clock: this.#options.budget.clock,
      },
      this.#clock,
    );
    this.#delivery = new Delivery(this.#clock, sending.deliveryDelayMs, sending.inbound);
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
        if (!res.headersSent) sendJsonError(res, internalError(`emulator error: ${describe(error)}`));
        else res.destroy();
      });
    });
    return emulator;
  }

  get clock(): EmulatorClock {
    return this.#clock;
  }

  /** The account of credentials nobody maps (SPEC.md §1). */
  get defaultAccount(): string {
    return this.#options.defaultAccount;
  }

  /** Runs every DNS check that is due at the emulator clock's present moment. */
  verifyPending(): Promise<void> {
    return this.#service.verifyPending();
  }

  /**
   * The message SES would send from `identity` now: DKIM-signed with the held key only when
   * SES would, with the MAIL FROM SES would use. `opts.account` defaults to the default account.
   */
  signSample(region: string, identity: string, opts: SampleOptions = {}): Promise<SignedSample> {
    const { account, ...message } = opts;
    return this.#service.signSample(
      { account: account ?? this.#options.defaultAccount, region },
      identity,
      message,
    );
  }

  /** Every accepted SendEmail and what became of it (SPEC.md §15). No bodies, no key material. */
  outbox(filter?: OutboxFilter): OutboxEntry[] {
    return this.#delivery.outbox(filter);
  }

  /** Delivers every message whose moment has come on the emulator clock (SPEC.md §15). */
  deliverDue(): Promise<void> {
    return this.#delivery.deliverDue();
  }

  /** What the emulator's mailbox holds: mail delivered through a `mailbox` route (SPEC.md §15). */
  mailbox(): MailboxMessage[] {
    return this.#delivery.mailbox();
  }

  /** Deletes one message from the emulator's mailbox; false when it is not there. */
  removeFromMailbox(id: string): boolean {
    return this.#delivery.removeFromMailbox(id);
  }

  /** Another actor's EXTERNAL put with a key the emulator makes (SPEC.md §16). */
  swapKey(spec: {
    region: string;
    identity: string;
    selector: string;
    account?: string;
    bits?: 1024 | 2048;
  }): Promise<{ selector: string; publicKey: string }> {
    return this.#service.swapKey(
      { account: spec.account ?? this.#options.defaultAccount, region: spec.region },
      spec.identity,
      spec.selector,
      spec.bits,
    );
  }

  /** API requests received (throttled and faulted ones included), by `Op` and `Op@region`; all accounts or one. */
  counters(account?: string): Record<string, number> {
    return this.#counters.snapshot(account);
  }

  /** Requests refused by the budget or an injected fault, by `throttled@region` / `faulted@region`. */
  rejections(account?: string): Record<string, number> {
    return this.#rejections.snapshot(account);
  }

  /**
   * The most recent API requests (up to 10,000) in arrival order, with their account, region
   * and what admission made of them; of all accounts or one. Cleared with the counters.
   */
  requests(account?: string): RequestRecord[] {
    return this.#requests.list(account);
  }

  resetCounters(): void {
    this.#counters.clear();
    this.#rejections.clear();
    this.#requests.clear();
  }

  /** What each BYODKIM put sent, in order (SPEC.md §4). No key material. */
  keyPuts(filter?: KeyPutFilter): KeyPut[] {
    return this.#keyPuts.list(filter);
  }

  /** Drops every identity, held key and key-put record, counters, faults, cached accounts and latency; the budget returns to the options'. */
  reset(): void {
    this.#service.reset();
    this.#keyPuts.clear();
    this.resetCounters();
    this.#faults.clear();
    this.#checkFaults.clear();
    this.#accounts.clearCache();
    this.#latencyMs = 0;
    this.#budget.configure(this.#options.budget);
    this.#sendingQuota.reset();
    this.#delivery.reset();
  }

  /**
   * Requests per second per account and region; `null` or `undefined` = unlimited.
   * `burst` defaults to max(2, rate); `clock` stays as it is unless given.
   */
  setRate(perRegion: number | null | undefined, opts: { burst?: number; clock?: RateClock } = {}): void {
    const rate = perRegion ?? null;
    if (rate !== null) nonNegative(rate, 'rate');
    if (opts.burst !== undefined && (!Number.isFinite(opts.burst) || opts.burst < 1)) {
      throw new RangeError('burst must be a finite number >= 1');
    }
    const settings: BudgetSettings = {
      ratePerSecond: rate,
      burst: opts.burst,
      clock: opts.clock ?? this.#budget.settings.clock,
    };
    this.#budget.configure(settings);
  }

  injectFault(f: FaultSpec): void {
    this.#faults.add(f);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** The next `count` DKIM checks of matching identities end with `errorType` (default SERVICE_ERROR). */
  injectCheckFault(f: CheckFaultSpec): void {
    this.#checkFaults.add(f);
  }

  clearCheckFaults(): void {
    this.#checkFaults.clear();
  }

  setLatency(ms: number): void {
    this.#latencyMs = nonNegative(ms, 'latency');
  }

  async stop(): Promise<void> {
    this.#delivery.stop();
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
      await handleControl(this, method, url, req, res);
      return;
    }
    if (url.pathname === '/' && method === 'POST') {
      await this.#dispatchV1(req, res);
      return;
    }
    await this.#dispatchV2(method, url, req, res);
  }

  async #dispatchV2(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    let route: V2Route | undefined;
    try {
      body = await readBody(req);
      route = matchV2Route(method, url.pathname);
    } catch (error) {
      sendJsonError(res, asApiError(error));
      return;
    }
    if (route === undefined) {
      sendJsonError(
        res,
        new SesApiError('UnknownOperationException', 404, `No operation for ${method} ${url.pathname}`),
      );
      return;
    }
    try {
      const scope = await this.#admit(route.operation, req);
      const output = await this.#invokeV2(route, scope, parseJsonBody(body), url.searchParams);
      sendJson(res, 200, output);
    } catch (error) {
      sendJsonError(res, asApiError(error));
    }
  }

  async #dispatchV1(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const request = parseQueryRequest(await readBody(req));
      const scope = await this.#admit(request.action, req);
      const entries = await this.#service.getIdentityDkimAttributes(scope, identitiesParam(request.params));
      sendXml(res, 200, getIdentityDkimAttributesXml(entries));
    } catch (error) {
      const queryError = error instanceof QueryApiError ? error : toQueryError(asApiError(error));
      sendXml(res, queryError.status, errorXml(queryError));
    }
  }

  /**
   * Admission of an API call (SPEC.md §10): account → count → latency → budget → fault.
   * Throws the error the call must answer with.
   */
  async #admit(operation: string, req: IncomingMessage): Promise<Scope> {
    const { region, credentials } = requestIdentity(req);
    let account: string;
    try {
      account = await this.#accounts.accountOf(credentials);
    } catch (error) {
      this.#counters.add(operation, undefined);
      this.#counters.add(`${operation}@${region}`, undefined);
      this.#requests.add({ operation, account: undefined, region, admitted: 'no-account' });
      throw error;
    }
    this.#counters.add(operation, account);
    this.#counters.add(`${operation}@${region}`, account);
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);
    // The send calls have their own quota (§14), not the control-plane budget.
    const throttled = operation === 'SendEmail' ? undefined : this.#budget.admit(account, region);
    if (throttled !== undefined) {
      this.#rejections.add(`throttled@${region}`, account);
      this.#requests.add({ operation, account, region, admitted: 'throttled' });
      throw throttled === 'ThrottlingException' ? throttlingException() : tooManyRequests();
    }
    const fault = this.#faults.take(operation, region, account);
    if (fault !== undefined) {
      this.#rejections.add(`faulted@${region}`, account);
      this.#requests.add({ operation, account, region, admitted: 'faulted' });
      throw fault === 429 ? tooManyRequests() : internalError('Injected fault (emulator).');
    }
    this.#requests.add({ operation, account, region, admitted: 'accepted' });
    return { account, region };
  }

  #invokeV2(route: V2Route, scope: Scope, body: Json, query: URLSearchParams): Promise<Json> | Json {
    const service = this.#service;
    const identity = route.identity ?? '';
    switch (route.operation) {
      case 'CreateEmailIdentity':
        return service.createEmailIdentity(scope, body);
      case 'GetEmailIdentity':
        return service.getEmailIdentity(scope, identity);
      case 'ListEmailIdentities':
        return service.listEmailIdentities(
          scope,
          query.has('PageSize') || query.has('NextToken')
            ? { PageSize: query.get('PageSize') ?? undefined, NextToken: query.get('NextToken') ?? undefined }
            : body,
        );
      case 'DeleteEmailIdentity':
        return service.deleteEmailIdentity(scope, identity);
      case 'PutEmailIdentityDkimSigningAttributes':
        return service.putEmailIdentityDkimSigningAttributes(scope, identity, body);
      case 'PutEmailIdentityDkimAttributes':
        return service.putEmailIdentityDkimAttributes(scope, identity, body);
      case 'PutEmailIdentityMailFromAttributes':
        return service.putEmailIdentityMailFromAttributes(scope, identity, body);
      case 'SendEmail':
        return this.#sendEmail(scope, body);
    }
  }

  async #sendEmail(scope: Scope, body: Json): Promise<Json> {
    const sent = await this.#service.sendEmail(scope, body, () =>
      this.#sendingQuota.take(scope.account, scope.region),
    );
    const { message, ...entry } = sent;
    this.#delivery.enqueue({ ...entry, account: scope.account, region: scope.region }, message);
    return { MessageId: sent.messageId };
  }
}

/** The region and credentials of the SigV4 credential scope; the signature itself is not verified. */
function requestIdentity(req: IncomingMessage): { region: string; credentials: RequestCredentials } {
  const match = CREDENTIAL_SCOPE.exec(req.headers.authorization ?? '');
  const token = req.headers['x-amz-security-token'];
  return {
    region: match?.[2] ?? DEFAULT_REGION,
    credentials: {
      accessKeyId: match?.[1],
      sessionToken: typeof token === 'string' ? token : undefined,
    },
  };
}
