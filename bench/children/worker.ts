/**
 * The measured process. Bundled by bench/lib/worker.ts and run with plain node:
 *
 *   node worker.mjs keygen '{"count":100}'
 *   node worker.mjs pass   '{"configPath":"…","concurrency":16,"maxPasses":1,…}'
 *   node worker.mjs probe  '{"nameservers":["127.0.0.1:5300"],"names":[…],…}'
 *   node worker.mjs probe  @input.json
 *
 * It prints one line `BENCH_RESULT {json}` and exits. Peak RSS is this process's own
 * (`process.resourceUsage().maxRSS`): the emulators and DNS servers are elsewhere.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { AwsClientFactory } from '../../src/adapters/aws/clients.js';
import type { PacerTimer } from '../../src/adapters/aws/pacing.js';
import { SesSigningService } from '../../src/adapters/aws/ses.js';
import { ConcurrencyLimiter } from '../../src/adapters/dns/limiter.js';
import { AuthoritativeProbe } from '../../src/adapters/dns/probe.js';
import { parseHostPort, queryServer } from '../../src/adapters/dns/transport.js';
import { buildEngineDeps } from '../../src/config/engine.js';
import { loadConfig } from '../../src/config/load.js';
import { generateDkimKey } from '../../src/domain/key.js';
import { applyDomain, type DomainResult, forEachDomain } from '../../src/engine/reconcile.js';

const RESULT_MARKER = 'BENCH_RESULT ';

function emit(result: unknown): void {
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

function rssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

// ---- keygen -------------------------------------------------------------------------------

async function keygen(input: { count: number; bits?: number }): Promise<unknown> {
  const started = performance.now();
  await Promise.all(Array.from({ length: input.count }, () => generateDkimKey(input.bits ?? 2048)));
  return { count: input.count, ms: performance.now() - started };
}

// ---- passes -------------------------------------------------------------------------------

export interface PassInput {
  configPath: string;
  /** The SES emulator, to read its counters between passes (control endpoints are not rate-limited). */
  sesEndpoint: string;
  concurrency: number;
  /** Stop after this many passes, or earlier once every domain is switched (`untilSwitched`). */
  maxPasses: number;
  untilSwitched?: boolean;
  /** Stop once every domain signs with a new key that SES reported SUCCESS for (promoted). */
  untilPromoted?: boolean;
  /** Stop starting passes after this long. */
  timeLimitMs: number;
  /** What-if: the SDK retry mode of the SES clients (byodkim uses `standard`). */
  sesRetryMode?: 'standard' | 'adaptive';
  /**
   * Run on a virtual clock shared with the emulator (its budget refilled by the emulator
   * clock): the engine's clock and the SES budget's timer are virtual, a wait for the budget
   * moves the clock, and nothing else does. `intervalMs`: passes start this far apart (a pass
   * that took longer is followed at once); absent: back to back.
   */
  virtual?: { intervalMs?: number };
}

export interface PassReport {
  index: number;
  ms: number;
  /** Virtual runs: how long the pass took on the virtual clock (the SES budget's time). */
  virtualMs?: number;
  /** Virtual runs: when it started, ms after the first pass started. */
  virtualStartMs?: number;
  outcomes: Record<string, number>;
  /** A few error messages, for the log. */
  errors: string[];
  /** Emulator request counters during this pass (throttled requests included). */
  requests: Record<string, number>;
  /** Requests the emulator answered 429. */
  throttled: number;
  /** Domains whose SES is switched to a new selector in every region, counted so far. */
  switchedSoFar: number;
  /** Domains whose active key is a new one (SES SUCCESS everywhere), after this pass. */
  promoted: number;
  /** Keys generated in this pass. */
  generated: number;
  /** CPU time of this (the engine's) process during the pass, user + system. */
  cpuMs: number;
  /** Heap still in use after a full GC with the pass's results held (only under `node --expose-gc`). */
  retainedHeapMb?: number;
}

export interface PassOutput {
  domains: number;
  regions: number;
  setupMs: number;
  passes: PassReport[];
  maxRssMb: number;
  heapUsedMb: number;
}

async function getJson(url: string): Promise<Record<string, number>> {
  const response = await fetch(url);
  return (await response.json()) as Record<string, number>;
}

async function emulatorCounts(
  endpoint: string,
): Promise<{ requests: Record<string, number>; throttled: number }> {
  const [requests, rejections] = await Promise.all([
    getJson(`${endpoint}/_emulator/counters`),
    getJson(`${endpoint}/_emulator/rejections`),
  ]);
  const throttled = Object.entries(rejections)
    .filter(([k]) => k.startsWith('throttled@'))
    .reduce((sum, [, n]) => sum + n, 0);
  return { requests, throttled };
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    if (k.includes('@')) continue;
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/**
 * What the worker keeps of one domain's pass: a long fleet run keeps a line per domain, not
 * the domain's whole state and plan, so the process's peak RSS is the engine's working set.
 */
interface DomainSummary {
  domain: string;
  outcome: DomainResult['outcome'];
  error?: string;
  generated: number;
  active?: string;
  /** Region and selector of every SES switch the state's history shows. */
  switches: Array<{ region: string; selector: string }>;
}

function summarize(result: DomainResult): DomainSummary {
  const switches: DomainSummary['switches'] = [];
  for (const entry of result.state?.history ?? []) {
    if (entry.reason !== 'SwitchSelector' || entry.selector === undefined) continue;
    const match = /^SES (\S+):/.exec(entry.message);
    if (match?.[1]) switches.push({ region: match[1], selector: entry.selector });
  }
  const active = result.state?.keys.find((k) => k.status === 'active')?.selector;
  return {
    domain: result.domain,
    outcome: result.outcome,
    ...(result.errors[0] === undefined ? {} : { error: result.errors[0] }),
    generated: result.plan?.steps.filter((s) => s.kind === 'generate-key').length ?? 0,
    ...(active === undefined ? {} : { active }),
    switches,
  };
}

/** Regions where SES was switched to a key that was not active when the run began. */
function switchedRegions(summary: DomainSummary, initialSelectors: ReadonlySet<string>): Set<string> {
  return new Set(summary.switches.filter((s) => !initialSelectors.has(s.selector)).map((s) => s.region));
}

/** What the pass keeps alive: heap after a full GC while `held` is still referenced. */
function retainedHeap(held: unknown): { retainedHeapMb?: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined || held === undefined) return {};
  gc();
  return { retainedHeapMb: process.memoryUsage().heapUsed / 1_048_576 };
}

/**
 * Virtual time for the SES budget and the engine, kept in step with the emulator's clock (which
 * refills its rate bucket). Sleepers wake in time order, one at a time: the clock moves to the
 * earliest, the emulator is told, then that sleeper runs. Time moves only when the budget waits.
 */
class VirtualTimer implements PacerTimer {
  #now: number;
  readonly #sleepers: Array<{ at: number; wake: () => void }> = [];
  #draining = false;

  constructor(
    start: number,
    readonly endpoint: string,
  ) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.#sleepers.push({ at: this.#now + Math.max(0, ms), wake });
      if (!this.#draining) setImmediate(() => void this.#drain());
    });
  }

  /**
   * Moves the clock (never back): the emulator first, then this process, so no call granted
   * at the new time reaches the emulator while its clock still shows the old one.
   */
  async moveTo(to: number): Promise<void> {
    // Whole milliseconds, rounded up: the emulator's clock has no fraction to lose.
    const at = Math.ceil(to);
    if (at <= this.#now) return;
    const response = await fetch(`${this.endpoint}/_emulator/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ set: at }),
    });
    if (!response.ok) throw new Error(`emulator clock: HTTP ${response.status}`);
    this.#now = Math.max(this.#now, at);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#sleepers.length > 0) {
        this.#sleepers.sort((a, b) => a.at - b.at);
        const next = this.#sleepers.shift() as { at: number; wake: () => void };
        await this.moveTo(next.at);
        next.wake();
        // Let the woken grant go out (and new sleepers register) before moving on.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#draining = false;
    }
  }
}

async function emulatorNow(endpoint: string): Promise<number> {
  const response = await fetch(`${endpoint}/_emulator/clock`);
  return Date.parse(((await response.json()) as { now: string }).now);
}

async function passes(input: PassInput): Promise<PassOutput> {
  const setupStarted = performance.now();
  const loaded = await loadConfig(input.configPath);
  const timer = input.virtual
    ? new VirtualTimer(await emulatorNow(input.sesEndpoint), input.sesEndpoint)
    : undefined;
  const deps = await buildEngineDeps(loaded, {
    clock: timer ? { now: () => new Date(timer.now()) } : { now: () => new Date() },
    actor: { kind: 'test', user: 'bench' },
    output: { event: () => undefined },
    ...(timer ? { sesPacerTimer: timer } : {}),
  });
  if (input.sesRetryMode) {
    const endpoint = loaded.config.aws?.endpoints?.sesv2;
    deps.signing = new SesSigningService({
      clients: new AwsClientFactory({
        retryMode: input.sesRetryMode,
        ...(endpoint === undefined ? {} : { endpoints: { sesv2: endpoint } }),
      }),
    });
  }
  const initialSelectors = new Set<string>();
  const setupMs = performance.now() - setupStarted;
  const regionCount = loaded.domains[0]?.regions.length ?? 0;
  const switched = new Set<string>();
  const reports: PassReport[] = [];
  const started = performance.now();
  const virtualStarted = timer?.now() ?? 0;
  for (let index = 0; index < input.maxPasses; index++) {
    if (performance.now() - started > input.timeLimitMs) break;
    const before = await emulatorCounts(input.sesEndpoint);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const v0 = timer?.now() ?? 0;
    const summaries: DomainSummary[] = [];
    await forEachDomain(
      loaded.domains,
      async (d) => {
        const result = await applyDomain(d, deps);
        summaries.push(summarize(result));
        return { domain: result.domain, outcome: result.outcome, errors: [] };
      },
      { concurrency: input.concurrency },
    );
    const ms = performance.now() - t0;
    const virtual = timer ? { virtualMs: timer.now() - v0, virtualStartMs: v0 - virtualStarted } : {};
    const cpu = process.cpuUsage(cpu0);
    const after = await emulatorCounts(input.sesEndpoint);
    const outcomes: Record<string, number> = {};
    const errors: string[] = [];
    let generated = 0;
    let promoted = 0;
    for (const summary of summaries) {
      outcomes[summary.outcome] = (outcomes[summary.outcome] ?? 0) + 1;
      if (summary.error !== undefined && errors.length < 5)
        errors.push(`${summary.domain}: ${summary.error}`);
      if (index === 0 && summary.active !== undefined) initialSelectors.add(summary.active);
      generated += summary.generated;
      if (switchedRegions(summary, initialSelectors).size >= regionCount) switched.add(summary.domain);
      if (summary.active !== undefined && !initialSelectors.has(summary.active)) promoted++;
    }
    reports.push({
      index,
      ms,
      ...virtual,
      outcomes,
      errors,
      requests: delta(after.requests, before.requests),
      throttled: after.throttled - before.throttled,
      switchedSoFar: switched.size,
      promoted,
      generated,
      cpuMs: (cpu.user + cpu.system) / 1000,
      ...retainedHeap(summaries),
    });
    if (input.untilSwitched && switched.size >= loaded.domains.length) break;
    if (input.untilPromoted && promoted >= loaded.domains.length) break;
    const interval = input.virtual?.intervalMs;
    if (timer && interval !== undefined) await timer.moveTo(v0 + interval);
  }
  return {
    domains: loaded.domains.length,
    regions: regionCount,
    setupMs,
    passes: reports,
    maxRssMb: rssMb(),
    heapUsedMb: process.memoryUsage().heapUsed / 1_048_576,
  };
}

// ---- probe ----------------------------------------------------------------------------------

interface ProbeSet {
  names: string[];
  /** The key expected at each name. */
  publicKeys: string[];
}

interface ProbeInput {
  nameservers: string[];
  /** Probed first and not counted: JIT warm-up, on names whose keys differ from `measured`'s. */
  warmup: ProbeSet;
  /** Probed once "cold" (keys never seen by this process), then `warmRepeats` more times. */
  measured: ProbeSet;
  warmRepeats: number;
  concurrency?: number;
  timeoutMs?: number;
}

interface ProbeRound {
  ms: number;
  answers: number;
  match: number;
  other: Record<string, number>;
}

async function probe(input: ProbeInput): Promise<unknown> {
  const probe = new AuthoritativeProbe({
    nameservers: input.nameservers,
    ...(input.concurrency === undefined ? {} : { concurrency: input.concurrency }),
    ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
    addressFamilies: [4],
  });
  const round = async (set: ProbeSet): Promise<ProbeRound> => {
    const t0 = performance.now();
    const results = await Promise.all(set.names.map((name, i) => probe.probe(name, set.publicKeys[i])));
    const ms = performance.now() - t0;
    let answers = 0;
    let match = 0;
    const other: Record<string, number> = {};
    for (const result of results) {
      for (const answer of result.answers) {
        answers++;
        if (answer.outcome === 'match') match++;
        else other[answer.outcome] = (other[answer.outcome] ?? 0) + 1;
      }
    }
    return { ms, answers, match, other };
  };
  const warmup = await round(input.warmup);
  const cold = await round(input.measured);
  const warm: ProbeRound[] = [];
  for (let i = 0; i < input.warmRepeats; i++) warm.push(await round(input.measured));
  return { warmup, cold, warm, maxRssMb: rssMb() };
}

/** The same queries as `probe`, through the probe's transport only: no key parsing, no judging. */
async function transport(input: ProbeInput): Promise<unknown> {
  const limiter = new ConcurrencyLimiter(input.concurrency ?? 64);
  const servers = input.nameservers.map((text) => parseHostPort(text));
  const round = async (set: ProbeSet): Promise<{ ms: number; answers: number; failed: number }> => {
    const t0 = performance.now();
    const settled = await Promise.allSettled(
      set.names.flatMap((name) =>
        servers.map((server) =>
          queryServer(server, name, 'TXT', {
            recursionDesired: false,
            timeoutMs: input.timeoutMs ?? 2_000,
            limiter,
          }),
        ),
      ),
    );
    return {
      ms: performance.now() - t0,
      answers: settled.length,
      failed: settled.filter((r) => r.status === 'rejected').length,
    };
  };
  const warmup = await round(input.warmup);
  const cold = await round(input.measured);
  const warm = [];
  for (let i = 0; i < input.warmRepeats; i++) warm.push(await round(input.measured));
  return { warmup, cold, warm, maxRssMb: rssMb() };
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const [command, json] = process.argv.slice(2);
  // `@file`: the input was too long for the command line.
  const text = json?.startsWith('@') ? readFileSync(json.slice(1), 'utf8') : (json ?? '{}');
  const input: unknown = JSON.parse(text);
  switch (command) {
    case 'keygen':
      emit(await keygen(input as { count: number }));
      break;
    case 'pass':
      emit(await passes(input as PassInput));
      break;
    case 'probe':
      emit(await probe(input as ProbeInput));
      break;
    case 'transport':
      emit(await transport(input as ProbeInput));
      break;
    default:
      throw new Error(`unknown worker command ${command}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
