import type { Command } from 'commander';
import { forEachDomain, planDomain } from '../../engine/reconcile.js';
import type { GlobalOptions } from '../context.js';
import { cliEngine, readExitCode, reportDomainErrors } from '../engine-context.js';
import { printJson } from '../render.js';

/** What the next pass would do, per domain, with reasons. Changes nothing. */
export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const { deps, domains } = await cliEngine(global, options.domain, {
    quiet: true,
    account: options.account,
  });
  const { results } = await forEachDomain(domains, (d) => planDomain(d, deps), { concurrency: 16 });
  reportDomainErrors(results);
  if (global.output === 'json') {
    printJson(results.map((r) => ({ domain: r.domain, outcome: r.outcome, errors: r.errors, ...r.plan })));
    return readExitCode(results);
  }
  for (const r of results) {
    const plan = r.plan;
    process.stdout.write(`${r.domain}\n`);
    if (r.errors.length > 0) process.stdout.write(`  error: ${r.errors.join('; ')}\n`);
    if (!plan) continue;
    for (const step of plan.steps)
      process.stdout.write(
        `  phase ${step.phase}  ${step.kind.padEnd(14)} ${step.reason.padEnd(22)} ${step.message}\n`,
      );
    for (const wait of plan.waits)
      process.stdout.write(`  wait     ${wait.reason.padEnd(37)} ${wait.message}\n`);
    for (const warning of plan.warnings)
      process.stdout.write(`  warning  ${warning.code.padEnd(37)} ${warning.message}\n`);
    for (const item of plan.schedule ?? [])
      process.stdout.write(
        `  later    ${item.at.slice(0, 16).replace('T', ' ')}  ${item.what} (${item.status === 'verified' ? 'ready' : item.status})\n`,
      );
    if (plan.steps.length === 0 && plan.waits.length === 0)
      process.stdout.write(
        `  nothing to do${plan.next ? `; next: ${plan.next.what} at ${plan.next.at}` : ''}\n`,
      );
    else if (plan.next) process.stdout.write(`  next: ${plan.next.what} at ${plan.next.at}\n`);
  }
  return readExitCode(results);
}
