import type { Command } from 'commander';
import { DAY_MS } from '../../domain/policy.js';
import { forEachDomain, planDomain } from '../../engine/reconcile.js';
import type { GlobalOptions } from '../context.js';
import { cliClock } from '../context.js';
import { cliEngine } from '../engine-context.js';
import { printJson, renderTable } from '../render.js';

function days(ms: number): string {
  return `${Math.floor(ms / DAY_MS)}d`;
}

/** Domain, regions, active selector, SES status per region, key age and expiry, standbys, next action. */
export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const { deps, domains } = await cliEngine(global, options.domain, { quiet: true });
  const now = cliClock(global).now();
  const { results } = await forEachDomain(domains, (d) => planDomain(d, deps), { concurrency: 16 });
  const rows = results.map((r) => {
    const keys = r.state?.keys ?? [];
    const active = keys.find((k) => k.status === 'active');
    const standbys = keys.filter((k) => ['staged', 'published', 'verified'].includes(k.status));
    const regions = domains.find((d) => d.domain === r.domain)?.regions ?? [];
    const ses = Object.fromEntries(
      regions.map((region) => {
        const o = r.observation?.ses[region];
        if (!o) return [region, 'unknown'];
        if (!o.ok) return [region, `error: ${o.error}`];
        const v = o.view;
        if (!v.exists) return [region, 'no identity'];
        return [
          region,
          `${v.status ?? '-'}${v.signingEnabled ? '' : ' (signing off)'}${v.tokens[0] && v.tokens[0] !== active?.selector ? ` on ${v.origin === 'EXTERNAL' ? v.tokens[0] : 'Easy DKIM'}` : ''}`,
        ];
      }),
    );
    const firstWait = r.plan?.waits[0];
    const next = r.plan?.steps[0]
      ? `now: ${r.plan.steps[0].message}`
      : firstWait
        ? `waiting: ${firstWait.message}`
        : r.plan?.next
          ? `${r.plan.next.what} on ${r.plan.next.at.slice(0, 10)}`
          : '-';
    return {
      domain: r.domain,
      regions,
      active: active?.selector,
      ses,
      keyAgeDays: active ? Math.floor((now.getTime() - Date.parse(active.createdAt)) / DAY_MS) : undefined,
      expires: active?.notAfter,
      standby: standbys.map((k) => ({
        selector: k.selector,
        status: k.status,
        switching: k.switchedAt !== undefined,
      })),
      next,
      nextAt: r.plan?.next?.at,
      outcome: r.outcome,
      warnings: r.plan?.warnings.map((w) => w.message) ?? [],
      errors: r.errors,
    };
  });
  if (global.output === 'json') {
    printJson(rows);
    return 0;
  }
  process.stdout.write(
    `${renderTable(
      ['DOMAIN', 'ACTIVE', 'SES', 'AGE', 'EXPIRES', 'NEXT KEYS', 'NEXT'],
      rows.map((row) => [
        row.domain,
        row.active ?? '-',
        Object.entries(row.ses)
          .map(([region, status]) => `${region}:${status}`)
          .join(' '),
        row.keyAgeDays === undefined ? '-' : days(row.keyAgeDays * DAY_MS),
        row.expires?.slice(0, 10) ?? '-',
        row.standby
          .map(
            (k) =>
              `${k.selector} (${k.switching ? 'switching' : k.status === 'verified' ? 'ready' : k.status})`,
          )
          .join(', ') || '-',
        row.errors[0] ?? row.next,
      ]),
    )}\n`,
  );
  for (const row of rows)
    for (const warning of row.warnings) process.stdout.write(`warning [${row.domain}]: ${warning}\n`);
  return 0;
}
