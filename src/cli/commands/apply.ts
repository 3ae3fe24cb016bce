import type { Command } from 'commander';
import { applyDomain, DEFAULT_CONCURRENCY, forEachDomain } from '../../engine/reconcile.js';
import { domainSummary, soonestFollowUp, stepReports } from '../../engine/report.js';
import { type GlobalOptions, integerOption } from '../context.js';
import { cliEngine, exitCodeOf, reportDomainErrors } from '../engine-context.js';
import { printJson, printJsonLine, renderTable } from '../render.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const watch =
    options.watch === undefined
      ? undefined
      : options.watch === true
        ? 300
        : integerOption(options.watch, '--watch', 1, 7 * 86_400);
  const concurrency = integerOption(options.concurrency ?? DEFAULT_CONCURRENCY, '--concurrency', 1, 1024);
  const { deps, domains } = await cliEngine(global, options.domain, { account: options.account });
  for (;;) {
    const { results } = await forEachDomain(domains, (d) => applyDomain(d, deps), { concurrency });
    reportDomainErrors(results);
    if (global.output === 'json') {
      // One document per run; with --watch, one per pass, each on one line (JSON Lines).
      (watch === undefined ? printJson : printJsonLine)(
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
