/**
 * The `/_emulator/*` control endpoints (SPEC.md §12): the HTTP face of the emulator's
 * in-process controls, for out-of-process users (the standalone CLI, benchmarks). Never
 * counted, never throttled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type EmulatorClock, VirtualClock } from '../clock.js';
import type { RequestRecord } from './counters.js';
import type { MailboxMessage, OutboxEntry, OutboxFilter } from './delivery.js';
import type { VerificationError } from './dns-check.js';
import { badRequest, SesApiError } from './errors.js';
import type { CheckFaultSpec, FaultSpec } from './faults.js';
import {
  asApiError,
  type Json,
  parseJsonBody,
  readBody,
  sendEmpty,
  sendJson,
  sendJsonError,
} from './http.js';
import type { KeyPut, KeyPutFilter } from './key-puts.js';
import { oneOf, RATE_CLOCKS, type RateClock } from './options.js';
import type { SampleOptions, SignedSample } from './signing.js';

export interface ControlTarget {
  readonly endpoint: string;
  readonly clock: EmulatorClock;
  counters(account?: string): Record<string, number>;
  rejections(account?: string): Record<string, number>;
  requests(account?: string): RequestRecord[];
  resetCounters(): void;
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  injectCheckFault(spec: CheckFaultSpec): void;
  clearCheckFaults(): void;
  setRate(perRegion: number | null | undefined, opts?: { burst?: number; clock?: RateClock }): void;
  setLatency(ms: number): void;
  verifyPending(): Promise<void>;
  signSample(region: string, identity: string, opts?: SampleOptions): Promise<SignedSample>;
  keyPuts(filter?: KeyPutFilter): KeyPut[];
  outbox(filter?: OutboxFilter): OutboxEntry[];
  deliverDue(): Promise<void>;
  mailbox(): MailboxMessage[];
  removeFromMailbox(id: string): boolean;
  swapKey(spec: {
    region: string;
    identity: string;
    selector: string;
    account?: string;
    bits?: 1024 | 2048;
  }): Promise<{ selector: string; publicKey: string }>;
  reset(): void;
}

const DEFAULT_REGION = 'us-east-1';

export async function handleControl(
  target: ControlTarget,
  method: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const body = parseJsonBody(await readBody(req));
    const query = url.searchParams;
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case 'GET /_emulator/health':
        return sendJson(res, 200, { ok: true, endpoint: target.endpoint });
      case 'GET /_emulator/clock':
        return sendJson(res, 200, {
          now: target.clock.now().toISOString(),
          virtual: target.clock instanceof VirtualClock,
        });
      case 'POST /_emulator/clock':
        return sendJson(res, 200, { now: moveClock(target.clock, body) });
      case 'GET /_emulator/counters':
        return sendJson(res, 200, target.counters(query.get('account') ?? undefined));
      case 'GET /_emulator/requests':
        return sendJson(res, 200, target.requests(query.get('account') ?? undefined));
      case 'DELETE /_emulator/counters':
        target.resetCounters();
        return sendEmpty(res);
      case 'GET /_emulator/rejections':
        return sendJson(res, 200, target.rejections(query.get('account') ?? undefined));
      case 'POST /_emulator/faults':
        target.injectFault({
          operation: text(body.operation, 'operation'),
          region: text(body.region, 'region'),
          account: text(body.account, 'account'),
          status: body.status === undefined ? undefined : (body.status as 500 | 429),
          count: typeof body.count === 'number' ? body.count : Number.NaN,
        });
        return sendEmpty(res);
      case 'DELETE /_emulator/faults':
        target.clearFaults();
        return sendEmpty(res);
      case 'POST /_emulator/check-faults':
        target.injectCheckFault({
          count: typeof body.count === 'number' ? body.count : Number.NaN,
          errorType: text(body.errorType, 'errorType') as VerificationError | undefined,
          account: text(body.account, 'account'),
          region: text(body.region, 'region'),
          identity: text(body.identity, 'identity'),
        });
        return sendEmpty(res);
      case 'DELETE /_emulator/check-faults':
        target.clearCheckFaults();
        return sendEmpty(res);
      case 'PUT /_emulator/rate':
        setRate(target, body);
        return sendEmpty(res);
      case 'PUT /_emulator/latency':
        if (typeof body.ms !== 'number') throw badRequest('ms must be a number');
        target.setLatency(body.ms);
        return sendEmpty(res);
      case 'GET /_emulator/key-puts':
        return sendJson(
          res,
          200,
          target.keyPuts({
            account: query.get('account') ?? undefined,
            region: query.get('region') ?? undefined,
            identity: query.get('identity') ?? undefined,
          }),
        );
      case 'POST /_emulator/verify':
        await target.verifyPending();
        return sendEmpty(res);
      case 'POST /_emulator/sign':
        return sendJson(res, 200, await sign(target, body));
      case 'GET /_emulator/outbox':
        return sendJson(
          res,
          200,
          target.outbox({
            account: query.get('account') ?? undefined,
            region: query.get('region') ?? undefined,
            identity: query.get('identity') ?? undefined,
          }),
        );
      case 'POST /_emulator/deliver':
        await target.deliverDue();
        return sendEmpty(res);
      case 'GET /_emulator/mailbox':
        return sendJson(res, 200, target.mailbox());
      case 'DELETE /_emulator/mailbox': {
        const id = text(body.id, 'id');
        if (id === undefined) throw badRequest('id is required');
        if (!target.removeFromMailbox(id))
          throw new SesApiError('NotFoundException', 404, `No message ${id} in the mailbox`);
        return sendEmpty(res);
      }
      case 'POST /_emulator/swap-key':
        return sendJson(res, 200, await swapKey(target, body));
      case 'POST /_emulator/reset':
        target.reset();
        return sendEmpty(res);
      default:
        throw new SesApiError('UnknownOperationException', 404, `No control endpoint ${route}`);
    }
  } catch (error) {
    return sendJsonError(res, asApiError(error));
  }
}

function moveClock(clock: EmulatorClock, body: Json): string {
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
  return clock.now().toISOString();
}

function setRate(target: ControlTarget, body: Json): void {
  const { perRegion, burst, clock } = body;
  if (perRegion !== null && perRegion !== undefined && typeof perRegion !== 'number') {
    throw badRequest('perRegion must be a number or null');
  }
  if (burst !== undefined && typeof burst !== 'number') throw badRequest('burst must be a number');
  const opts: { burst?: number; clock?: RateClock } = {};
  if (burst !== undefined) opts.burst = burst;
  if (clock !== undefined) opts.clock = oneOf(String(clock), RATE_CLOCKS, 'clock');
  target.setRate(perRegion ?? null, opts);
}

function sign(target: ControlTarget, body: Json): Promise<SignedSample> {
  const region = text(body.region, 'region') ?? DEFAULT_REGION;
  const identity = text(body.identity, 'identity');
  if (identity === undefined) throw badRequest('identity is required');
  const opts: SampleOptions = {};
  for (const field of ['account', 'from', 'to', 'subject', 'body'] as const) {
    const value = text(body[field], field);
    if (value !== undefined) opts[field] = value;
  }
  return target.signSample(region, identity, opts);
}

function swapKey(target: ControlTarget, body: Json): Promise<{ selector: string; publicKey: string }> {
  const identity = text(body.identity, 'identity');
  const selector = text(body.selector, 'selector');
  if (identity === undefined || selector === undefined)
    throw badRequest('identity and selector are required');
  if (body.bits !== undefined && body.bits !== 1024 && body.bits !== 2048)
    throw badRequest('bits: 1024 or 2048');
  const account = text(body.account, 'account');
  return target.swapKey({
    region: text(body.region, 'region') ?? DEFAULT_REGION,
    identity,
    selector,
    ...(account === undefined ? {} : { account }),
    ...(body.bits === undefined ? {} : { bits: body.bits as 1024 | 2048 }),
  });
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  return value;
}
