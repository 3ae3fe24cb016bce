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
    keySwap: result.keySwap,
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
      canary: d.canary,
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
  out('Signing gaps: each SES put, to the first pass that saw SES sign with the new selector (SES read),');
  out('and to the first canary signed with it (real mail sent through SES, read back and judged on');
  out("ns1 and ns2); upper bounds, set by how often byodkim looked; SES's own check time beside them:");
  for (const g of result.gaps) {
    const read = g.gapSeconds === null ? 'never ended' : `≤ ${g.gapSeconds} s`;
    const canary = g.canaryGapSeconds === undefined ? 'not measured' : `≤ ${g.canaryGapSeconds} s`;
    const ses = g.sesVerifiedAt
      ? `  SES verified ${Math.round((Date.parse(g.sesVerifiedAt) - Date.parse(g.putAt)) / 1000)} s after the put`
      : '';
    out(
      `   ${g.domain.padEnd(20)} ${g.selector.padEnd(24)} ${g.region.padEnd(15)} put ${g.putAt.slice(0, 16).replace('T', ' ')}  SES read ${read.padEnd(12)} canary ${canary.padEnd(12)}${ses}`,
    );
  }
  const total = (seconds: Array<number | null | undefined>) =>
    seconds.reduce<number>((n, s) => n + (s ?? 0), 0);
  const measured = result.gaps.filter((g) => g.canaryGapSeconds !== undefined);
  out(
    `   total: SES read ${total(result.gaps.map((g) => g.gapSeconds))} s over ${result.gaps.length} region switch(es); canary ${total(measured.map((g) => g.canaryGapSeconds))} s over the ${measured.length} it measured`,
  );
  out();
  out('Signing canary (config `canary`): real mail from each domain through SES, once a day per region');
  out('and every few minutes during a switch, read back from the inbox and judged (the virtual clock');
  out('jumps over quiet days, so fewer daily canaries are sent than a year of them):');
  for (const d of result.domains)
    for (const [region, c] of Object.entries(d.canary))
      out(
        `   ${d.domain.padEnd(20)} ${region.padEnd(15)} sent ${String(c.sent).padStart(3)}, judged ${String(c.judged).padStart(3)}: ${c.passed} signed and DMARC pass, ${c.inGap} unsigned inside a gap; last signed s=${c.lastSigned?.selector ?? '-'}`,
      );
  const swap = result.keySwap;
  if (swap) {
    const at = (iso: string | null | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : 'never');
    out();
    out(
      `A key swapped behind byodkim's back (someone else's EXTERNAL put, s=${swap.selector}, no record in DNS):`,
    );
    out(`   ${swap.domain} SES ${swap.region}: swapped ${at(swap.swappedAt)}`);
    out(
      `   first canary after it: ${swap.firstCanaryAfter ? `${swap.firstCanaryAfter.id}, sent ${at(swap.firstCanaryAfter.sentAt)}` : 'none'}`,
    );
    out(
      `   alarm: ${swap.alarm ? `${swap.alarm.code} raised ${at(swap.alarm.raisedAt)} by canary ${swap.alarm.canaryId}${swap.alarm.canaryId === swap.firstCanaryAfter?.id ? ' (that first canary)' : ''}` : 'none'}`,
    );
    out(
      `   byodkim: ${swap.needsPerson ?? 'asked no one'}; SES writes there since: ${swap.sesWritesAfter} (the key is not byodkim's to replace)`,
    );
  }
  out();
  const inGap = result.mailFailures.filter((f) => f.inGap).length;
  const afterSwap = result.mailFailures.filter((f) => f.afterSwap && !f.inGap).length;
  const outside = result.mailFailures.length - inGap - afterSwap;
  out(
    `Mail checked ${result.mailChecks} times (every region, before and after each of ${result.passes} passes): ${
      outside === 0
        ? `it verified every time outside the measured gaps${inGap > 0 ? ` (${inGap} unsigned inside them)` : ''}${afterSwap > 0 ? ` and the swapped key (${afterSwap} unsigned)` : ''}, and every gap ended.`
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
      "sandbox OK: every domain rotated once and signs in both regions with SES SUCCESS, its mail verifying; then a key swapped behind byodkim's back raised the alarm on the next canary, and byodkim left that region to a person.",
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
