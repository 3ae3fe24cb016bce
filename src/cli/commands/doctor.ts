/**
 * `byodkim doctor [--domain D]`: checks each domain the way an experienced mail engineer
 * would — SES (identity, verification, DKIM origin/status/signing, selector), the DKIM
 * records on every authoritative nameserver (with the usual mistakes named), the custom
 * MAIL FROM that keeps DMARC passing through a switch gap, and DMARC —
 * and prints each finding with its severity, what was seen and where, and the fix.
 *
 * Read-only. Exit codes: 0 healthy (info findings only), 1 problems found (any error or
 * warning), 2 bad input.
 */
import type { Command } from 'commander';
import { buildCanaryPorts } from '../../config/canary-ports.js';
import { buildSigningService, buildStores } from '../../config/compose.js';
import { findDomain, type LoadedConfig, type ResolvedDomain } from '../../config/load.js';
import { delegatedZoneOf, delegationCnamesOf } from '../../doctor/delegation.js';
import { type DoctorDomain, type DoctorReport, type DomainReport, diagnose } from '../../doctor/diagnose.js';
import { buildDoctorDns } from '../../doctor/dns-lookup.js';
import type { Finding, Severity } from '../../doctor/finding.js';
import { buildMailResolver } from '../../doctor/mail-resolver.js';
import { type SendTestResult, sendTest } from '../../doctor/send-test.js';
import { ExitCode, InputError } from '../../errors.js';
import { cliClock, type GlobalOptions, loadCliConfig } from '../context.js';
import { printJson, renderTable } from '../render.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const clock = cliClock(global);
  const loaded = await loadCliConfig(global);
  const domains =
    options.domain === undefined ? loaded.domains : [findDomain(loaded, String(options.domain), '--domain')];
  if (options.sendTest === true) return runSendTest(loaded, domains, options, global);
  const { state } = await buildStores(loaded, clock);
  const ses = await buildSigningService(loaded);
  const targets: DoctorDomain[] = domains.map((d) => ({
    domain: d.domain,
    regions: d.regions,
    createIdentity: d.createIdentity,
    graceDays: d.policy.graceDays,
    ttl: d.dns.ttl,
    delegatedTo: delegatedZoneOf(d),
    delegationCnames: delegationCnamesOf(d),
  }));
  const report = await diagnose(targets, {
    state,
    ses,
    dns: buildDoctorDns(loaded.config),
    now: clock.now(),
  });

  if (global.output === 'json') printJson(report);
  else process.stdout.write(renderReport(report));
  return report.healthy ? ExitCode.ok : ExitCode.failure;
}

async function runSendTest(
  loaded: LoadedConfig,
  domains: ResolvedDomain[],
  options: Record<string, unknown>,
  global: GlobalOptions,
): Promise<number> {
  const waitSeconds = options.wait === undefined ? 120 : Number(options.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new InputError('BAD_WAIT', `--wait: "${String(options.wait)}" is not a number of seconds`, {
      context: { wait: String(options.wait) },
    });
  const without = domains.filter((d) => !d.canary);
  if (without.length > 0)
    throw new InputError(
      'CANARY_NOT_CONFIGURED',
      `canary: ${without.map((d) => d.domain).join(', ')} has no canary in ${loaded.path} (set canary: { to, inbox } to use --send-test)`,
      { context: { domains: without.map((d) => d.domain).join(',') } },
    );
  const portsFor = await buildCanaryPorts(loaded);
  const { state } = await buildStores(loaded, { now: () => new Date() });
  const resolver = buildMailResolver(loaded.config);
  const results: SendTestResult[] = [];
  for (const d of domains) {
    const ports = portsFor?.(d.domain);
    if (!ports || !d.canary) continue;
    const active = (await state.load(d.domain))?.value.keys.find((k) => k.status === 'active')?.selector;
    const outcomes = await Promise.all(
      d.regions.map((region) =>
        sendTest(d.domain, region, {
          canary: d.canary as NonNullable<ResolvedDomain['canary']>,
          ports,
          resolver,
          ...(active ? { expectedSelector: active } : {}),
          waitMs: waitSeconds * 1000,
          now: () => new Date(),
        }),
      ),
    );
    results.push(...outcomes);
  }
  const pass = results.every((r) => r.verdict.pass);
  if (global.output === 'json') printJson({ pass, results });
  else {
    for (const r of results) {
      const v = r.verdict;
      process.stdout.write(
        `${r.domain} ${r.region}: ${v.pass ? 'PASS' : `FAIL (${v.failing})`}  canary ${r.id}\n${v.checks
          .map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check.padEnd(15)} ${c.detail}`)
          .join('\n')}\n`,
      );
    }
    process.stdout.write(`doctor --send-test: ${pass ? 'passing' : 'failing'}\n`);
  }
  return pass ? ExitCode.ok : ExitCode.failure;
}

const LABEL: Record<Severity, string> = { error: 'ERROR', warning: 'WARNING', info: 'INFO' };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function countsText(counts: Record<Severity, number>): string {
  return `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.info} info`;
}

export function renderReport(report: DoctorReport): string {
  const parts = report.domains.map(renderDomain);
  parts.push(
    `doctor: ${countsText(report.counts)} in ${plural(report.domains.length, 'domain')}: ${report.healthy ? 'healthy' : 'problems found'}\n`,
  );
  return parts.join('\n');
}

function renderDomain(d: DomainReport): string {
  const rows: string[][] = [];
  for (const s of d.ses) {
    rows.push([
      'SES',
      s.region,
      s.error !== undefined
        ? `error: ${s.error}`
        : !s.exists
          ? 'no identity'
          : [
              `${s.origin ?? '?'}${s.selector === undefined ? '' : ` ${s.selector}`}`,
              `DKIM ${s.status ?? '?'}`,
              s.signingEnabled === false ? 'signing OFF' : 'signing on',
              s.verifiedForSending
                ? 'verified for sending'
                : `NOT verified for sending (${s.verificationStatus ?? '?'}${s.verificationError ? ` ${s.verificationError}` : ''})`,
            ].join(', '),
    ]);
  }
  for (const r of d.records) {
    rows.push([
      'DKIM',
      `${r.selector} (${r.role})`,
      r.nameservers
        .map((n) => `${n.nameserver}: ${n.state}${n.ttl === undefined ? '' : ` ttl ${n.ttl}`}`)
        .join('; ') || '-',
    ]);
  }
  rows.push([
    'DMARC',
    d.dmarc?.name ?? `_dmarc.${d.domain}`,
    d.dmarc === undefined
      ? 'none'
      : `${JSON.stringify(d.dmarc.record)}${d.dmarc.inherited ? ' (inherited)' : ''}`,
  ]);
  for (const m of d.mailFrom) {
    rows.push([
      'MAIL FROM',
      m.region,
      m.mailFromDomain === undefined
        ? 'none'
        : [
            `${m.mailFromDomain} ${m.status ?? '?'}`,
            ...m.nameservers.map((n) => `${n.nameserver}: MX ${n.mx}, SPF ${n.spf}`),
          ].join('; '),
    ]);
  }
  const lines = [
    `${d.domain}: ${countsText(d.counts)}${d.zone !== undefined && d.zone !== d.domain ? ` (zone ${d.zone})` : ''}`,
    renderTable(['CHECK', 'SUBJECT', 'STATE'], rows),
    '',
  ];
  if (d.findings.length === 0) lines.push('no findings', '');
  for (const f of d.findings) lines.push(...renderFinding(f), '');
  return lines.join('\n');
}

function renderFinding(f: Finding): string[] {
  const where = [f.region, f.name ?? f.selector].filter(Boolean).join(' ');
  const lines = [`${LABEL[f.severity].padEnd(7)} ${f.code}${where ? `  ${where}` : ''}`];
  if (f.nameservers.length > 0) lines.push(`  on:   ${f.nameservers.join(', ')}`);
  lines.push(`  seen: ${f.seen}`, `  fix:  ${f.fix}`);
  return lines;
}
