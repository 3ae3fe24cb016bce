import type { Command } from 'commander';
import { forEachDomain, planDomain } from '../../engine/reconcile.js';
import type { GlobalOptions } from '../context.js';
import { cliClock } from '../context.js';
import { cliEngine, readExitCode, reportDomainErrors } from '../engine-context.js';
import { printJson, renderTable } from '../render.js';
import { statusCells, statusHeaders, statusRows } from '../status-rows.js';

/** Domain, regions, active selector, SES status per region, key age and expiry, standbys, next action. */
export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const { deps, domains, loaded } = await cliEngine(global, options.domain, {
    quiet: true,
    account: options.account,
  });
  const refresh = options.refresh === true;
  const { results } = await forEachDomain(domains, (d) => planDomain(d, deps, { forceSesRead: refresh }), {
    concurrency: 16,
  });
  const now = cliClock(global).now();
  const withAccount = (loaded.config.accounts?.length ?? 0) > 0;
  const rows = statusRows(results, domains, now, { withAccount });
  reportDomainErrors(results);
  if (global.output === 'json') {
    printJson(rows);
    return readExitCode(results);
  }
  process.stdout.write(
    `${renderTable(
      statusHeaders(withAccount),
      rows.map((row) => statusCells(row, now)),
    )}\n`,
  );
  for (const row of rows) {
    for (const [region, c] of Object.entries(row.canary ?? {}))
      process.stdout.write(
        `mail [${row.domain}] ${region}: ${c.lastSigned ? `last signed s=${c.lastSigned.selector} (canary sent ${c.lastSigned.sentAt})` : 'no canary signed by the domain yet'}${c.lastJudged && c.lastJudged.expectation !== 'expected' ? `; last canary ${c.lastJudged.expectation}${c.lastJudged.failing ? ` (${c.lastJudged.failing})` : ''}` : ''}\n`,
      );
    for (const warning of row.warnings) process.stdout.write(`warning [${row.domain}]: ${warning}\n`);
  }
  return readExitCode(results);
}
