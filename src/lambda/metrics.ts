/**
 * CloudWatch metrics as Embedded Metric Format (EMF) log lines: CloudWatch Logs extracts
 * the metrics from the function's own log stream, so a pass costs no PutMetricData call
 * and needs no network at all for metrics.
 *
 * Per domain (namespace `byodkim`, dimension `Domain`; the infra's alarms and dashboard use
 * exactly these names; with `accounts` configured, each is published under `Account, Domain`
 * as well, the account being `own` or an `accounts[].name`):
 *
 *   DaysToExpiry        the active key's notAfter − now, in days (only with an active key)
 *   PhaseAgeHours       hours since the domain last moved while not settled; 0 when settled
 *   RotationsCompleted  keys that became the signing key in this run (first onboarding included)
 *   Failures            1 when the domain's pass failed in this run, else 0
 *
 * Per domain and region (dimensions `Domain`, `Region`), when a switch's gap closed in this run:
 *
 *   SigningGapSeconds   from the SES put to the first pass that saw SUCCESS on the new
 *                       selector (an upper bound: byodkim knows only when it looked)
 *
 * Per domain and region, for each canary judged in this run (config `canary`):
 *
 *   CanarySigned          1 when real mail was signed by the domain (a verifying signature), else 0
 *   CanaryDmarcPass       1 when it passed DMARC, else 0
 *   CanaryLatencySeconds  from the send to the receiving server's Received stamp
 *
 * And once per run without dimensions: Failures, RotationsCompleted, DomainsSkipped, and the
 * SES budget's figures (with `accounts`, SesCalls and SesThrottled also per account of the run,
 * dimension `Account`):
 *
 *   SesCalls            SES requests sent in this run (throttled ones included)
 *   SesThrottled        of those, answered with throttling (the pacer then slows down)
 *   DomainsDeferred     domains whose SES work was deferred, or not started, before the
 *                       deadline: the next run takes them first
 *   OldestSesReadHours  the age of the oldest SES read among the run's domains
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { DAY_MS, HOUR_MS } from '../domain/policy.js';
import type { DomainState } from '../domain/state.js';
import { type DomainResult, settled } from '../engine/reconcile.js';
import { canariesJudged, gapsClosed, rotationsCompleted } from '../engine/report.js';

export const DEFAULT_NAMESPACE = 'byodkim';

export const METRIC = {
  daysToExpiry: 'DaysToExpiry',
  phaseAgeHours: 'PhaseAgeHours',
  rotationsCompleted: 'RotationsCompleted',
  failures: 'Failures',
  domainsSkipped: 'DomainsSkipped',
  domainsDeferred: 'DomainsDeferred',
  sesCalls: 'SesCalls',
  sesThrottled: 'SesThrottled',
  oldestSesReadHours: 'OldestSesReadHours',
  signingGapSeconds: 'SigningGapSeconds',
  canarySigned: 'CanarySigned',
  canaryDmarcPass: 'CanaryDmarcPass',
  canaryLatencySeconds: 'CanaryLatencySeconds',
} as const;

/** CloudWatch has no "Days" or "Hours" unit: gauges in days/hours are unit-less. */
type Unit = 'None' | 'Count' | 'Seconds';

export interface MetricDatum {
  name: string;
  unit: Unit;
  value: number;
}

export interface DomainMeasures {
  domain: string;
  /** The domain's account, when the config has accounts: its metrics are also published per account. */
  account?: string;
  daysToExpiry?: number;
  phaseAgeHours?: number;
  rotationsCompleted: number;
  failures: number;
  /** Gaps of a switch that closed in this run, per region. */
  signingGaps?: Array<{ region: string; gapSeconds: number }>;
  /** Canaries judged in this run, per region. */
  canaries?: Array<{ region: string; signed: boolean; dmarcPass: boolean; latencySeconds?: number }>;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * When the domain last moved while not settled: the newest of its in-flight keys' status
 * changes, a switch, a removal request, a DNS hand-off or an operator request. Undefined
 * when nothing in the state dates it.
 */
export function phaseStartedAt(state: DomainState): Date | undefined {
  const stamps: string[] = [];
  for (const key of state.keys) {
    if (key.status === 'staged' || key.status === 'published') stamps.push(key.statusSince);
    if (key.status === 'verified' && key.switchedAt !== undefined)
      stamps.push(key.statusSince, key.switchedAt);
    if (key.removalRequestedAt !== undefined && key.destroyedAt === undefined)
      stamps.push(key.removalRequestedAt);
  }
  if (state.handOff) stamps.push(state.handOff.sentAt);
  if (state.rotation) stamps.push(state.rotation.requestedAt);
  if (state.rollback) stamps.push(state.rollback.requestedAt);
  if (stamps.length === 0) {
    const last = state.history.at(-1)?.at;
    if (last !== undefined) stamps.push(last);
  }
  const times = stamps.map((s) => Date.parse(s)).filter((t) => Number.isFinite(t));
  return times.length === 0 ? undefined : new Date(Math.max(...times));
}

/** What one domain's result says, as numbers. Pure. */
export function measureDomain(result: DomainResult, now: Date): DomainMeasures {
  const measures: DomainMeasures = {
    domain: result.domain,
    rotationsCompleted: 0,
    failures: result.outcome === 'failed' ? 1 : 0,
  };
  const state = result.state;
  if (!state) return measures;
  const active = state.keys.find((k) => k.status === 'active');
  if (active) measures.daysToExpiry = round2((Date.parse(active.notAfter) - now.getTime()) / DAY_MS);
  if (settled(state)) measures.phaseAgeHours = 0;
  else {
    const since = phaseStartedAt(state);
    measures.phaseAgeHours = since ? round2(Math.max(0, now.getTime() - since.getTime()) / HOUR_MS) : 0;
  }
  measures.rotationsCompleted = rotationsCompleted(result);
  const gaps = gapsClosed(result);
  if (gaps.length > 0) measures.signingGaps = gaps.map(({ region, gapSeconds }) => ({ region, gapSeconds }));
  const canaries = canariesJudged(result);
  if (canaries.length > 0) measures.canaries = canaries;
  return measures;
}

export function domainData(measures: DomainMeasures): MetricDatum[] {
  const data: MetricDatum[] = [];
  if (measures.daysToExpiry !== undefined)
    data.push({ name: METRIC.daysToExpiry, unit: 'None', value: measures.daysToExpiry });
  if (measures.phaseAgeHours !== undefined)
    data.push({ name: METRIC.phaseAgeHours, unit: 'None', value: measures.phaseAgeHours });
  data.push({ name: METRIC.rotationsCompleted, unit: 'Count', value: measures.rotationsCompleted });
  data.push({ name: METRIC.failures, unit: 'Count', value: measures.failures });
  return data;
}

/**
 * One EMF document: `_aws` metadata plus each dimension and metric value as a top-level
 * member. `dimensions` empty = a metric without dimensions (`Dimensions: [[]]`). `sets`: the
 * dimension sets each metric is published under (default one, all of `dimensions`).
 */
export function emfDocument(
  namespace: string,
  timestamp: Date,
  dimensions: Readonly<Record<string, string>>,
  data: readonly MetricDatum[],
  properties: Readonly<Record<string, unknown>> = {},
  sets: readonly (readonly string[])[] = [Object.keys(dimensions)],
): Record<string, unknown> {
  const document: Record<string, unknown> = {
    ...properties,
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: sets.map((set) => [...set]),
          Metrics: data.map((d) => ({ Name: d.name, Unit: d.unit })),
        },
      ],
    },
    ...dimensions,
  };
  for (const d of data) document[d.name] = d.value;
  return document;
}

/** What a run as a whole reports (besides the sums of its domains). */
export interface RunMeasures {
  skipped: number;
  deferred: number;
  sesCalls?: number;
  sesThrottled?: number;
  oldestSesReadHours?: number;
}

export interface MetricsEmitterOptions {
  namespace?: string;
  /** Writes one line (with its newline). */
  write: (line: string) => void;
  /** Extra members on every document (e.g. requestId), searchable in Logs Insights. */
  properties?: Readonly<Record<string, unknown>>;
}

/** Writes EMF lines for a run: one per domain, one aggregate. */
export class MetricsEmitter {
  readonly namespace: string;
  readonly #write: (line: string) => void;
  readonly #properties: Readonly<Record<string, unknown>>;
  #failures = 0;
  #rotations = 0;

  constructor(options: MetricsEmitterOptions) {
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.#write = options.write;
    this.#properties = options.properties ?? {};
  }

  domain(measures: DomainMeasures, at: Date): void {
    this.#failures += measures.failures;
    this.#rotations += measures.rotationsCompleted;
    // With accounts, every per-domain metric is also published with the account: alarms on
    // `Domain` keep working, and a fleet can be read per account.
    const account = measures.account;
    const dims = (rest: Record<string, string>) =>
      account === undefined ? rest : { Account: account, ...rest };
    const sets = (rest: string[]) => (account === undefined ? [rest] : [rest, ['Account', ...rest]]);
    this.#emit(
      emfDocument(
        this.namespace,
        at,
        dims({ Domain: measures.domain }),
        domainData(measures),
        this.#props(),
        sets(['Domain']),
      ),
    );
    for (const gap of measures.signingGaps ?? []) {
      this.#emit(
        emfDocument(
          this.namespace,
          at,
          dims({ Domain: measures.domain, Region: gap.region }),
          [{ name: METRIC.signingGapSeconds, unit: 'Seconds', value: gap.gapSeconds }],
          this.#props(),
          sets(['Domain', 'Region']),
        ),
      );
    }
    for (const canary of measures.canaries ?? []) {
      this.#emit(
        emfDocument(
          this.namespace,
          at,
          dims({ Domain: measures.domain, Region: canary.region }),
          [
            { name: METRIC.canarySigned, unit: 'Count', value: canary.signed ? 1 : 0 },
            { name: METRIC.canaryDmarcPass, unit: 'Count', value: canary.dmarcPass ? 1 : 0 },
            ...(canary.latencySeconds === undefined
              ? []
              : [
                  {
                    name: METRIC.canaryLatencySeconds,
                    unit: 'Seconds' as const,
                    value: canary.latencySeconds,
                  },
                ]),
          ],
          this.#props(),
          sets(['Domain', 'Region']),
        ),
      );
    }
  }

  /** The run's totals, without dimensions. */
  aggregate(at: Date, run: RunMeasures): void {
    const data: MetricDatum[] = [
      { name: METRIC.failures, unit: 'Count', value: this.#failures },
      { name: METRIC.rotationsCompleted, unit: 'Count', value: this.#rotations },
      { name: METRIC.domainsSkipped, unit: 'Count', value: run.skipped },
      { name: METRIC.domainsDeferred, unit: 'Count', value: run.deferred },
    ];
    if (run.sesCalls !== undefined) data.push({ name: METRIC.sesCalls, unit: 'Count', value: run.sesCalls });
    if (run.sesThrottled !== undefined)
      data.push({ name: METRIC.sesThrottled, unit: 'Count', value: run.sesThrottled });
    if (run.oldestSesReadHours !== undefined)
      data.push({ name: METRIC.oldestSesReadHours, unit: 'None', value: run.oldestSesReadHours });
    this.#emit(emfDocument(this.namespace, at, {}, data, this.#props()));
  }

  /** One account's SES figures for the run (dimension `Account`). */
  account(at: Date, account: string, run: { sesCalls: number; sesThrottled: number }): void {
    this.#emit(
      emfDocument(
        this.namespace,
        at,
        { Account: account },
        [
          { name: METRIC.sesCalls, unit: 'Count', value: run.sesCalls },
          { name: METRIC.sesThrottled, unit: 'Count', value: run.sesThrottled },
        ],
        this.#props(),
      ),
    );
  }

  #props(): Record<string, unknown> {
    return { message: 'metrics', ...this.#properties };
  }

  #emit(document: Record<string, unknown>): void {
    this.#write(`${JSON.stringify(document)}\n`);
  }
}
