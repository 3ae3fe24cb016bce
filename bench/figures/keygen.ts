/**
 * Key generation: N × RSA-2048 with byodkim's generateDkimKey (node:crypto's async
 * generateKeyPair on the libuv pool, all N started at once, in a fresh worker process)
 * against `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` run as one
 * process per core, each making its share one after another.
 *
 * RSA key generation time varies a lot from key to key (prime search) and the machine is
 * shared, so the two are interleaved in rounds: openssl N/4, byodkim N/4, openssl N/4, …,
 * and each side's throughput is its N keys over the sum of its wall times.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from '../lib/context.js';
import { run } from '../lib/proc.js';
import { type FigureResult, fmt, verdict } from '../lib/report.js';
import { runWorker } from '../lib/worker.js';

export const KEYGEN_TARGET = 0.9;

/** Makes `count` RSA-2048 keys with openssl, one process per core; returns wall ms. */
export async function opensslKeygen(count: number, processes = cpus().length): Promise<number> {
  const share = Array.from(
    { length: processes },
    (_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0),
  );
  const started = performance.now();
  await Promise.all(
    share.map(async (n) => {
      for (let i = 0; i < n; i++) {
        const result = await run(
          'openssl',
          ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', '/dev/null'],
          { timeoutMs: 30_000, discardStdout: true },
        );
        if (result.code !== 0) throw new Error(`openssl genpkey failed: ${result.stderr.slice(-500)}`);
      }
    }),
  );
  return performance.now() - started;
}

export async function byodkimKeygen(count: number): Promise<number> {
  const { result } = await runWorker<{ ms: number }>('keygen', { count }, { timeoutMs: 300_000 });
  return result.ms;
}

export async function keyGeneration(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const count = ctx.sizes.keygenCount;
  const ROUNDS = 4;
  const shares = Array.from(
    { length: ROUNDS },
    (_, i) => Math.floor(count / ROUNDS) + (i < count % ROUNDS ? 1 : 0),
  ).filter((n) => n > 0);
  const processes = cpus().length;
  let opensslMs = 0;
  let byodkimMs = 0;
  const rounds: Array<{ keys: number; opensslMs: number; byodkimMs: number }> = [];
  for (const keys of shares) {
    ctx.log(`key generation: openssl ${keys} keys (${processes} processes)`);
    const o = await opensslKeygen(keys, processes);
    ctx.log(`key generation: byodkim ${keys} keys`);
    const b = await byodkimKeygen(keys);
    opensslMs += o;
    byodkimMs += b;
    rounds.push({ keys, opensslMs: o, byodkimMs: b });
  }
  const opensslRate = count / (opensslMs / 1000);
  const byodkimRate = count / (byodkimMs / 1000);
  ctx.opensslKeysPerSecond = opensslRate;
  const ratio = byodkimRate / opensslRate;
  return {
    id: 'keygen',
    title: 'key generation',
    rows: [
      {
        figure: `key generation, ${count} × RSA-2048`,
        measured: `${fmt(byodkimRate, 1)} keys/s`,
        baseline: `openssl ×${processes} procs ${fmt(opensslRate, 1)} keys/s`,
        ratio,
        target: `≥ ${KEYGEN_TARGET}`,
        verdict: verdict(ratio >= KEYGEN_TARGET),
      },
    ],
    details: {
      count,
      processes,
      opensslKeysPerSecond: opensslRate,
      byodkimKeysPerSecond: byodkimRate,
      ratio,
      rounds,
      uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    },
    notes: [],
    seconds: (performance.now() - started) / 1000,
  };
}
