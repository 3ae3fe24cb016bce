import type { Command } from 'commander';
import { ExitCode, InputError } from '../../errors.js';
import type { SandboxResult } from '../../sandbox/run.js';
import type { GlobalOptions } from '../context.js';
import { printJson, renderTable } from '../render.js';
import { STATUS_HEADERS, statusCells } from '../status-rows.js';

/**
 * `byodkim sandbox`: onboarding and one full rotation of three example domains in two
 * regions, against the embedded SES emulator and DNS servers, on a virtual clock. Exit 0
 * only if every domain ends with SES SUCCESS in both regions, a verified signature and a
 * completed rotation, and mail verified at every moment of the run.
 */
export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const bits = Number(options.bits ?? 2048);
  if (bits !== 1024 && bits !== 2048)
    throw new InputError('BITS_INVALID', `--bits: "${String(options.bits)}" must be 1024 or 2048`, {
      context: { bits: String(options.bits) },
    });
  const delay = Number(options.dnsTeamDelay ?? 4);
  if (!Number.isInteger(delay) || delay < 1 || delay > 72)
    throw new InputError(
      'DELAY_INVALID',
      `--dns-team-delay: "${String(options.dnsTeamDelay)}" must be a whole number of hours, 1 to 72`,
      { context: { delay: String(options.dnsTeamDelay) } },
    );
  const start = startTime(global.now);

  // Nothing in the sandbox reaches AWS: the SDK's notice about future Node.js versions
  // (printed on Node 20) is noise here. Other commands still show it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The emulators and the sandbox's modules load only when this command runs.
  const { runSandbox } = await import('../../sandbox/run.js');
  const { createReporter } = await import('../../sandbox/progress.js');
  // Progress goes to stderr when stdout carries JSON, so scripts get clean data.
  const progressStream = global.output === 'json' ? process.stderr : process.stdout;
  const result = await runSandbox(
    { start, keyBits: bits, dnsTeamDelayHours: delay, keep: options.keep === true },
    createReporter(progressStream),
  );
  if (global.output === 'json') printJson(jsonSummary(result));
  else printReport(result);
  return result.ok ? ExitCode.ok : ExitCode.failure;
}

/** `--now` sets where the virtual clock starts; by default, this hour. */
function startTime(now: string | undefined): Date {
  if (now !== undefined) {
    const at = new Date(now);
    if (Number.isNaN(at.getTime()))
      throw new InputError(
        'NOW_INVALID',
        `--now: "${now}" is not an ISO 8601 time (e.g. 2026-01-31T00:00:00Z)`,
        {
          context: { now },
        },
      );
    return at;
  }
  const hour = new Date();
  hour.setUTCMinutes(0, 0, 0);
  return hour;
}

function jsonSummary(result: SandboxResult) {
  return {
    ok: result.ok,
    problems: result.problems,
    virtualTime: { start: result.virtualStart, end: result.virtualEnd },
    passes: result.passes,
    mailChecks: result.mailChecks,
    mailFailures: result.mailFailures,
    gaps: result.gaps,
    sesCalls: result.sesCalls,
    seconds: Math.round(result.wallMs / 100) / 10,
    workDir: result.kept ? result.workDir : null,
    config: result.kept ? result.configPath : null,
    domains: result.domains.map((d) => ({
      domain: d.domain,
      setup: d.role,
      ses: d.ses,
      activeSelector: d.activeSelector,
      rotations: d.rotations,
      previousSelectors: d.previousSelectors,
      retiredSelectors: d.retiredSelectors,
      verified: d.verified,
      samples: Object.fromEntries(
        d.samples.map((s) => [
          s.region,
          {
            selector: s.selector ?? null,
            signed: s.signedWithDomainKey,
            verified: s.pass,
            nameservers: Object.fromEntries(s.verdicts.map((v) => [v.nameserver, v.verdict.pass])),
            headers: headersOf(s.message),
          },
        ]),
      ),
    })),
    status: result.status,
  };
}

function printReport(result: SandboxResult): void {
  const out = (text = '') => process.stdout.write(`${text}\n`);
  out();
  out(
    `Status at ${result.virtualEnd.slice(0, 16).replace('T', ' ')} (virtual), as "byodkim status" shows it:`,
  );
  out();
  const end = new Date(result.virtualEnd);
  out(
    renderTable(
      STATUS_HEADERS,
      result.status.map((row) => statusCells(row, end)),
    ),
  );
  for (const row of result.status)
    for (const warning of row.warnings) out(`warning [${row.domain}]: ${warning}`);

  out();
  out('A message SES would send now from each domain, and what a receiver concludes');
  out('(headers only; mailauth resolves the key on ns1 and on ns2):');
  for (const d of result.domains) {
    const first = d.samples[0];
    out();
    out(`── ${d.domain} (${d.role}) ${'─'.repeat(Math.max(3, 70 - d.domain.length - d.role.length))}`);
    if (first) {
      out(`   sent via SES ${first.region}:`);
      for (const line of headersOf(first.message).split('\n')) out(`   | ${line}`);
    }
    for (const s of d.samples) {
      const where = s.verdicts.map((v) => `${v.nameserver} ${v.verdict.pass ? 'pass' : 'FAIL'}`).join(', ');
      out(
        `   SES ${s.region.padEnd(15)} ${s.pass ? 'dkim=pass' : 'dkim=FAIL'}  d=${d.domain} s=${s.selector ?? '-'}  (${where})`,
      );
    }
    const history = [...d.previousSelectors, d.activeSelector ?? '-'].join(' → ');
    out(
      `   selectors: ${history}; ${d.rotations} rotation(s), retired (record removed, key destroyed): ${d.retiredSelectors.join(', ') || 'none'}`,
    );
  }

  out();
  out('Signing gaps: each SES put, to the first pass that saw SES sign with the new selector');
  out("(an upper bound, set by how often byodkim looked; SES's own check time beside it):");
  for (const g of result.gaps) {
    const gap = g.gapSeconds === null ? 'never ended' : `${g.gapSeconds} s`;
    const ses = g.sesVerifiedAt
      ? `, SES verified ${Math.round((Date.parse(g.sesVerifiedAt) - Date.parse(g.putAt)) / 1000)} s after the put`
      : '';
    out(
      `   ${g.domain.padEnd(20)} ${g.selector.padEnd(24)} ${g.region.padEnd(15)} put ${g.putAt.slice(0, 16).replace('T', ' ')}  gap ≤ ${gap}${ses}`,
    );
  }
  const total = result.gaps.reduce((n, g) => n + (g.gapSeconds ?? 0), 0);
  out(`   total: ${total} s over ${result.gaps.length} region switch(es)`);
  out();
  const inGap = result.mailFailures.filter((f) => f.inGap).length;
  const outside = result.mailFailures.length - inGap;
  out(
    `Mail checked ${result.mailChecks} times (every region, before and after each of ${result.passes} passes): ${
      outside === 0
        ? `it verified every time outside the measured gaps${inGap > 0 ? ` (${inGap} unsigned inside them)` : ''}, and every gap ended.`
        : `${outside} time(s) outside any gap it would NOT have verified.`
    }`,
  );
  out(
    `SES API calls (SES allows about one per second per region): ${Object.entries(result.sesCalls.byRegion)
      .map(([region, n]) => `${n} in ${region}`)
      .join(', ')}; ${Object.entries(result.sesCalls.byOperation)
      .map(([operation, n]) => `${operation} ${n}`)
      .join(', ')}; throttled ${result.sesCalls.throttled}.`,
  );
  out(
    `Virtual time ${result.virtualStart.slice(0, 10)} → ${result.virtualEnd.slice(0, 10)} in ${(result.wallMs / 1000).toFixed(1)} s of real time.`,
  );
  if (result.kept) {
    out();
    out(`Kept the work directory: ${result.workDir}`);
    out('The SES emulator and the DNS servers stopped with this run, so commands that ask SES or DNS');
    out('(status, plan, apply, verify-dns) cannot reach them now; what is on disk can still be read:');
    out(
      `  byodkim history --config ${result.configPath} --domain ${result.domains[0]?.domain ?? 'auto.example.com'}`,
    );
    out(`  byodkim dns-records --config ${result.configPath} --format csv`);
    out(`  ls ${result.workDir}/dns-requests   # the hand-offs the DNS team received`);
    out(`Remove it when done: rm -rf ${result.workDir}`);
  }
  out();
  if (result.ok)
    out(
      'sandbox OK: every domain signs in both regions with SES SUCCESS, its mail verifies, and it rotated once.',
    );
  else {
    out('sandbox FAILED:');
    for (const problem of result.problems) out(`  - ${problem}`);
  }
}

/** The header block of a message, unfolded lines kept as they are. */
function headersOf(message: string): string {
  const end = message.indexOf('\r\n\r\n');
  return (end === -1 ? message : message.slice(0, end)).replace(/\r\n/g, '\n');
}
