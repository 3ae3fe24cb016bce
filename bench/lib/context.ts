/** Sizes and shared measurements of one bench run. */

export interface Sizes {
  keygenCount: number;
  steadyDomains: number;
  waveDomains: number;
  probeRecords: number;
  /** forEachDomain concurrency settings tried for the steady-state pass; the first is the headline. */
  steadyConcurrency: number[];
  /** Fresh-process timings per command (cold init, CLI start). */
  startRuns: number;
  probeRounds: number;
  dnsperfSeconds: number;
  /** The emulator's SES rate limit per region (steady-state pass and rotation wave). */
  sesRate: number;
}

export const FULL: Sizes = {
  keygenCount: 200,
  steadyDomains: 2_000,
  waveDomains: 500,
  probeRecords: 1_000,
  steadyConcurrency: [16, 64, 256],
  startRuns: 21,
  probeRounds: 5,
  dnsperfSeconds: 5,
  sesRate: 200,
};

/** BENCH_QUICK=1: a smoke check of every figure in a minute or two; its ratios are not comparable. */
export const QUICK: Sizes = {
  keygenCount: 20,
  steadyDomains: 200,
  waveDomains: 40,
  probeRecords: 100,
  steadyConcurrency: [16, 64],
  startRuns: 5,
  probeRounds: 2,
  dnsperfSeconds: 2,
  sesRate: 50,
};

export const REGIONS = ['us-east-1', 'eu-west-1'] as const;

export interface BenchContext {
  quick: boolean;
  sizes: Sizes;
  /** openssl keys/s measured by the key generation figure; the wave's bound uses it. */
  opensslKeysPerSecond?: number;
  log(message: string): void;
}
