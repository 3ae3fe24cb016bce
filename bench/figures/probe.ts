/**
 * DNS probe: M DKIM records (RSA-2048 keys, two character-strings each), each with its own
 * key as in a real fleet, in one zone on a BIND 9 primary + secondary
 * (test/support/bind.ts). byodkim's AuthoritativeProbe, told both servers as
 * `nameservers`, probes every record (M × 2 queries: one per server per record, each answer
 * judged against the expected key) with its default limit of 64 exchanges in flight.
 *
 * Each probe worker is a fresh process that first probes M other records (warm-up: JIT,
 * sockets; not counted), then the measured M records once with keys it has never seen
 * ("cold": what a pass over new keys costs; the headline), then again ("warm": keys already
 * parsed, as in a long-lived process).
 *
 * Baselines on the same two servers, in the same run:
 * - dnsperf: one dnsperf per server at the same time (EDNS on, 100 queries outstanding),
 *   the same M names, for a few seconds; the two rates summed = the pair's capacity.
 * - dig: `dig +norec -f` (batch mode: one query at a time, one process), each server in
 *   turn, the same M names.
 * A third measurement splits the probe's cost: the same queries through the probe's
 * transport (queryServer: socket per query, decode) without judging the answers.
 *
 * The rounds are interleaved (dnsperf, probe, transport, dig, and again) and medians are
 * reported.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateDkimKey } from '../../src/domain/key.js';
import { buildDkimRecordValue } from '../../src/domain/record.js';
import { bindSkipReason, startBindPair } from '../../test/support/bind.js';
import type { BenchContext } from '../lib/context.js';
import { distinctPublicKeys } from '../lib/keys.js';
import { run } from '../lib/proc.js';
import { type FigureResult, fmt, verdict } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { CACHE_DIR, runWorker } from '../lib/worker.js';

export const PROBE_TARGET = 0.5;
const ORIGIN = 'probe.example';
const INTERLEAVED = 3;

interface Round {
  ms: number;
  answers: number;
  match?: number;
  failed?: number;
  other?: Record<string, number>;
}

interface Rounds {
  warmup: Round;
  cold: Round;
  warm: Round[];
  maxRssMb: number;
}

async function dnsperf(
  server: { host: string; port: number },
  file: string,
  seconds: number,
): Promise<number> {
  const result = await run(
    'dnsperf',
    ['-s', server.host, '-p', String(server.port), '-d', file, '-l', String(seconds), '-e', '-q', '100'],
    { timeoutMs: (seconds + 20) * 1000 },
  );
  const qps = /Queries per second:\s+([\d.]+)/.exec(result.stdout)?.[1];
  if (result.code !== 0 || qps === undefined) {
    throw new Error(`dnsperf failed: ${result.stderr.slice(-500) || result.stdout.slice(-500)}`);
  }
  const lost = /Queries lost:\s+(\d+)/.exec(result.stdout)?.[1];
  if (lost !== undefined && Number(lost) > 0) {
    // Lost queries still count against the rate dnsperf reports; note them in the log only.
  }
  return Number(qps);
}

async function dig(server: { host: string; port: number }, file: string, count: number): Promise<number> {
  const result = await run(
    'dig',
    [`@${server.host}`, '-p', String(server.port), '+norec', '+tries=1', '+time=2', '-f', file],
    { timeoutMs: Math.max(30_000, count * 20), maxOutput: 20_000_000 },
  );
  const answered = (result.stdout.match(/status: NOERROR/g) ?? []).length;
  if (result.code !== 0 || answered !== count) {
    throw new Error(`dig answered ${answered}/${count}: ${result.stderr.slice(-300)}`);
  }
  return result.wallMs;
}

export async function dnsProbe(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const count = ctx.sizes.probeRecords;
  const title = `DNS probe, ${count.toLocaleString('en')} records on 2 BIND nameservers`;
  const skip = (() => {
    try {
      return bindSkipReason();
    } catch (error) {
      return (error as Error).message;
    }
  })();
  if (skip !== undefined) {
    return {
      id: 'probe',
      title: 'DNS probe',
      rows: [
        {
          figure: title,
          measured: skip,
          baseline: '—',
          target: `≥ ${PROBE_TARGET} × dnsperf`,
          verdict: 'SKIP',
        },
      ],
      details: { skipped: skip },
      notes: [],
      seconds: 0,
    };
  }
  const key = await generateDkimKey(2048);
  const pad = (i: number): string => String(i).padStart(5, '0');
  const measuredLabels = Array.from({ length: count }, (_, i) => `sel._domainkey.d${pad(i)}`);
  const warmupLabels = Array.from({ length: count }, (_, i) => `sel._domainkey.w${pad(i)}`);
  const measuredKeys = distinctPublicKeys(key.publicKey, count, 'measured');
  const warmupKeys = distinctPublicKeys(key.publicKey, count, 'warmup');
  const record = (label: string, publicKey: string): string => {
    const strings = (buildDkimRecordValue(publicKey).match(/.{1,255}/g) ?? []).map((c) => `"${c}"`);
    return `${label} IN TXT ${strings.join(' ')}`;
  };
  const names = measuredLabels.map((label) => `${label}.${ORIGIN}`);
  ctx.log(`DNS probe: starting BIND primary + secondary with ${2 * count} records`);
  const pair = await startBindPair({
    zones: [
      {
        origin: ORIGIN,
        records: [
          ...measuredLabels.map((label, i) => record(label, measuredKeys[i] as string)),
          ...warmupLabels.map((label, i) => record(label, warmupKeys[i] as string)),
        ],
      },
    ],
  });
  const servers = [pair.primary, pair.secondary];
  const nameservers = servers.map((s) => `${s.host}:${s.port}`);
  const queryFile = join(CACHE_DIR, 'probe-queries.txt');
  await writeFile(queryFile, `${names.map((n) => `${n} TXT`).join('\n')}\n`);
  const dnsperfQps: number[] = [];
  const probeQps: number[] = [];
  const probeWarmQps: number[] = [];
  const transportQps: number[] = [];
  const digQps: number[] = [];
  const probeRounds: Rounds[] = [];
  let maxRssMb = 0;
  const workerInput = {
    nameservers,
    warmup: { names: warmupLabels.map((label) => `${label}.${ORIGIN}`), publicKeys: warmupKeys },
    measured: { names, publicKeys: measuredKeys },
    warmRepeats: ctx.sizes.probeRounds,
  };
  const queries = count * servers.length;
  const rate = (r: Round): number => r.answers / (r.ms / 1000);
  try {
    for (let round = 0; round < INTERLEAVED; round++) {
      ctx.log(`DNS probe: round ${round + 1}/${INTERLEAVED}: dnsperf`);
      const rates = await Promise.all(servers.map((s) => dnsperf(s, queryFile, ctx.sizes.dnsperfSeconds)));
      dnsperfQps.push(rates.reduce((a, b) => a + b, 0));

      ctx.log(`DNS probe: round ${round + 1}/${INTERLEAVED}: byodkim probe`);
      const probe = (await runWorker<Rounds>('probe', workerInput, { timeoutMs: 180_000 })).result;
      maxRssMb = Math.max(maxRssMb, probe.maxRssMb);
      probeRounds.push(probe);
      for (const r of [probe.warmup, probe.cold, ...probe.warm]) {
        if (r.match !== queries)
          throw new Error(`probe: ${r.match}/${queries} answers match (${JSON.stringify(r.other)})`);
      }
      probeQps.push(rate(probe.cold));
      for (const r of probe.warm) probeWarmQps.push(rate(r));

      ctx.log(`DNS probe: round ${round + 1}/${INTERLEAVED}: probe transport only`);
      const transport = (await runWorker<Rounds>('transport', workerInput, { timeoutMs: 180_000 })).result;
      for (const r of [transport.cold, ...transport.warm]) transportQps.push(rate(r));

      ctx.log(`DNS probe: round ${round + 1}/${INTERLEAVED}: dig, one query at a time`);
      let digMs = 0;
      for (const s of servers) digMs += await dig(s, queryFile, count);
      digQps.push(queries / (digMs / 1000));
    }
  } finally {
    await pair.stop();
  }
  const probeRate = median(probeQps);
  const probeWarmRate = median(probeWarmQps);
  const dnsperfRate = median(dnsperfQps);
  const digRate = median(digQps);
  const transportRate = median(transportQps);
  const ratio = probeRate / dnsperfRate;
  return {
    id: 'probe',
    title: 'DNS probe',
    rows: [
      {
        figure: title,
        measured: `${fmt(probeRate, 0)} q/s, keys not seen before (${queries} queries in ${fmt((queries / probeRate) * 1000, 0)} ms)`,
        baseline: `dnsperf ${fmt(dnsperfRate, 0)} q/s`,
        ratio,
        target: `≥ ${PROBE_TARGET}`,
        verdict: verdict(ratio >= PROBE_TARGET),
      },
      {
        figure: '  probe again, keys already parsed (warm)',
        measured: `${fmt(probeWarmRate, 0)} q/s`,
        baseline: `dnsperf ${fmt(dnsperfRate, 0)} q/s`,
        ratio: probeWarmRate / dnsperfRate,
        target: 'report',
        verdict: 'info',
      },
      {
        figure: '  probe vs dig one query at a time',
        measured: `${fmt(probeRate, 0)} q/s`,
        baseline: `dig ${fmt(digRate, 0)} q/s`,
        ratio: probeRate / digRate,
        target: 'report',
        verdict: 'info',
      },
      {
        figure: '  probe transport alone (no judging)',
        measured: `${fmt(transportRate, 0)} q/s`,
        baseline: `dnsperf ${fmt(dnsperfRate, 0)} q/s`,
        ratio: transportRate / dnsperfRate,
        target: 'report',
        verdict: 'info',
      },
    ],
    details: {
      records: count,
      servers: nameservers.length,
      queriesPerRound: queries,
      probeQps,
      probeWarmQps,
      transportQps,
      dnsperfQps,
      digQps,
      probeRounds,
      probeWorkerMaxRssMb: maxRssMb,
    },
    notes: [],
    seconds: (performance.now() - started) / 1000,
  };
}
