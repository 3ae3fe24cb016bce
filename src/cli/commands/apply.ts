import type { Command } from 'commander';
import { applyDomain, forEachDomain } from '../../engine/reconcile.js';
import { domainSummary, soonestFollowUp, stepReports } from '../../engine/report.js';
import { InputError } from '../../errors.js';
import type { GlobalOptions } from '../context.js';
import { cliEngine, exitCodeOf } from '../engine-context.js';
import { printJson, renderTable } from '../render.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const watch =
    options.watch === undefined ? undefined : options.watch === true ? 300 : Number(options.watch);
  if (watch !== undefined && (!Number.isFinite(watch) || watch < 1)) {
    throw new InputError('WATCH_INVALID', `--watch: "${String(options.watch)}" is not a number of seconds`, {
      context: { watch: String(options.watch) },
    });
  }
  const { deps, domains } = await cliEngine(global, options.domain);
  const concurrency = Number(options.concurrency ?? 16);
  for (;;) {
    const { results } = await forEachDomain(domains, (d) => applyDomain(d, deps), { concurrency });
    if (global.output === 'json') {
      printJson(
        results.map((r) => ({
          domain: r.domain,
          outcome: r.outcome,
          errors: r.errors,
          steps: stepReports(r),
          waits: r.plan?.waits ?? [],
          warnings: r.plan?.warnings ?? [],
          ...(r.plan?.next ? { next: r.plan.next } : {}),
        })),
      );
    } else if (results.length > 1) {
      process.stdout.write(
        `\n${renderTable(
          ['DOMAIN', 'RESULT', 'DETAIL'],
          results.map((r) => [r.domain, r.outcome, domainSummary(r)]),
        )}\n`,
      );
    }
    if (watch === undefined) return exitCodeOf(results);
    // A switch in flight asks to be read again in minutes: wake up for it rather than at the interval.
    const followUp = soonestFollowUp(results);
    const untilFollowUp = followUp
      ? followUp.getTime() - deps.clock.now().getTime()
      : Number.POSITIVE_INFINITY;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(1000, Math.min(watch * 1000, untilFollowUp))),
    );
  }
}
