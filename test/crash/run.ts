/**
 * Crash harness: kills the real CLI `apply` (node dist/src/cli/main.js) with SIGKILL at
 * random moments while a few domains onboard and rotate again and again, then runs apply
 * until the world converges, and checks the safety invariants, convergence and "a crash
 * leaves nothing behind" (test/crash/monitor.ts).
 *
 *   npm run test:crash                                   300 kills, random seed
 *   npm run test:crash -- --kills 100 --seed 42 --minutes 20 [--keep]
 *   BYODKIM_CRASH_KILLS / BYODKIM_CRASH_SEED / BYODKIM_CRASH_MINUTES do the same
 *
 * Everything runs on loopback with a virtual clock (the CLI's --now and the emulators'
 * clock move together). Randomness (kill moments, chain lengths, time steps) is seeded and
 * the seed printed; the wall-clock timing of a kill against the child's progress is not
 * reproducible, so a seed reproduces the schedule, not every outcome.
 *
 * Ends with the verdict line "N kills, V violations, O orphans" (O: orphan keys, orphan
 * records and stray temp or lock files together, broken down on the line before; a chain
 * of kills that does not converge is a violation of invariant 4) and exits 1 unless V and
 * O are 0, naming each finding with the kill and virtual time it was first seen at.
 */
import { parseArgs } from 'node:util';
import { DAY_MS } from '../support/invariants.js';
import { type Finding, Monitor } from './monitor.js';
import { type CliRun, type CrashDomain, CrashWorld, type WorldOptions } from './world.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Unkilled passes allowed to converge after a chain of kills. */
const MAX_CONVERGE_PASSES = 40;
/** Virtual time between convergence passes. */
const CONVERGE_STEP_MS = 3 * HOUR_MS;
/** Chance that the secondary nameserver transfers the zone before a pass. */
const SECONDARY_SYNC = 0.8;
/** Consecutive chains that fail to converge before the harness gives up on the world. */
const MAX_STUCK = 3;

const DOMAINS: CrashDomain[] = [
  { domain: 'alpha.example', dns: 'rfc2136' },
  // Another validity, so its rotations fall between alpha's.
  { domain: 'beta.example', dns: 'rfc2136', policy: { validityDays: 4, renewBeforeDays: 1 } },
  { domain: 'gamma.example', dns: 'manual' },
];

const WORLD: WorldOptions = {
  domains: DOMAINS,
  regions: ['us-east-1', 'eu-west-1'],
  start: '2026-01-01T00:00:00.000Z',
  // Short lives so that a run sees many rotations: renew after two days, long enough for a
  // switch and the grace after it (the shortest the config accepts: SES's 14 hours of
  // delivery retries plus the record's TTL) to end before the next rotation starts.
  policy: { validityDays: 3, renewBeforeDays: 1, graceDays: 0.6, keyBits: 1024, verifyChecks: 2 },
  teamDelayMs: HOUR_MS,
};

interface Settings {
  kills: number;
  seed: number;
  minutes: number;
  keep: boolean;
}

function settings(): Settings {
  const { values } = parseArgs({
    options: {
      kills: { type: 'string' },
      seed: { type: 'string' },
      minutes: { type: 'string' },
      keep: { type: 'boolean' },
    },
    strict: true,
  });
  const number = (flag: string, value: string | undefined, fallback: number): number => {
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      console.error(
        `error: --${flag} (or BYODKIM_CRASH_${flag.toUpperCase()}) must be a whole number, got "${value}"`,
      );
      process.exit(2);
    }
    return n;
  };
  return {
    kills: number('kills', values.kills ?? process.env.BYODKIM_CRASH_KILLS, 300),
    seed: number('seed', values.seed ?? process.env.BYODKIM_CRASH_SEED, Math.floor(Math.random() * 2 ** 31)),
    minutes: number('minutes', values.minutes ?? process.env.BYODKIM_CRASH_MINUTES, 90),
    keep: values.keep === true,
  };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Running averages of how long a pass takes, to aim kills at the part where it acts. */
class PassTimes {
  idleMs = 600;
  busyMs = 1_200;

  note(run: CliRun): void {
    if (run.killed) return;
    const steps = stepsOf(run);
    if (steps === undefined) return;
    if (steps === 0) this.idleMs = 0.8 * this.idleMs + 0.2 * run.ms;
    else this.busyMs = 0.8 * this.busyMs + 0.2 * run.ms;
  }
}

/** Each domain's outcome in an unkilled pass (`--output json`). */
function outcomesOf(run: CliRun): Map<string, string> {
  try {
    const results = JSON.parse(run.stdout) as Array<{ domain: string; outcome: string }>;
    return new Map(results.map((r) => [r.domain, r.outcome]));
  } catch {
    return new Map();
  }
}

function stepsOf(run: CliRun): number | undefined {
  try {
    const results = JSON.parse(run.stdout) as Array<{ steps?: unknown[] }>;
    return results.reduce((n, r) => n + (r.steps?.length ?? 0), 0);
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const config = settings();
  const random = seeded(config.seed);
  const startedAt = Date.now();
  const deadline = startedAt + config.minutes * MINUTE_MS;
  console.log(
    `crash harness: seed ${config.seed}, target ${config.kills} kills, at most ${config.minutes} min ` +
      `(${DOMAINS.map((d) => `${d.domain} ${d.dns}`).join(', ')}; regions ${WORLD.regions.join(', ')})`,
  );

  let monitor: Monitor | undefined;
  const world = await CrashWorld.start(WORLD, {
    switching: async (change) => monitor?.switching(change),
    switched: (change) => monitor?.switched(change),
  });
  monitor = new Monitor(world);
  const m = monitor;
  const times = new PassTimes();
  let kills = 0;
  /** Passes a kill was aimed at (some finish before their kill moment). */
  let aimed = 0;
  let passes = 0;
  let cliMs = 0;
  let chains = 0;
  let convergences = 0;
  const passesToConverge: number[] = [];
  let stuck = 0;
  const rotations = new Map<string, number>(DOMAINS.map((d) => [d.domain, 0]));
  const active = new Map<string, string>();

  const label = () => `kill ${kills}, ${world.clock.now().toISOString()}`;
  const advance = (ms: number) => {
    world.clock.advance(ms);
    m.timePassed();
  };
  const pass = async (kill: boolean): Promise<CliRun> => {
    m.at(label());
    if ((await world.team.work()).length > 0) await m.dnsChanged('the DNS team');
    // The secondary usually transfers before a pass; sometimes it lags longer.
    if (random() < SECONDARY_SYNC) world.syncSecondary();
    await m.beforePass();
    // From shortly before the CLI can first act until about when a busy pass ends.
    const killAfterMs = kill
      ? Math.round(0.6 * times.idleMs + random() * (1.05 * times.busyMs - 0.6 * times.idleMs))
      : undefined;
    const run = await world.apply(killAfterMs);
    passes++;
    if (kill) aimed++;
    cliMs += run.ms;
    if (run.killed) kills++;
    times.note(run);
    m.at(label());
    await m.afterPass(run);
    return run;
  };

  try {
    while (kills < config.kills && Date.now() < deadline && stuck < MAX_STUCK) {
      // A chain of killed passes (the next one may hit the half-done work of the last).
      chains++;
      let chain = 1;
      while (chain < 4 && random() < 0.5) chain++;
      for (let i = 0; i < chain && kills < config.kills; i++) {
        if (i > 0) advance(Math.floor(random() * 3) * HOUR_MS);
        await pass(true);
      }
      // Then apply, unkilled, until every domain has converged (each at its own pass).
      const pending = new Set(DOMAINS.map((d) => d.domain));
      let last: CliRun | undefined;
      for (let i = 1; i <= MAX_CONVERGE_PASSES && pending.size > 0; i++) {
        advance(CONVERGE_STEP_MS);
        last = await pass(false);
        // Bad input is the harness's own mistake (its config), not something a pass converges from.
        if (last.code === 2)
          throw new Error(`the CLI refused its input: ${last.stderr.trim().split('\n')[0]}`);
        await m.afterCleanPass();
        const outcomes = outcomesOf(last);
        for (const domain of [...pending]) {
          if (outcomes.get(domain) !== 'ok' || !(await m.settled(domain))) continue;
          pending.delete(domain);
          passesToConverge.push(i);
          await m.domainConverged(domain);
          const now = (await world.loadState(domain))?.keys.find((k) => k.status === 'active')?.selector;
          const before = active.get(domain);
          if (now !== undefined && before !== undefined && now !== before)
            rotations.set(domain, (rotations.get(domain) ?? 0) + 1);
          if (now !== undefined) active.set(domain, now);
        }
      }
      if (pending.size > 0) {
        stuck++;
        m.report(
          'violation',
          `converge:${kills}`,
          `invariant 4: ${[...pending].join(', ')} did not converge within ${MAX_CONVERGE_PASSES} passes after kill ${kills} ` +
            `(last exit ${last?.code}: ${summarize(last)})`,
        );
        continue;
      }
      stuck = 0;
      convergences++;
      // On to the next moment something is due (a rotation, the end of a grace period).
      const next = await nextEvent(world);
      world.clock.set(Math.max(world.nowMs, next) + Math.floor(random() * 90) * MINUTE_MS);
      m.timePassed();
    }
  } finally {
    await world.stop({ keep: config.keep });
  }

  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const violations = m.findings('violation');
  const orphans = m.findings('orphan');
  const strays = m.findings('stray');
  const orphanKeys = orphans.filter((o) => o.message.includes('orphan key')).length;
  console.log(
    `${passes} passes in ${seconds} s (${Math.round(cliMs / 1000)} s in the CLI, ${kills > 0 ? (seconds / kills).toFixed(1) : '-'} s per kill); ` +
      `${kills} of ${aimed} aimed kills hit a running pass; ${spread(passesToConverge)} passes for a domain to converge; ` +
      `rotations: ${[...rotations].map(([d, n]) => `${d} ${n}`).join(', ')}`,
  );
  if (kills < config.kills)
    console.log(
      stuck >= MAX_STUCK
        ? `stopped after ${kills} of ${config.kills} kills: the world stopped converging`
        : `stopped by the ${config.minutes}-minute limit after ${kills} of ${config.kills} kills`,
    );
  if (config.keep) console.log(`world kept in ${world.dir}`);
  print('violation', violations);
  print('orphan', orphans);
  print('stray file', strays);
  console.log(
    `left behind: ${orphanKeys} orphan keys, ${orphans.length - orphanKeys} orphan records, ${strays.length} stray files; ` +
      `${convergences} of ${chains} chains of kills converged`,
  );
  // The verdict, last: whatever was left behind (keys, records, temp files) counts as an orphan.
  const leftBehind = orphans.length + strays.length;
  console.log(`${kills} kills, ${violations.length} violations, ${leftBehind} orphans`);
  return violations.length + leftBehind > 0 ? 1 : 0;
}

/** The next moment a domain has something due: a rotation, or the end of a key's grace period. */
async function nextEvent(world: CrashWorld): Promise<number> {
  const now = world.nowMs;
  const due: number[] = [];
  for (const d of DOMAINS) {
    const renewBefore = (d.policy?.renewBeforeDays ?? WORLD.policy.renewBeforeDays) * DAY_MS;
    for (const key of (await world.loadState(d.domain))?.keys ?? []) {
      if (key.status === 'active') due.push(Date.parse(key.notAfter) - renewBefore);
      if ((key.status === 'retiring' || key.status === 'failed') && key.destroyedAt === undefined)
        due.push(Date.parse(key.retiringSince ?? key.statusSince) + WORLD.policy.graceDays * DAY_MS);
    }
  }
  return Math.min(...due.filter((t) => t > now), now + 6 * HOUR_MS);
}

/** `median M, at most X` of a list of counts. */
function spread(counts: readonly number[]): string {
  if (counts.length === 0) return 'no';
  const sorted = [...counts].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]}, at most ${sorted.at(-1)}`;
}

function summarize(run: CliRun | undefined): string {
  if (run === undefined) return 'no pass';
  try {
    const results = JSON.parse(run.stdout) as Array<{ domain: string; outcome: string; errors: string[] }>;
    return results
      .filter((r) => r.outcome !== 'ok')
      .map((r) => `${r.domain} ${r.outcome}${r.errors.length ? `: ${r.errors.join('; ')}` : ''}`)
      .join(', ');
  } catch {
    return run.stderr.trim().split('\n').slice(-2).join(' | ');
  }
}

function print(what: string, findings: readonly Finding[]): void {
  for (const f of findings) console.log(`  ${what}: ${f.message} [first seen ${f.firstSeen}]`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(
      `crash harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 2;
  },
);
