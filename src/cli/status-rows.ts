/**
 * The rows of `byodkim status`, from plan results: used by the status command and by the
 * sandbox's closing table, so both show the same columns and wording.
 */
import type { ResolvedDomain } from '../config/load.js';
import { accountLabel } from '../domain/account.js';
import { DAY_MS, HOUR_MS } from '../domain/policy.js';
import type { DomainResult } from '../engine/reconcile.js';
import {
  type CanaryRegionReport,
  canaryReport,
  type LastSwitchReport,
  lastSwitchReport,
} from '../engine/report.js';

export const STATUS_HEADERS = ['DOMAIN', 'ACTIVE', 'SES', 'AGE', 'EXPIRES', 'NEXT KEYS', 'NEXT'] as const;

/** The headers for rows with or without the account (a config with `accounts`). */
export function statusHeaders(withAccount: boolean): string[] {
  return withAccount ? ['DOMAIN', 'ACCOUNT', ...STATUS_HEADERS.slice(1)] : [...STATUS_HEADERS];
}

export interface StatusRow {
  domain: string;
  /** The domain's account (`own` or an `accounts[].name`), when the config has accounts. */
  account?: string;
  active?: string;
  /** By region: `SUCCESS`, `PENDING`, `error: …`, with ` (signing off)` / ` on <other selector>`. */
  ses: Record<string, string>;
  /** When SES was read: now, or (when nothing was due) the last read the state remembers. */
  sesReadAt?: string;
  keyAgeDays?: number;
  expires?: string;
  standby: Array<{ selector: string; status: string; switching: boolean }>;
  next: string;
  /** The last switch per region: put, first SUCCESS seen, and the gap between (an upper bound). */
  lastSwitch?: LastSwitchReport;
  /** Per region: the selector real mail (the canary) was last signed with, and when. */
  canary?: Record<string, CanaryRegionReport>;
  errors: string[];
  warnings: string[];
}

export function statusRows(
  results: readonly DomainResult[],
  domains: readonly ResolvedDomain[],
  now: Date,
  options: { withAccount?: boolean } = {},
): StatusRow[] {
  return results.map((r) => {
    const spec = domains.find((d) => d.domain === r.domain);
    const keys = r.state?.keys ?? [];
    const active = keys.find((k) => k.status === 'active');
    const standbys = keys.filter((k) => ['staged', 'published', 'verified'].includes(k.status));
    const regions = spec?.regions ?? [];
    const ses: Record<string, string> = {};
    const seen = r.state?.sesSeen;
    const notRead = r.observation?.sesNotRead !== undefined;
    for (const region of regions) {
      const o = r.observation?.ses[region];
      const remembered = seen?.regions[region];
      if (!o && notRead && remembered) {
        const other =
          remembered.selector && remembered.selector !== active?.selector ? ` on ${remembered.selector}` : '';
        ses[region] = !remembered.exists
          ? 'no identity'
          : `${remembered.status ?? '-'}${remembered.signingEnabled === false ? ' (signing off)' : ''}${other}`;
      } else if (!o) ses[region] = 'unknown';
      else if (!o.ok) ses[region] = `error: ${o.error}`;
      else if (!o.view.exists) ses[region] = 'no identity';
      else {
        const v = o.view;
        const other =
          v.tokens[0] && v.tokens[0] !== active?.selector
            ? ` on ${v.origin === 'EXTERNAL' ? v.tokens[0] : 'Easy DKIM'}`
            : '';
        ses[region] = `${v.status ?? '-'}${v.signingEnabled ? '' : ' (signing off)'}${other}`;
      }
    }
    const lastSwitch = lastSwitchReport(r.state);
    const canary = canaryReport(r.state);
    const firstWait = r.plan?.waits[0];
    const next = r.plan?.steps[0]
      ? `now: ${r.plan.steps[0].message}`
      : firstWait
        ? `waiting: ${firstWait.message}`
        : r.plan?.next
          ? `${r.plan.next.what} on ${r.plan.next.at.slice(0, 10)}`
          : '-';
    const sesReadAt = notRead ? seen?.at : r.observation?.now.toISOString();
    return {
      domain: r.domain,
      ...(options.withAccount ? { account: accountLabel(spec?.account) } : {}),
      ...(active ? { active: active.selector } : {}),
      ses,
      ...(sesReadAt ? { sesReadAt } : {}),
      ...(active ? { keyAgeDays: Math.floor((now.getTime() - Date.parse(active.createdAt)) / DAY_MS) } : {}),
      ...(active ? { expires: active.notAfter } : {}),
      standby: standbys.map((k) => ({
        selector: k.selector,
        status: k.status,
        switching: k.switchedAt !== undefined,
      })),
      next,
      ...(lastSwitch ? { lastSwitch } : {}),
      ...(canary ? { canary } : {}),
      errors: r.errors,
      warnings: r.plan?.warnings.map((w) => w.message) ?? [],
    };
  });
}

/** The cells of one row, as `byodkim status` prints them. */
export function statusCells(row: StatusRow, now: Date): string[] {
  const age = row.sesReadAt ? Math.floor((now.getTime() - Date.parse(row.sesReadAt)) / HOUR_MS) : 0;
  return [
    row.domain,
    ...(row.account === undefined ? [] : [row.account]),
    row.active ?? '-',
    Object.entries(row.ses)
      .map(([region, status]) => `${region}:${status}`)
      .join(' ') + (age > 0 ? ` (read ${age} h ago)` : ''),
    row.keyAgeDays === undefined ? '-' : `${row.keyAgeDays}d`,
    row.expires?.slice(0, 10) ?? '-',
    row.standby
      .map(
        (k) => `${k.selector} (${k.switching ? 'switching' : k.status === 'verified' ? 'ready' : k.status})`,
      )
      .join(', ') || '-',
    row.errors[0] ?? row.next,
  ];
}
