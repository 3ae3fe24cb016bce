/**
 * A throwaway BIND 9 primary + secondary for integration tests.
 *
 * Each server is a plain `named -g` child process on the loopback, unprivileged ports, its
 * own mkdtemp directory (config, zone files, journal) and its own rndc control channel.
 * The primary accepts RFC 2136 updates signed with `pair.tsig`, NOTIFYs the secondary at
 * once (notify-delay 0) and serves it IXFR/AXFR under a separate transfer key. Holding the
 * secondary back is done the way an operator would: the primary stops allowing transfers
 * (`rndc reconfig`), so the secondary keeps answering with its old copy.
 *
 *   updates ──► primary ──NOTIFY──► secondary
 *               (allow-update key)   (asks SOA, then IXFR with xfr key; refused while held)
 *
 * Secrets (TSIG, transfer and rndc keys) are generated at run time, written only inside
 * the temp directories (0700) and never printed. Processes are killed on `stop()`, on
 * a failed start, and on process exit, so a failing test leaves nothing behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { accessSync, constants, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { udpExchange } from '../../emulator/dns/client.js';
import { decodeMessage, encodeQuery, parseSoa, Rcode, RrType } from '../../emulator/dns/wire.js';
import type { TsigKey } from '../../src/adapters/dns/tsig.js';

const execFileAsync = promisify(execFile);

export interface BindServerAddress {
  host: string;
  port: number;
}

export interface BindPair {
  primary: BindServerAddress;
  secondary: BindServerAddress;
  /** Generated at run time unless given; allows dynamic update on the primary. */
  tsig: TsigKey;
  /** The secondary keeps serving old data: the primary refuses it transfers until released. */
  holdSecondary(): Promise<void>;
  /**
   * Transfers are allowed again and the secondary is told to retransfer every zone; waits
   * until serials match. Also the way to make a restarted secondary catch up.
   */
  releaseSecondary(): Promise<void>;
  stopSecondary(): Promise<void>;
  /**
   * Restarts the secondary from its saved zone copies; waits until it answers. Like BIND
   * does, it then serves that (possibly stale) copy until its refresh timer fires, minutes
   * later: call `releaseSecondary()` to make it catch up now.
   */
  startSecondary(): Promise<void>;
  /** Waits until primary and secondary report the same SOA serial for `origin`. */
  waitForSync(origin: string, timeoutMs?: number): Promise<void>;
  /** The SOA serial a server reports for `origin` (undefined if it has no answer). */
  serial(server: 'primary' | 'secondary', origin: string): Promise<number | undefined>;
  /** Runs rndc against one server, e.g. `rndc('primary', 'status')`. */
  rndc(server: 'primary' | 'secondary', ...args: string[]): Promise<string>;
  /** The last lines named logged, for failure messages. */
  logTail(server: 'primary' | 'secondary', lines?: number): string;
  /** Process ids of the running servers (undefined when stopped), to check nothing is left. */
  processIds(): { primary: number | undefined; secondary: number | undefined };
  /** The servers' temp directories (config, zone files, journals); removed by `stop()`. */
  readonly directories: { primary: string; secondary: string };
  /** Kills both servers and removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

export interface BindZone {
  origin: string;
  /** Zone-file lines relative to the origin, e.g. `'sel1._domainkey IN TXT "v=DKIM1; p="'`. */
  records?: string[];
}

const SYSTEM_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin'];

function findExecutable(name: string, override?: string): string | undefined {
  const candidates = override
    ? [override]
    : [
        ...(process.env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, name)),
        ...SYSTEM_DIRS.map((dir) => join(dir, name)),
      ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** `BYODKIM_NAMED` / `BYODKIM_RNDC` override where named and rndc are found. */
function namedPath(): string | undefined {
  return findExecutable('named', process.env.BYODKIM_NAMED);
}

function rndcPath(): string | undefined {
  return findExecutable('rndc', process.env.BYODKIM_RNDC);
}

const setprivPath = process.platform === 'linux' ? findExecutable('setpriv') : undefined;

/**
 * Debian and Ubuntu ship an AppArmor profile that confines /usr/sbin/named to /etc/bind,
 * /var/lib/bind and /var/cache/bind, so with AppArmor on (GitHub's Ubuntu runners) named
 * cannot read a config in a temp dir. The profile attaches by path: a copy of the binary
 * in the temp dir runs unconfined. `BYODKIM_NAMED_COPY=1` forces the copy (to test it).
 */
function mustCopyNamed(): boolean {
  if (process.env.BYODKIM_NAMED_COPY === '1') return true;
  if (process.env.BYODKIM_NAMED !== undefined) return false;
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim().startsWith('Y');
  } catch {
    return false;
  }
}

/** True when `named` and `rndc` are installed. */
export function bindAvailable(): boolean {
  return namedPath() !== undefined && rndcPath() !== undefined;
}

/**
 * Why BIND tests must be skipped, or undefined when they can run. On CI (`CI` set) a
 * missing BIND is an error, not a skip: a green run must mean the tests ran.
 */
export function bindSkipReason(): string | undefined {
  if (bindAvailable()) return undefined;
  const reason = 'BIND 9 not found (named and rndc; apt-get install bind9 bind9-utils, or set BYODKIM_NAMED)';
  if (process.env.CI) throw new Error(`CI is set, so BIND tests must run, but ${reason}`);
  return reason;
}

// ---- process bookkeeping: never leave a named behind ----

const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  liveProcesses.add(child);
  child.once('exit', () => liveProcesses.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of liveProcesses) p.kill('SIGKILL');
    });
  }
}

async function killAndWait(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---- ports ----

/** A port free for both UDP and TCP right now (named binds it a moment later). */
async function freePort(host: string, udpToo: boolean): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, host, () => {
        const address = tcp.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    let ok = true;
    if (udpToo) {
      const udp = createSocket('udp4');
      ok = await new Promise<boolean>((resolve) => {
        udp.once('error', () => resolve(false));
        udp.bind(port, host, () => resolve(true));
      });
      udp.close();
    }
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (ok && port !== 0) return port;
  }
  throw new Error(`no free port on ${host}`);
}

// ---- config ----

function secret(): string {
  return randomBytes(32).toString('base64');
}

function keyClause(name: string, algorithm: string, value: string): string {
  return `key "${name}" { algorithm ${algorithm}; secret "${value}"; };\n`;
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function zoneFile(zone: BindZone, host: string): string {
  const origin = fqdn(zone.origin);
  return [
    `$ORIGIN ${origin}`,
    '$TTL 60',
    // Short refresh/retry so a released secondary also catches up by itself.
    `@ IN SOA ns1.${origin} hostmaster.${origin} ( 1 60 10 3600 30 )`,
    '@ IN NS ns1',
    '@ IN NS ns2',
    `ns1 IN A ${host}`,
    `ns2 IN A ${host}`,
    ...(zone.records ?? []),
    '',
  ].join('\n');
}

interface ServerSetup {
  role: 'primary' | 'secondary';
  /** The named binary to run (a private copy when AppArmor would confine the system one). */
  named: string;
  dir: string;
  host: string;
  port: number;
  controlPort: number;
  rndcSecret: string;
}

interface PairSetup {
  primary: ServerSetup;
  secondary: ServerSetup;
  zones: BindZone[];
  tsig: TsigKey;
  transferSecret: string;
  transfersAllowed: boolean;
}

const TRANSFER_KEY = 'byodkim-xfr';
const RNDC_KEY = 'byodkim-rndc';

function namedConf(server: ServerSetup, pair: PairSetup): string {
  const common = [
    `  directory "${server.dir}";`,
    `  pid-file "${join(server.dir, 'named.pid')}";`,
    `  session-keyfile "${join(server.dir, 'session.key')}";`,
    `  managed-keys-directory "${server.dir}";`,
    `  listen-on port ${server.port} { ${server.host}; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  dnssec-validation no;',
    '  allow-query { any; };',
  ];
  const keys =
    keyClause(RNDC_KEY, 'hmac-sha256', server.rndcSecret) +
    keyClause(TRANSFER_KEY, 'hmac-sha256', pair.transferSecret) +
    keyClause(pair.tsig.name.replace(/\.$/, ''), pair.tsig.algorithm, pair.tsig.secret);
  const controls = `controls { inet ${server.host} port ${server.controlPort} allow { ${server.host}; } keys { "${RNDC_KEY}"; }; };\n`;

  if (server.role === 'primary') {
    const secondary = pair.secondary;
    const options = [
      'options {',
      ...common,
      // Only the secondary is told: the NS targets in the zone point at port 53.
      '  notify explicit;',
      '  notify-delay 0;',
      `  also-notify { ${secondary.host} port ${secondary.port}; };`,
      `  allow-transfer { ${pair.transfersAllowed ? `key "${TRANSFER_KEY}";` : 'none;'} };`,
      '};',
    ].join('\n');
    const zones = pair.zones
      .map(
        (z) =>
          `zone "${fqdn(z.origin)}" { type primary; file "${zoneFileName(z)}"; ` +
          `allow-update { key "${pair.tsig.name.replace(/\.$/, '')}"; }; };`,
      )
      .join('\n');
    return `${options}\n${keys}${controls}${zones}\n`;
  }
  const options = ['options {', ...common, '  notify no;', '  allow-transfer { none; };', '};'].join('\n');
  const zones = pair.zones
    .map(
      (z) =>
        `zone "${fqdn(z.origin)}" { type secondary; masterfile-format text; file "${zoneFileName(z)}"; ` +
        `primaries { ${pair.primary.host} port ${pair.primary.port} key "${TRANSFER_KEY}"; }; };`,
    )
    .join('\n');
  return `${options}\n${keys}${controls}${zones}\n`;
}

function zoneFileName(zone: BindZone): string {
  return `${zone.origin.replace(/\.$/, '').toLowerCase() || 'root'}.db`;
}

function rndcConf(server: ServerSetup): string {
  return (
    keyClause(RNDC_KEY, 'hmac-sha256', server.rndcSecret) +
    `options { default-key "${RNDC_KEY}"; default-server ${server.host}; default-port ${server.controlPort}; };\n`
  );
}

// ---- one named process ----

class NamedProcess {
  readonly setup: ServerSetup;
  #child: ChildProcess | undefined;
  #log: string[] = [];

  constructor(setup: ServerSetup) {
    this.setup = setup;
  }

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  start(): void {
    // -g: foreground, log to stderr; -4: loopback IPv4 only; -n 1: one worker is plenty.
    const args = ['-g', '-4', '-n', '1', '-c', join(this.setup.dir, 'named.conf')];
    // setpriv --pdeathsig: the kernel kills named if this test process dies without stop().
    const [command, commandArgs] = setprivPath
      ? [setprivPath, ['--pdeathsig', 'SIGKILL', this.setup.named, ...args]]
      : [this.setup.named, args];
    const child = spawn(command, commandArgs, { cwd: this.setup.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    const collect = (chunk: Buffer): void => {
      this.#log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (this.#log.length > 2000) this.#log.splice(0, this.#log.length - 2000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (error) => this.#log.push(`spawn error: ${error.message}`));
    this.#child = child;
  }

  async stop(): Promise<void> {
    if (this.#child !== undefined) await killAndWait(this.#child);
    this.#child = undefined;
  }

  logTail(lines = 40): string {
    return this.#log.slice(-lines).join('\n');
  }

  async rndc(...args: string[]): Promise<string> {
    const rndc = rndcPath();
    if (rndc === undefined) throw new Error('rndc not found');
    try {
      const { stdout } = await execFileAsync(rndc, ['-c', join(this.setup.dir, 'rndc.conf'), ...args], {
        timeout: 10_000,
      });
      return stdout;
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`rndc ${args.join(' ')} on the ${this.setup.role} failed: ${detail.trim()}`);
    }
  }

  /** Waits until the server answers an SOA query for every zone authoritatively. */
  async waitReady(zones: readonly BindZone[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new Error(`named (${this.setup.role}) exited during start-up. Log tail:\n${this.logTail()}`);
      }
      const serials = await Promise.all(zones.map((z) => soaSerial(this.setup, z.origin)));
      if (serials.every((s) => s !== undefined)) return;
      // A zone file named rejects never loads: fail now rather than at the deadline.
      const rejected = this.#log.find((line) => /not loaded due to errors/.test(line));
      if (Date.now() > deadline || rejected !== undefined) {
        throw new Error(
          `named (${this.setup.role}) on ${this.setup.host}:${this.setup.port} did not serve ` +
            `${zones.map((z) => z.origin).join(', ')} within ${timeoutMs} ms. Log tail:\n${this.logTail()}`,
        );
      }
      await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The SOA serial a server answers authoritatively for `origin`, or undefined. */
export async function soaSerial(server: BindServerAddress, origin: string): Promise<number | undefined> {
  try {
    const answer = decodeMessage(
      await udpExchange(server.host, server.port, encodeQuery(origin, 'SOA'), { timeoutMs: 500 }),
    );
    const soa = answer.answers.find((rr) => rr.type === RrType.SOA);
    if (answer.rcode !== Rcode.NOERROR || !answer.aa || soa === undefined) return undefined;
    return parseSoa(soa.rdata).serial;
  } catch {
    return undefined;
  }
}

/**
 * Starts a BIND primary and secondary serving `zones`, both on `host` (default 127.0.0.1)
 * with their own ports. Resolves once the secondary has transferred every zone.
 *
 * @example
 * ```ts
 * const pair = await startBindPair({ zones: [{ origin: 'example.com' }] });
 * try {
 *   // send a TSIG-signed UPDATE to pair.primary with pair.tsig ...
 *   await pair.waitForSync('example.com');
 * } finally {
 *   await pair.stop();
 * }
 * ```
 */
export async function startBindPair(opts: {
  zones: BindZone[];
  tsig?: TsigKey;
  host?: string;
}): Promise<BindPair> {
  if (opts.zones.length === 0) throw new Error('startBindPair needs at least one zone');
  let lastError: unknown;
  // A port picked as free can be taken before named binds it; a retry picks new ones.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (error) {
      lastError = error;
      if (!String((error as Error).message).includes('address in use')) throw error;
    }
  }
  throw lastError;
}

async function startOnce(opts: { zones: BindZone[]; tsig?: TsigKey; host?: string }): Promise<BindPair> {
  const host = opts.host ?? '127.0.0.1';
  const dirs: string[] = [];
  const processes: NamedProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    const makeServer = async (role: 'primary' | 'secondary'): Promise<ServerSetup> => {
      const dir = await mkdtemp(join(tmpdir(), `byodkim-bind-${role}-`));
      dirs.push(dir);
      let named = namedPath();
      if (named === undefined) throw new Error('named not found');
      if (mustCopyNamed()) {
        const copy = join(dir, 'named');
        await copyFile(named, copy);
        named = copy;
      }
      return {
        role,
        named,
        dir,
        host,
        port: await freePort(host, true),
        controlPort: await freePort(host, false),
        rndcSecret: secret(),
      };
    };
    const setup: PairSetup = {
      primary: await makeServer('primary'),
      secondary: await makeServer('secondary'),
      zones: opts.zones,
      tsig: opts.tsig ?? { name: 'byodkim-update', algorithm: 'hmac-sha256', secret: secret() },
      transferSecret: secret(),
      transfersAllowed: true,
    };
    const writeConfig = async (server: ServerSetup): Promise<void> => {
      await writeFile(join(server.dir, 'named.conf'), namedConf(server, setup), { mode: 0o600 });
      await writeFile(join(server.dir, 'rndc.conf'), rndcConf(server), { mode: 0o600 });
    };
    for (const zone of opts.zones) {
      await writeFile(join(setup.primary.dir, zoneFileName(zone)), zoneFile(zone, host));
    }
    await writeConfig(setup.primary);
    await writeConfig(setup.secondary);

    const primary = new NamedProcess(setup.primary);
    const secondary = new NamedProcess(setup.secondary);
    processes.push(primary, secondary);
    primary.start();
    await primary.waitReady(opts.zones, 15_000);
    secondary.start();
    await secondary.waitReady(opts.zones, 15_000);

    const server = (which: 'primary' | 'secondary'): NamedProcess =>
      which === 'primary' ? primary : secondary;
    let stopped = false;

    const pair: BindPair = {
      primary: { host, port: setup.primary.port },
      secondary: { host, port: setup.secondary.port },
      tsig: setup.tsig,
      async waitForSync(origin, timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        let serials: Array<number | undefined> = [];
        while (Date.now() <= deadline) {
          serials = await Promise.all([soaSerial(pair.primary, origin), soaSerial(pair.secondary, origin)]);
          if (serials[0] !== undefined && serials[0] === serials[1]) return;
          await sleep(100);
        }
        throw new Error(
          `secondary did not catch up on ${origin} within ${timeoutMs} ms ` +
            `(primary serial ${serials[0]}, secondary serial ${serials[1]}). Secondary log tail:\n` +
            secondary.logTail(),
        );
      },
      async holdSecondary() {
        setup.transfersAllowed = false;
        await writeConfig(setup.primary);
        await primary.rndc('reconfig');
      },
      async releaseSecondary() {
        setup.transfersAllowed = true;
        await writeConfig(setup.primary);
        await primary.rndc('reconfig');
        // The secondary backs off after refused transfers; ask it to fetch now.
        for (const zone of opts.zones) await secondary.rndc('retransfer', fqdn(zone.origin));
        for (const zone of opts.zones) await pair.waitForSync(zone.origin);
      },
      async stopSecondary() {
        await secondary.stop();
      },
      async startSecondary() {
        if (secondary.running) return;
        secondary.start();
        await secondary.waitReady(opts.zones, 15_000);
      },
      serial(which, origin) {
        return soaSerial(which === 'primary' ? pair.primary : pair.secondary, origin);
      },
      rndc(which, ...args) {
        return server(which).rndc(...args);
      },
      logTail(which, lines) {
        return server(which).logTail(lines);
      },
      processIds() {
        return { primary: primary.pid, secondary: secondary.pid };
      },
      directories: { primary: setup.primary.dir, secondary: setup.secondary.dir },
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
    for (const zone of opts.zones) await pair.waitForSync(zone.origin);
    return pair;
  } catch (error) {
    await cleanup();
    throw error;
  }
}
