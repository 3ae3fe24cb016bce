/**
 * Start-up timing: fresh `node` processes, the command under test and the baseline
 * (`node -e 0`) interleaved run by run so both see the same machine load; the overhead is
 * the difference of the medians.
 */
import { type RunResult, run } from './proc.js';
import { median, quantile } from './stats.js';

export interface StartupTiming {
  runs: number;
  baselineMs: number[];
  targetMs: number[];
  baselineMedianMs: number;
  targetMedianMs: number;
  overheadMs: number;
  /** Overhead from the 25th and 75th percentiles, to show the spread. */
  overheadIqrMs: [number, number];
}

export interface StartCommand {
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Checks one run's result; throw to fail the figure. */
  check?: (result: RunResult) => void;
}

export async function timeStartup(target: StartCommand, runs: number, warmup = 2): Promise<StartupTiming> {
  const baseline: StartCommand = { args: ['-e', '0'] };
  const once = async (command: StartCommand): Promise<number> => {
    const result = await run(process.execPath, command.args, {
      timeoutMs: 30_000,
      ...(command.cwd ? { cwd: command.cwd } : {}),
      env: { ...process.env, ...command.env },
    });
    if (result.timedOut || result.code !== 0) {
      throw new Error(
        `node ${command.args.join(' ').slice(0, 120)} failed (exit ${result.code ?? result.signal}): ${result.stderr.slice(-800)}`,
      );
    }
    command.check?.(result);
    return result.wallMs;
  };
  for (let i = 0; i < warmup; i++) {
    await once(baseline);
    await once(target);
  }
  const baselineMs: number[] = [];
  const targetMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always follows the other.
    if (i % 2 === 0) {
      baselineMs.push(await once(baseline));
      targetMs.push(await once(target));
    } else {
      targetMs.push(await once(target));
      baselineMs.push(await once(baseline));
    }
  }
  const baselineMedianMs = median(baselineMs);
  const targetMedianMs = median(targetMs);
  return {
    runs,
    baselineMs,
    targetMs,
    baselineMedianMs,
    targetMedianMs,
    overheadMs: targetMedianMs - baselineMedianMs,
    overheadIqrMs: [
      quantile(targetMs, 0.25) - quantile(baselineMs, 0.25),
      quantile(targetMs, 0.75) - quantile(baselineMs, 0.75),
    ],
  };
}
