/**
 * Standalone SES emulator, for out-of-process use:
 *
 *   npm run emulator -- --port 4566 --dns 127.0.0.1:5353 [--rate unlimited] [--verification-delay 0]
 *
 * Prints its endpoint on stdout (one line: `SES emulator listening on http://...`) and stops
 * on SIGINT/SIGTERM. Control it over `/_emulator/*` (emulator/SPEC.md §12); every flag is an
 * option of SPEC.md §11.
 */
import { parseArgs } from 'node:util';
import { type EmulatorClock, systemClock, VirtualClock } from './clock.js';
import {
  EXTERNAL_TOKENS,
  KEY_FORMATS,
  oneOf,
  RATE_CLOCKS,
  UNUSABLE_KEY,
  V1_EXTERNAL_TOKENS,
} from './ses/options.js';
import { type InboundRoute, SesEmulator, type SesEmulatorOptions } from './ses/server.js';

const USAGE = `Usage: npm run emulator -- --dns HOST:PORT [options]

  --dns HOST:PORT                   DNS server the emulator asks for DKIM and MX records (required)
  --host HOST                       address to listen on (default 127.0.0.1)
  --port PORT                       port to listen on (default: a free port)
  --virtual-clock now|ISO           run on a virtual clock starting now or at ISO, driven via /_emulator/clock
  --dns-timeout MS                  timeout of one DNS query (default 1000)

 API budget, per account and region:
  --rate N|unlimited                requests per second (default 1)
  --burst N                         bucket capacity (default max(2, rate))
  --rate-clock wall|emulator        what refills the bucket (default wall)
  --throttling-exception-every N    every N-th throttled answer is ThrottlingException; 0 = never (default 5)
  --max-identities N                identities per account and region (default 10000)

 SES clock (emulator-clock ms):
  --verification-delay MS           put to first DNS check (default 300000)
  --pending-interval MS             first step between checks while pending; 0 = every look (default 300000)
  --pending-backoff F               step multiplier while pending, >= 1 (default 2)
  --max-pending-interval MS         largest step while pending (default 14400000)
  --recheck-interval MS             rechecks after SUCCESS (default 3600000)
  --fail-after MS                   verification window (default 259200000 = 72 h)

 Readings of the documentation (SPEC.md §2, §4, §7):
  --key-formats pkcs1-or-pkcs8|pkcs1-only         DER formats SES can use (default pkcs1-or-pkcs8)
  --unusable-key fail-verification|reject         a put with an unusable key (default fail-verification)
  --external-tokens selector|empty                v2 Tokens of a BYODKIM identity (default selector)
  --v1-external-tokens omit|empty|selector        v1 DkimTokens of a BYODKIM identity (default omit)
  --mail-from-requires-spf                        MAIL FROM SUCCESS also needs the SPF record

 Accounts (default: every request in 123456789012, moto's default):
  --account AKID=ACCOUNT            map an access key id to an account (repeatable)
  --sts-endpoint URL                ask STS GetCallerIdentity there (e.g. moto) for other keys
  --default-account ID              account of unmapped credentials

 Sending and delivery (SendEmail, SPEC.md §14-§15):
  --sending-sandbox                 accounts are in the SES sandbox (recipients must be verified)
  --max-send-rate N                 messages per second (default 14; sandbox 1)
  --max-24-hour-send N              messages per 24 h (default 50000; sandbox 200)
  --delivery-delay MS               accepted to delivered, emulator clock (default 3000)
  --inbound-s3 DOMAIN=ENDPOINT/BUCKET/PREFIX   store mail for DOMAIN in S3 (repeatable)
  --inbound-lmtp DOMAIN=HOST:PORT   deliver mail for DOMAIN over LMTP (repeatable)
  --inbound-smtp DOMAIN=HOST:PORT   deliver mail for DOMAIN over SMTP (repeatable)
  --inbound-mailbox DOMAIN          keep mail for DOMAIN in the emulator's mailbox (GET /_emulator/mailbox; repeatable)

  --help                            show this text`;

function fail(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) {
    fail(`${flag} must be a number >= 0, got "${value}"`);
  }
  return parsed;
}

function choice<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
): T | undefined {
  if (value === undefined) return undefined;
  try {
    return oneOf(value, allowed, flag);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}

function hostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) fail(`${flag} must be HOST:PORT`);
  return { host: match[1], port };
}

function accountMap(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const map: Record<string, string> = {};
  for (const value of values) {
    const match = /^([^=\s]+)=(\d{12})$/.exec(value);
    if (!match?.[1] || !match[2]) fail(`--account must be ACCESS_KEY_ID=12-digit-account, got "${value}"`);
    map[match[1]] = match[2];
  }
  return map;
}

/** Copies the defined entries only: the options treat an absent key as "use the default". */
function inboundRoutes(values: ReturnType<typeof parse>['values']): InboundRoute[] | undefined {
  const routes: InboundRoute[] = [];
  for (const value of values['inbound-s3'] ?? []) {
    const match = /^([^=\s]+)=(https?:\/\/[^/\s]+)\/([^/\s]+)\/?(\S*)$/.exec(value);
    if (!match?.[1] || !match[2] || !match[3])
      fail(`--inbound-s3 must be DOMAIN=ENDPOINT/BUCKET/PREFIX, got "${value}"`);
    routes.push({
      domain: match[1],
      type: 's3',
      endpoint: match[2],
      bucket: match[3],
      prefix: match[4] ?? '',
    });
  }
  for (const type of ['lmtp', 'smtp'] as const) {
    for (const value of values[`inbound-${type}`] ?? []) {
      const eq = value.indexOf('=');
      if (eq <= 0) fail(`--inbound-${type} must be DOMAIN=HOST:PORT, got "${value}"`);
      routes.push({
        domain: value.slice(0, eq),
        type,
        ...hostPort(value.slice(eq + 1), `--inbound-${type}`),
      });
    }
  }
  for (const domain of values['inbound-mailbox'] ?? []) {
    if (!/^[^=\s:/]+$/.test(domain)) fail(`--inbound-mailbox must be a DOMAIN, got "${domain}"`);
    routes.push({ domain, type: 'mailbox' });
  }
  return routes.length > 0 ? routes : undefined;
}

function defined<T extends object>(entries: { [K in keyof T]?: T[K] | undefined }): Partial<T> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function options(values: ReturnType<typeof parse>['values']): SesEmulatorOptions {
  if (values.dns === undefined) fail('--dns is required');
  let clock: EmulatorClock = systemClock;
  if (values['virtual-clock'] !== undefined) {
    const start = values['virtual-clock'] === 'now' ? Date.now() : values['virtual-clock'];
    if (Number.isNaN(new Date(start).getTime())) fail('--virtual-clock must be an ISO time');
    clock = new VirtualClock(start);
  }
  const rate = values.rate === 'unlimited' ? null : number(values.rate, '--rate');
  return {
    dns: hostPort(values.dns, '--dns'),
    clock,
    ...defined<SesEmulatorOptions>({
      host: values.host,
      port: number(values.port, '--port'),
      dnsTimeoutMs: number(values['dns-timeout'], '--dns-timeout'),
      ratePerRegion: rate,
      burstPerRegion: number(values.burst, '--burst'),
      rateClock: choice(values['rate-clock'], RATE_CLOCKS, '--rate-clock'),
      throttlingExceptionEvery: number(values['throttling-exception-every'], '--throttling-exception-every'),
      maxIdentitiesPerRegion: number(values['max-identities'], '--max-identities'),
      verificationDelayMs: number(values['verification-delay'], '--verification-delay'),
      pendingCheckIntervalMs: number(values['pending-interval'], '--pending-interval'),
      pendingCheckBackoff: number(values['pending-backoff'], '--pending-backoff'),
      maxPendingCheckIntervalMs: number(values['max-pending-interval'], '--max-pending-interval'),
      recheckIntervalMs: number(values['recheck-interval'], '--recheck-interval'),
      failAfterMs: number(values['fail-after'], '--fail-after'),
      keyFormats: choice(values['key-formats'], KEY_FORMATS, '--key-formats'),
      unusableKey: choice(values['unusable-key'], UNUSABLE_KEY, '--unusable-key'),
      externalTokens: choice(values['external-tokens'], EXTERNAL_TOKENS, '--external-tokens'),
      v1ExternalDkimTokens: choice(values['v1-external-tokens'], V1_EXTERNAL_TOKENS, '--v1-external-tokens'),
      mailFromRequiresSpf: values['mail-from-requires-spf'],
      accountsByAccessKey: accountMap(values.account),
      stsEndpoint: values['sts-endpoint'],
      defaultAccount: values['default-account'],
      sendingSandbox: values['sending-sandbox'],
      maxSendRate: number(values['max-send-rate'], '--max-send-rate'),
      max24HourSend: number(values['max-24-hour-send'], '--max-24-hour-send'),
      deliveryDelayMs: number(values['delivery-delay'], '--delivery-delay'),
      inbound: inboundRoutes(values),
    }),
  };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return;
  }
  let emulator: SesEmulator;
  try {
    emulator = await SesEmulator.start(options(parsed.values));
  } catch (error) {
    // A bad option value (RangeError naming the option) is bad input.
    if (error instanceof RangeError) fail(error.message);
    throw error;
  }
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
      'virtual-clock': { type: 'string' },
      'dns-timeout': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'rate-clock': { type: 'string' },
      'throttling-exception-every': { type: 'string' },
      'max-identities': { type: 'string' },
      'verification-delay': { type: 'string' },
      'pending-interval': { type: 'string' },
      'pending-backoff': { type: 'string' },
      'max-pending-interval': { type: 'string' },
      'recheck-interval': { type: 'string' },
      'fail-after': { type: 'string' },
      'key-formats': { type: 'string' },
      'unusable-key': { type: 'string' },
      'external-tokens': { type: 'string' },
      'v1-external-tokens': { type: 'string' },
      'mail-from-requires-spf': { type: 'boolean' },
      account: { type: 'string', multiple: true },
      'sts-endpoint': { type: 'string' },
      'default-account': { type: 'string' },
      'sending-sandbox': { type: 'boolean' },
      'max-send-rate': { type: 'string' },
      'max-24-hour-send': { type: 'string' },
      'delivery-delay': { type: 'string' },
      'inbound-s3': { type: 'string', multiple: true },
      'inbound-lmtp': { type: 'string', multiple: true },
      'inbound-mailbox': { type: 'string', multiple: true },
      'inbound-smtp': { type: 'string', multiple: true },
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
