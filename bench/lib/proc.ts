/**
 * Child processes for the bench: every one is tracked and killed (by its own pid, never by
 * name) when the bench exits, is interrupted, or a figure fails; every one has a time limit.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => killAll('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll('SIGKILL');
      process.exit(130);
    });
  }
}

/** Kills every child this bench started and that is still running. */
export function killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Spawn to exit, wall clock. */
  wallMs: number;
  timedOut: boolean;
}

export interface RunOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Killed (SIGKILL) after this long. Required: no load loop is unbounded. */
  timeoutMs: number;
  /** Keep at most this many characters of stdout/stderr (the tail). Default 1 MB. */
  maxOutput?: number;
  /** Ignore stdout entirely (e.g. dig's output). */
  discardStdout?: boolean;
}

/** Runs a command to completion (or its time limit) and collects its output. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  installHooks();
  const { timeoutMs, maxOutput = 1_000_000, discardStdout = false, ...spawnOptions } = options;
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, {
      ...spawnOptions,
      stdio: ['ignore', discardStdout ? 'ignore' : 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const keep = (buffer: string, chunk: Buffer): string => {
      const next = buffer + chunk.toString('utf8');
      return next.length > maxOutput ? next.slice(-maxOutput) : next;
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout = keep(stdout, chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = keep(stderr, chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, wallMs: performance.now() - started, timedOut });
    };
    child.once('error', (error) => {
      stderr += `\nspawn error: ${error.message}`;
      finish(null, null);
    });
    child.once('exit', (code, signal) => {
      // 'close' waits for the pipes; give them a moment to drain.
      child.once('close', () => finish(code, signal));
    });
  });
}

/** Runs and throws with the stderr tail when the command fails or times out. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0 || result.timedOut) {
    const why = result.timedOut
      ? `timed out after ${options.timeoutMs} ms`
      : `exit ${result.code ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ').slice(0, 200)}: ${why}\n${result.stderr.slice(-2000)}`);
  }
  return result;
}

/** Marker of the one line of JSON a bench worker prints as its result. */
export const RESULT_MARKER = 'BENCH_RESULT ';

/** The JSON result a worker printed on its marked line. */
export function parseWorkerResult<T>(result: RunResult, what: string): T {
  const line = result.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_MARKER));
  if (line === undefined || result.code !== 0) {
    const why = result.timedOut ? 'timed out' : `exit ${result.code ?? result.signal}`;
    throw new Error(`${what}: worker gave no result (${why})\n${result.stderr.slice(-3000)}`);
  }
  return JSON.parse(line.slice(RESULT_MARKER.length)) as T;
}
