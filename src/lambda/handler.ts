/**
 * The AWS Lambda entry point: the same engine as the CLI, driven by events.
 *
 *   EventBridge schedule ("Scheduled Event")            → phase_manager: one pass, every domain
 *   CloudFormation stack CREATE_COMPLETE/UPDATE_COMPLETE → phase_manager (the seeds' DKIMPhaseManagerRule)
 *   { "action": "phase_manager", "domain"?, "account"? } → a pass (all domains, one, or one account's)
 *   { "action": "rotate", "domain", "emergency"?, "revokeNow"? } → record the request, then a pass for it
 *   { "action": "rollback", "domain" }                  → record the request, then a pass for it
 *   { "action": "status", "domain"?, "account"? }       → plan only, nothing changed
 *
 * With `accounts` in the config, the deployment starts one invocation per account (its own
 * EventBridge rule sending `"account"`), so each account's run has its own time and its own
 * SES budget, and one account's slow or failing run never delays another's.
 *
 * A pass fits the invocation's time and SES's API budget (one request per second per
 * region): SES calls leave in order of urgency (writes, then reads of identities in transition,
 * health reads last; src/adapters/aws/pacing.ts), and when the remaining time falls below a
 * safety margin (`BYODKIM_DEADLINE_MARGIN_MS`, default 60 s) the pass takes no new domain and
 * the budget grants no SES call it could not make before then: that work is deferred, not
 * failed. The response lists the `deferred` domains (SES work deferred, or not started:
 * `skipped`), and the next run of a warm environment takes them first, those with work
 * deferred before those not started (otherwise each run starts at a random place in the list,
 * so no domain is always last). Metrics: SesCalls, SesThrottled, DomainsDeferred,
 * OldestSesReadHours (metrics.ts).
 *
 * Output: JSON log lines and EMF metric lines on stdout (see log.ts, metrics.ts); the return
 * value is a JSON summary with no key material. Bad input returns `{ ok: false, error }` and
 * changes nothing; a config or wiring failure throws (the invocation fails, so the
 * function's Errors alarm fires and EventBridge retries).
 *
 * Environment: BYODKIM_CONFIG | BYODKIM_CONFIG_S3 | BYODKIM_CONFIG_PARAMETER (config-source.ts),
 * BYODKIM_METRICS_NAMESPACE (default `byodkim`), BYODKIM_DEADLINE_MARGIN_MS (60000),
 * BYODKIM_CONCURRENCY (64, engine/reconcile.ts), BYODKIM_LOG_LEVEL (info), plus each `secretEnv` the config names.
 */
import { accountDomains, findDomain, type ResolvedDomain } from '../config/load.js';
import { accountLabel } from '../domain/account.js';
import { Reason } from '../domain/vocabulary.js';
import { recordRequest } from '../engine/operator.js';
import {
  applyDomain,
  DEFAULT_CONCURRENCY,
  type DomainOutcome,
  type DomainResult,
  type EngineDeps,
  forEachDomain,
  planDomain,
} from '../engine/reconcile.js';
import { type StepReport, stepReports } from '../engine/report.js';
import { ByodkimError, describeError, InputError, LockedError } from '../errors.js';
import type { Env } from './config-source.js';
import { type Invocation, parseEvent } from './events.js';
import { errorFields, isLogLevel, JsonLogger, type LogLevel, logOutput, stdoutWriter } from './log.js';
import { DEFAULT_NAMESPACE, type DomainMeasures, MetricsEmitter, measureDomain } from './metrics.js';
import { initRuntime, type LambdaRuntime } from './runtime.js';

/** The parts of the Lambda context object the handler uses. */
export interface LambdaContext {
  awsRequestId: string;
  functionName?: string;
  getRemainingTimeInMillis(): number;
}

export const DEFAULT_DEADLINE_MARGIN_MS = 60_000;
export { DEFAULT_CONCURRENCY };

/** One step as the response reports it (the one report shape of src/engine/report.ts). */
export type StepSummary = StepReport;

export interface DomainSummary {
  domain: string;
  /** The domain's account (`own` or an `accounts[].name`), when the config has accounts. */
  account?: string;
  outcome: DomainOutcome;
  errors: string[];
  steps: StepSummary[];
  waits: Array<{ reason: string; message: string; outside: boolean; region?: string; selector?: string }>;
  warnings: Array<{ code: string; message: string }>;
  active?: { selector: string; notAfter: string };
  next?: { at: string; what: string };
  /** SES per region, as observed (status action only). */
  ses?: Record<string, { status?: string; signingEnabled?: boolean; selector?: string } | { error: string }>;
  daysToExpiry?: number;
  phaseAgeHours?: number;
  rotationsCompleted?: number;
}

export type OutcomeCounts = Record<DomainOutcome | 'skipped', number>;

export interface PassResponse {
  /** False when any domain failed (the invocation itself ran). */
  ok: boolean;
  action: 'phase_manager' | 'rotate' | 'rollback' | 'status';
  trigger: Invocation['trigger'];
  requestId: string;
  startedAt: string;
  durationMs: number;
  counts: OutcomeCounts;
  /** Domains not started before the deadline: the next run takes them. */
  skipped: string[];
  /** Domains whose SES work the budget deferred, then the skipped ones: the next run takes them first. */
  deferred: string[];
  /** SES calls of this run: sent (throttled included), throttled, and deferred by the deadline. */
  ses?: { calls: number; throttled: number; deferred: number };
  /** The account the run was limited to (`"account"` of the event). */
  account?: string;
  /** With `accounts` configured: the SES calls of this run per account (`own` or an `accounts[].name`). */
  sesByAccount?: Record<string, { calls: number; throttled: number; deferred: number }>;
  domains: DomainSummary[];
  stack?: { id?: string; status: string };
}

export interface IgnoredResponse {
  ok: true;
  action: 'ignore';
  trigger: Invocation['trigger'];
  requestId: string;
  reason: string;
}

export interface ErrorResponse {
  ok: false;
  action?: string;
  requestId: string;
  error: { code: string; message: string; field?: string; value?: string };
}

export type HandlerResponse = PassResponse | IgnoredResponse | ErrorResponse;

export interface HandlerOptions {
  /** Builds the runtime; called on the first invocation and cached (a failure is not cached). */
  init?: () => Promise<LambdaRuntime>;
  env?: Env;
  /** Writes one line to stdout. */
  write?: (line: string) => void;
  now?: () => Date;
  /** Picks where in the domain list a pass starts. */
  random?: () => number;
}

export type Handler = ((event: unknown, context: LambdaContext) => Promise<HandlerResponse>) & {
  /** Builds (or returns) the cached runtime: for pre-warming and for measuring cold init. */
  init(): Promise<LambdaRuntime>;
};

function positiveInt(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new InputError('ENV_INVALID', `${name}: "${raw}" is not a whole number from 0 to ${max}`, {
      context: { field: name, value: raw },
    });
  }
  return value;
}

/**
 * A handler over an injectable runtime. `handler` below is this with the defaults.
 *
 * @example
 * ```ts
 * const handle = createHandler({ init: async () => ({ loaded, deps, source: 'test' }) });
 * await handle({ action: 'status' }, { awsRequestId: 'r1', getRemainingTimeInMillis: () => 60_000 });
 * ```
 */
export function createHandler(options: HandlerOptions = {}): Handler {
  const env = options.env ?? process.env;
  const write = options.write ?? stdoutWriter;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const init = options.init ?? (() => initRuntime({ env }));
  let runtime: Promise<LambdaRuntime> | undefined;
  /**
   * Domains a deadline left out last time, while this environment stays warm, per scope of a
   * run (an account, or all domains): one account's run never reorders another's.
   */
  const carryOver = new Map<string, string[]>();

  const level: LogLevel = isLogLevel(env.BYODKIM_LOG_LEVEL) ? env.BYODKIM_LOG_LEVEL : 'info';

  const cachedRuntime = (): Promise<LambdaRuntime> => {
    if (runtime === undefined) {
      const started = Date.now();
      runtime = init().then((rt) => {
        new JsonLogger({ write, level, now }).info('initialized', {
          source: rt.source,
          domains: rt.loaded.domains.length,
          initMs: Date.now() - started,
        });
        return rt;
      });
      runtime.catch(() => {
        runtime = undefined;
      });
    }
    return runtime;
  };

  const handle = async (event: unknown, context: LambdaContext): Promise<HandlerResponse> => {
    const requestId = context.awsRequestId;
    const log = new JsonLogger({ write, level, now, base: { requestId } });
    let invocation: Invocation;
    try {
      invocation = parseEvent(event);
    } catch (error) {
      return rejected(log, requestId, undefined, error);
    }
    if (invocation.action === 'ignore') {
      log.info(`ignored: ${invocation.reason}`, {
        action: 'ignore',
        trigger: invocation.trigger,
        stackId: invocation.stackId,
        stackStatus: invocation.stackStatus,
      });
      return {
        ok: true,
        action: 'ignore',
        trigger: invocation.trigger,
        requestId,
        reason: invocation.reason,
      };
    }
    const action = invocation.action;
    let rt: LambdaRuntime;
    let margin: number;
    let concurrency: number;
    try {
      margin = positiveInt(env, 'BYODKIM_DEADLINE_MARGIN_MS', DEFAULT_DEADLINE_MARGIN_MS, 900_000);
      concurrency = Math.max(1, positiveInt(env, 'BYODKIM_CONCURRENCY', DEFAULT_CONCURRENCY, 1_024));
      rt = await cachedRuntime();
    } catch (error) {
      log.error(`cannot start: ${describeError(error)}`, { action, error: errorFields(error) });
      throw error;
    }
    const functionName = context.functionName ?? env.AWS_LAMBDA_FUNCTION_NAME ?? 'byodkim';
    if (rt.notifications) rt.notifications.logger = log;
    const deps: EngineDeps = {
      ...rt.deps,
      output: logOutput(log),
      owner: `lambda:${functionName}:${requestId}`,
      ...(rt.newProbe ? { probe: rt.newProbe() } : {}),
    };
    const account = 'account' in invocation ? invocation.account : undefined;
    const scope = account ?? '';
    let target: ResolvedDomain[];
    try {
      const candidates =
        account === undefined ? rt.loaded.domains : accountDomains(rt.loaded, account, 'account');
      if ('domain' in invocation && invocation.domain !== undefined) {
        const domain = findDomain(rt.loaded, invocation.domain, 'domain');
        if (!candidates.includes(domain)) {
          throw new InputError(
            'DOMAIN_NOT_IN_ACCOUNT',
            `domain: "${invocation.domain}" is not in account "${account}" (it is in "${accountLabel(domain.account)}")`,
            { context: { field: 'domain', value: invocation.domain } },
          );
        }
        target = [domain];
      } else target = ordered(candidates, carryOver.get(scope) ?? [], random);
    } catch (error) {
      const field = error instanceof InputError && error.code === 'ACCOUNT_UNKNOWN' ? 'account' : 'domain';
      return rejected(log, requestId, action, inSource(error, rt.loaded.path, rt.source), field);
    }

    const startedAt = now();
    log.info(`${action} started`, {
      action,
      trigger: invocation.trigger,
      domain: 'domain' in invocation ? invocation.domain : undefined,
      account,
      remainingMs: context.getRemainingTimeInMillis(),
    });

    const deadline = (): boolean => context.getRemainingTimeInMillis() < margin;
    const budget = deps.signing.budget;
    const withAccounts = (rt.loaded.config.accounts?.length ?? 0) > 0;
    const runAccounts = [...new Set(target.map((d) => accountLabel(d.account)))].sort();
    const sesBefore = budget?.counts();
    const sesBeforeByAccount = new Map(runAccounts.map((a) => [a, budget?.counts(a)]));
    // No SES call is granted that could not be made before the deadline: it is deferred instead.
    budget?.deferAfter(Math.max(0, context.getRemainingTimeInMillis() - margin));
    let results: DomainResult[];
    let skipped: string[] = [];
    try {
      if (invocation.action === 'rotate' || invocation.action === 'rollback') {
        const domain = target[0] as ResolvedDomain;
        try {
          await recordRequest(
            domain,
            deps,
            invocation.action === 'rotate'
              ? { kind: 'rotate', emergency: invocation.emergency, revokeNow: invocation.revokeNow }
              : { kind: 'rollback' },
          );
        } catch (error) {
          budget?.deferAfter(undefined);
          return rejected(log, requestId, action, error, 'domain', domain.domain);
        }
        log.info(`${action} request recorded`, {
          action,
          domain: domain.domain,
          reason: Reason.RequestRecorded,
        });
        // The request is saved: from here on the pass reports like any other.
        ({ results, skipped } = await forEachDomain([domain], (d) => applyDomain(d, deps)));
      } else {
        const run =
          invocation.action === 'status'
            ? // Status is asked for: read SES now rather than report the last read.
              (d: ResolvedDomain) => planDomain(d, deps, { forceSesRead: true })
            : (d: ResolvedDomain) => applyDomain(d, deps);
        ({ results, skipped } = await forEachDomain(target, run, { concurrency, deadline }));
        if (target.length > 1) carryOver.set(scope, deferredFirst(results, skipped));
      }
    } finally {
      budget?.deferAfter(undefined);
    }
    const sesAfter = budget?.counts();
    const ses =
      sesBefore && sesAfter
        ? {
            calls: sesAfter.calls - sesBefore.calls,
            throttled: sesAfter.throttled - sesBefore.throttled,
            deferred: sesAfter.deferred - sesBefore.deferred,
          }
        : undefined;
    const deferred = deferredFirst(results, skipped);
    const sesByAccount = withAccounts && budget ? sesDeltas(budget, sesBeforeByAccount) : undefined;
    const accountOf = new Map(target.map((d) => [d.domain, accountLabel(d.account)]));

    const finishedAt = now();
    const metrics =
      invocation.action === 'status'
        ? undefined
        : new MetricsEmitter({
            namespace: env.BYODKIM_METRICS_NAMESPACE || DEFAULT_NAMESPACE,
            write,
            properties: { requestId },
          });
    const domains = results.map((result) => {
      const domainAccount = withAccounts ? accountOf.get(result.domain) : undefined;
      const measures = {
        ...measureDomain(result, finishedAt),
        ...(domainAccount === undefined ? {} : { account: domainAccount }),
      };
      if (metrics && result.outcome !== 'locked') metrics.domain(measures, finishedAt);
      return summarize(result, measures, invocation.action === 'status');
    });
    metrics?.aggregate(finishedAt, {
      skipped: skipped.length,
      deferred: deferred.length,
      ...(ses ? { sesCalls: ses.calls, sesThrottled: ses.throttled } : {}),
      ...oldestSesRead(results, finishedAt),
    });
    for (const [name, counts] of Object.entries(sesByAccount ?? {}))
      metrics?.account(finishedAt, name, { sesCalls: counts.calls, sesThrottled: counts.throttled });

    const counts: OutcomeCounts = { ok: 0, waiting: 0, failed: 0, locked: 0, skipped: skipped.length };
    for (const r of results) counts[r.outcome] += 1;
    if (deferred.length > 0) {
      log.warn(`deadline or SES budget: ${deferred.length} domain(s) deferred to the next run`, {
        action,
        reason: Reason.DeadlineReached,
        skipped,
        deferred,
        ses,
        remainingMs: context.getRemainingTimeInMillis(),
        marginMs: margin,
      });
    }
    const durationMs = finishedAt.getTime() - startedAt.getTime();
    log.log(counts.failed > 0 ? 'warn' : 'info', `${action} done`, { action, counts, durationMs, ses });
    return {
      ok: counts.failed === 0,
      action,
      trigger: invocation.trigger,
      requestId,
      startedAt: startedAt.toISOString(),
      durationMs,
      counts,
      skipped,
      deferred,
      ...(ses ? { ses } : {}),
      ...(account === undefined ? {} : { account }),
      ...(sesByAccount ? { sesByAccount } : {}),
      domains,
      ...(invocation.action === 'phase_manager' && invocation.stackStatus !== undefined
        ? {
            stack: {
              status: invocation.stackStatus,
              ...(invocation.stackId === undefined ? {} : { id: invocation.stackId }),
            },
          }
        : {}),
    };
  };

  return Object.assign(handle, { init: cachedRuntime });
}

/**
 * What the next run should take first: domains whose SES work the budget deferred (they have
 * work in flight), then the ones the deadline left unstarted.
 */
export function deferredFirst(results: readonly DomainResult[], skipped: readonly string[]): string[] {
  return [...results.filter((r) => r.deferred).map((r) => r.domain), ...skipped];
}

/** The SES calls of this run per account: the budget's counts now less those before. */
function sesDeltas(
  budget: NonNullable<EngineDeps['signing']['budget']>,
  before: ReadonlyMap<string, { calls: number; throttled: number; deferred: number } | undefined>,
): Record<string, { calls: number; throttled: number; deferred: number }> {
  const out: Record<string, { calls: number; throttled: number; deferred: number }> = {};
  for (const [account, then] of before) {
    const now = budget.counts(account);
    out[account] = {
      calls: now.calls - (then?.calls ?? 0),
      throttled: now.throttled - (then?.throttled ?? 0),
      deferred: now.deferred - (then?.deferred ?? 0),
    };
  }
  return out;
}

/** The age of the oldest SES read among the domains of the run, in hours (none: no such read). */
function oldestSesRead(results: readonly DomainResult[], now: Date): { oldestSesReadHours?: number } {
  const reads = results.flatMap((r) => (r.state?.sesSeen ? [Date.parse(r.state.sesSeen.at)] : []));
  if (reads.length === 0) return {};
  return { oldestSesReadHours: Math.round(((now.getTime() - Math.min(...reads)) / 3_600_000) * 100) / 100 };
}

/** Carried-over domains first, then the rest starting at a random place, wrapping round. */
export function ordered(
  domains: readonly ResolvedDomain[],
  carryOver: readonly string[],
  random: () => number,
): ResolvedDomain[] {
  const first = new Set(carryOver);
  // In the carried-over order (SES work deferred before domains not started), not the config's.
  const byName = new Map(domains.map((d) => [d.domain, d]));
  const head = [...first].flatMap((name) => byName.get(name) ?? []);
  const rest = domains.filter((d) => !first.has(d.domain));
  const offset = rest.length === 0 ? 0 : Math.floor(random() * rest.length) % rest.length;
  return [...head, ...rest.slice(offset), ...rest.slice(0, offset)];
}

function rejected(
  log: JsonLogger,
  requestId: string,
  action: string | undefined,
  error: unknown,
  field?: string,
  value?: string,
): ErrorResponse {
  const code = error instanceof ByodkimError ? error.code : 'ERROR';
  const context = error instanceof ByodkimError ? error.context : {};
  const shownField = typeof context.field === 'string' ? context.field : field;
  const shownValue =
    typeof context.value === 'string'
      ? context.value
      : typeof context.domain === 'string'
        ? context.domain
        : value;
  const level: LogLevel = error instanceof InputError || error instanceof LockedError ? 'warn' : 'error';
  const message = describeError(error);
  log.log(level, `rejected: ${message}`, { action, reason: code, field: shownField, value: shownValue });
  return {
    ok: false,
    ...(action === undefined ? {} : { action }),
    requestId,
    error: {
      code,
      message,
      ...(shownField === undefined ? {} : { field: shownField }),
      ...(shownValue === undefined ? {} : { value: shownValue }),
    },
  };
}

/** Errors from the shared config code name the stand-in path of the config: name its source instead. */
function inSource(error: unknown, path: string, source: string): unknown {
  if (!(error instanceof InputError)) return error;
  return new InputError(error.code, error.message.replaceAll(path, source), {
    context: error.context,
    cause: error,
  });
}

function summarize(result: DomainResult, measures: DomainMeasures, withObservation: boolean): DomainSummary {
  const active = result.state?.keys.find((k) => k.status === 'active');
  const summary: DomainSummary = {
    domain: result.domain,
    ...(measures.account === undefined ? {} : { account: measures.account }),
    outcome: result.outcome,
    errors: result.errors,
    steps: stepReports(result),
    waits: (result.plan?.waits ?? []).map((w) => ({ ...w })),
    warnings: (result.plan?.warnings ?? []).map((w) => ({ code: w.code, message: w.message })),
    rotationsCompleted: measures.rotationsCompleted,
  };
  if (active) summary.active = { selector: active.selector, notAfter: active.notAfter };
  if (result.plan?.next) summary.next = { ...result.plan.next };
  if (measures.daysToExpiry !== undefined) summary.daysToExpiry = measures.daysToExpiry;
  if (measures.phaseAgeHours !== undefined) summary.phaseAgeHours = measures.phaseAgeHours;
  if (withObservation && result.observation) {
    summary.ses = Object.fromEntries(
      Object.entries(result.observation.ses).map(([region, o]) => [
        region,
        o.ok
          ? {
              ...(o.view.status === undefined ? {} : { status: o.view.status }),
              ...(o.view.signingEnabled === undefined ? {} : { signingEnabled: o.view.signingEnabled }),
              ...(o.view.tokens[0] === undefined || o.view.origin !== 'EXTERNAL'
                ? {}
                : { selector: o.view.tokens[0] }),
            }
          : { error: o.error },
      ]),
    );
  }
  return summary;
}

/** The function's handler (`index.handler` in the bundle). */
export const handler: Handler = createHandler();

/** Builds the cached runtime ahead of the first event (pre-warming, cold-start measurements). */
export const init = (): Promise<LambdaRuntime> => handler.init();
