/** Sizes and shared measurements of one bench run. */

export interface Sizes {
  keygenCount: number;
  steadyDomains: number;
  waveDomains: number;
  probeRecords: number;
  /** Days simulated on the virtual clock in the steady-state figure, and the hours between its passes. */
  steadyDays: number;
  steadyIntervalHours: number;
  /** forEachDomain concurrency of the fleet figures (the CLI's and the Lambda's default). */
  concurrency: number;
  /** Fresh-process timings per command (cold init, CLI start). */
  startRuns: number;
  probeRounds: number;
  dnsperfSeconds: number;
}

export const FULL: Sizes = {
  keygenCount: 200,
  steadyDomains: 10_000,
  waveDomains: 2_000,
  probeRecords: 1_000,
  steadyDays: 2,
  steadyIntervalHours: 8,
  concurrency: 64,
  startRuns: 21,
  probeRounds: 5,
  dnsperfSeconds: 5,
};

/** BENCH_QUICK=1: a smoke check of every figure in a minute or two; its ratios are not comparable. */
export const QUICK: Sizes = {
  keygenCount: 20,
  steadyDomains: 300,
  waveDomains: 60,
  probeRecords: 100,
  steadyDays: 2,
  steadyIntervalHours: 8,
  concurrency: 64,
  startRuns: 5,
  probeRounds: 2,
  dnsperfSeconds: 2,
};

export const REGIONS = ['us-east-1', 'eu-west-1'] as const;

export interface BenchContext {
  quick: boolean;
  sizes: Sizes;
  /** openssl keys/s measured by the key generation figure; the wave's bound uses it. */
  opensslKeysPerSecond?: number;
  log(message: string): void;
}
