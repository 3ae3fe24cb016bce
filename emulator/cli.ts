/**
 * Standalone SES v2 BYODKIM emulator, for out-of-process use:
 *
 *   npm run emulator -- --port 4566 --dns 127.0.0.1:5353 [--rate 200] [--verification-delay 0]
 *
 * Prints its endpoint on stdout (one line: `SES emulator listening on http://...`) and stops
 * on SIGINT/SIGTERM. Control it over `/_emulator/*` (emulator/SPEC.md §8).
 */
import { parseArgs } from 'node:util';
import { type EmulatorClock, systemClock, VirtualClock } from './clock.js';
import { SesEmulator, type SesEmulatorOptions } from './ses/server.js';

const USAGE = `Usage: npm run emulator -- --dns HOST:PORT [options]

  --dns HOST:PORT            DNS server the emulator asks for DKIM records (required)
  --host HOST                address to listen on (default 127.0.0.1)
  --port PORT                port to listen on (default: a free port)
  --rate N                   max API requests per second per region (default: unlimited)
  --verification-delay MS    emulator-clock ms after a put before the first DNS check (default 0)
  --recheck-interval MS      emulator-clock ms between rechecks after SUCCESS (default 3600000)
  --fail-after MS            verification window (default 259200000 = 72 h)
  --dns-timeout MS           timeout of one DNS query (default 1000)
  --virtual-clock now|ISO    run on a virtual clock starting now or at ISO, driven via /_emulator/clock
  --help                     show this text`;

function fail(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) fail(`${flag} must be a number >= 0, got "${value}"`);
  return parsed;
}

function hostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) fail(`${flag} must be HOST:PORT`);
  return { host: match[1], port };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.dns === undefined) fail('--dns is required');

  let clock: EmulatorClock = systemClock;
  if (values['virtual-clock'] !== undefined) {
    const start = values['virtual-clock'] === 'now' ? Date.now() : values['virtual-clock'];
    if (Number.isNaN(new Date(start).getTime())) fail('--virtual-clock must be an ISO time');
    clock = new VirtualClock(start);
  }

  const opts: SesEmulatorOptions = { dns: hostPort(values.dns, '--dns'), clock };
  if (values.host !== undefined) opts.host = values.host;
  const port = number(values.port, '--port');
  if (port !== undefined) opts.port = port;
  const rate = number(values.rate, '--rate');
  if (rate !== undefined) opts.ratePerRegion = rate;
  const delay = number(values['verification-delay'], '--verification-delay');
  if (delay !== undefined) opts.verificationDelayMs = delay;
  const recheck = number(values['recheck-interval'], '--recheck-interval');
  if (recheck !== undefined) opts.recheckIntervalMs = recheck;
  const failAfter = number(values['fail-after'], '--fail-after');
  if (failAfter !== undefined) opts.failAfterMs = failAfter;
  const dnsTimeout = number(values['dns-timeout'], '--dns-timeout');
  if (dnsTimeout !== undefined) opts.dnsTimeoutMs = dnsTimeout;

  const emulator = await SesEmulator.start(opts);
  console.log(`SES emulator listening on ${emulator.endpoint}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`received ${signal}, stopping`);
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function parse() {
  return parseArgs({
    options: {
      dns: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      rate: { type: 'string' },
      'verification-delay': { type: 'string' },
      'recheck-interval': { type: 'string' },
      'fail-after': { type: 'string' },
      'dns-timeout': { type: 'string' },
      'virtual-clock': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
