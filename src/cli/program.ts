import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_CONCURRENCY } from '../engine/concurrency.js';
import { ByodkimError, describeError, ExitCode } from '../errors.js';
import type { GlobalOptions } from './context.js';

/**
 * The `byodkim` command. Command modules are imported only when their command runs, so
 * `byodkim --help` starts without loading the AWS SDK.
 */
const require = createRequire(import.meta.url);

/** The package version; package.json sits two levels up from source and three from dist/. */
function packageVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'byodkim' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
const version = packageVersion();

type Action = (
  options: Record<string, unknown>,
  global: GlobalOptions,
  command: Command,
) => Promise<number | undefined>;

function lazy(load: () => Promise<{ run: Action }>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const global = command.optsWithGlobals() as GlobalOptions;
    const { run } = await load();
    process.exitCode = (await run(command.opts(), global, command)) ?? ExitCode.ok;
  };
}

export function buildProgram(): Command {
  const program = new Command('byodkim')
    .description(
      'DKIM key lifecycle for Amazon SES Bring Your Own DKIM: generate, store, publish, verify, switch, retire.',
    )
    .version(version, '-V, --version')
    .option('-c, --config <file>', 'config file (default: byodkim.config.yaml)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('--now <iso>', 'evaluate as of this time (what-if, tests)')
    .option('--profile <name>', "AWS profile (the SDK's default credential chain otherwise)")
    .showHelpAfterError()
    .exitOverride();

  program
    .command('init')
    .description('write a commented config file to start from')
    .option('--domain <domain>', 'first mail domain', 'example.com')
    .option('--region <region...>', 'SES region(s), one or more', ['us-east-1'])
    .option('--selector-prefix <prefix>', 'selector prefix (default: first label of the domain)')
    .option('--force', 'replace an existing config file', false)
    .action(lazy(() => import('./commands/init.js')));

  program
    .command('keygen')
    .description('Phase 3 by hand: generate the next key into the vault and print its DNS record')
    .requiredOption('--domain <domain>', 'configured mail domain')
    .addOption(new Option('--bits <bits>', 'RSA key size').choices(['1024', '2048']))
    .action(lazy(() => import('./commands/keygen.js')));

  program
    .command('dns-records')
    .description('print the DNS records of the keys in the vault (for a DNS team or a zone file)')
    .option('--domain <domain>', 'only this domain')
    .addOption(
      new Option('--format <format>', 'csv, zone lines or JSON')
        .choices(['csv', 'zone', 'json'])
        .default('zone'),
    )
    .action(lazy(() => import('./commands/dns-records.js')));

  program
    .command('verify-dns')
    .description(
      'Phase 5 by hand: ask every authoritative nameserver what it serves (exit 0 propagated, 3 not yet)',
    )
    .requiredOption('--domain <domain>', 'configured mail domain')
    .option('--selector <selector...>', 'selector(s) to check (default: those that should be in DNS now)')
    .action(lazy(() => import('./commands/verify-dns.js')));

  program
    .command('doctor')
    .description(
      'check SES, the DKIM records on every authoritative nameserver and DMARC; name each problem and its fix (exit 0 healthy, 1 problems found)',
    )
    .option('--domain <domain>', 'only this domain')
    .option(
      '--send-test',
      'send one canary per region through SES, read it back from the canary inbox and judge it (exit 0 passing, 1 naming the failing check)',
    )
    .option('--wait <seconds>', 'with --send-test: how long to wait for each canary (default 120)')
    .action(lazy(() => import('./commands/doctor.js')));

  program
    .command('plan')
    .description('show what the next pass would do, per domain, with reasons (changes nothing)')
    .option('--domain <domain>', 'only this domain')
    .option('--account <name>', "only this account's domains (an accounts[].name, or own)")
    .action(lazy(() => import('./commands/plan.js')));

  program
    .command('apply')
    .description('run one reconcile pass: phases 3–8 for every domain (exit 3 while waiting on DNS or SES)')
    .option('--domain <domain>', 'only this domain')
    .option('--account <name>', "only this account's domains (an accounts[].name, or own)")
    .option('--watch [seconds]', 'repeat every N seconds (default 300) until interrupted')
    .option('--concurrency <n>', 'domains worked on at once', String(DEFAULT_CONCURRENCY))
    .action(lazy(() => import('./commands/apply.js')));

  program
    .command('status')
    .description('table of domains: active selector, SES status per region, key age and expiry, next action')
    .option('--domain <domain>', 'only this domain')
    .option('--account <name>', "only this account's domains (an accounts[].name, or own)")
    .option(
      '--refresh',
      'read SES now in every region (by default an idle domain shows its last read, and its age)',
    )
    .action(lazy(() => import('./commands/status.js')));

  program
    .command('rotate')
    .description("rotate a domain's key now (then one pass)")
    .requiredOption('--domain <domain>', 'configured mail domain')
    .option('--emergency', 'key compromised: retire the old selector right after the switch, no grace', false)
    .option(
      '--revoke-now',
      'with --emergency: revoke the old record (empty p=) at once, before the new key is active',
      false,
    )
    .action(lazy(() => import('./commands/rotate.js')));

  program
    .command('rollback')
    .description('go back to the previous selector while its record is still published (then one pass)')
    .requiredOption('--domain <domain>', 'configured mail domain')
    .action(lazy(() => import('./commands/rollback.js')));

  program
    .command('history')
    .description('the audit trail of a domain: every transition with time, reason and actor')
    .requiredOption('--domain <domain>', 'configured mail domain')
    .action(lazy(() => import('./commands/history.js')));

  program
    .command('adopt')
    .description('take over an identity that already uses BYODKIM (or Easy DKIM, with --from-easy-dkim)')
    .requiredOption('--domain <domain>', 'configured mail domain')
    .option('--key-file <file>', 'the current private key (PEM or base64 DER), if it is not in the vault')
    .option(
      '--seed-secret <name>',
      "the seed system's Secrets Manager secret (its s3_key_path locates the key)",
    )
    .option(
      '--from-easy-dkim',
      'move an Easy DKIM identity to BYODKIM (DNS is published before SES switches)',
      false,
    )
    .action(lazy(() => import('./commands/adopt.js')));

  program
    .command('sandbox')
    .description(
      'the whole lifecycle on the embedded SES emulator and DNS servers: 3 domains, 2 regions, onboarding and one rotation on a virtual clock (--now sets its start)',
    )
    .option('--keep', 'keep the work directory (config, keys, state, hand-offs) and print its path', false)
    .addOption(new Option('--bits <bits>', 'RSA key size').choices(['1024', '2048']).default('2048'))
    .option('--dns-team-delay <hours>', 'virtual hours the DNS team takes to apply a hand-off', '4')
    .action(lazy(() => import('./commands/sandbox.js')));

  program
    .command('delegation-records')
    .description(
      "print the one-time CNAMEs that delegate a domain's selectors to the byodkim-controlled zone",
    )
    .requiredOption('--domain <domain>', 'configured mail domain (with delegation)')
    .addOption(
      new Option('--format <format>', 'csv, zone lines or JSON')
        .choices(['csv', 'zone', 'json'])
        .default('zone'),
    )
    .action(lazy(() => import('./commands/delegation-records.js')));

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    return reportFailure(error, wantsJson(argv));
  }
}

/**
 * Every failure that ends a command: one line on stderr naming what went wrong (never a
 * stack trace: set BYODKIM_DEBUG=1 for one), and in JSON mode the same as the one JSON
 * document on stdout, so a script always gets something to parse.
 */
function reportFailure(error: unknown, json: boolean): number {
  let code: string;
  let message: string;
  let exitCode: number;
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors are bad input (commander
    // has already printed the message and the help).
    if (error.exitCode === 0) return ExitCode.ok;
    code = 'USAGE';
    message = error.message.replace(/^error: /, '');
    exitCode = ExitCode.badInput;
  } else if (error instanceof ByodkimError) {
    code = error.code;
    message = error.message;
    exitCode = error.exitCode;
    process.stderr.write(`byodkim: ${message}\n`);
  } else {
    code = 'UNEXPECTED';
    message = `unexpected error: ${describeError(error)}`;
    exitCode = ExitCode.failure;
    process.stderr.write(`byodkim: ${message}\n`);
  }
  if (process.env.BYODKIM_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message, exitCode } }, null, 2)}\n`);
  return exitCode;
}

/** Whether the command line asks for JSON output (read from argv: parsing may have failed). */
function wantsJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return false;
    if (arg === '--output=json' || arg === '-ojson') return true;
    if ((arg === '--output' || arg === '-o') && argv[i + 1] === 'json') return true;
  }
  return false;
}
