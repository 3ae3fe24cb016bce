/**
 * The crash harness's world, all on loopback and one virtual clock: the SES emulator
 * (behind a proxy that sees every switch), an embedded authoritative primary that takes
 * RFC 2136 updates signed with TSIG, a secondary that serves the primary as of its last
 * transfer (one pass behind, as in the sandbox), a DNS team that works through manual
 * hand-offs, and a temp directory with the config, the file vault and the file state.
 * The CLI under test is the built one (`node dist/src/cli/main.js`), run as a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../emulator/dns/server.js';
import { ZoneStore } from '../../emulator/dns/zone-store.js';
import { SesEmulator } from '../../emulator/ses/server.js';
import { FileStateStore } from '../../src/adapters/local/file-state.js';
import { FileKeyVault } from '../../src/adapters/local/file-vault.js';
import type { DomainState } from '../../src/domain/state.js';
import { DnsTeam } from '../../src/sandbox/dns-team.js';
import type { ServedAt } from '../support/invariants.js';
import { SesProxy, type SwitchObserver } from './ses-proxy.js';

export const CLI_ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const TSIG_KEY_NAME = 'byodkim-crash';
export const NAMESERVERS = ['ns1', 'ns2'] as const;

export interface CrashDomain {
  domain: string;
  dns: 'rfc2136' | 'manual';
  /** Per-domain policy (merged over the world's). */
  policy?: { validityDays?: number; renewBeforeDays?: number };
}

export interface WorldOptions {
  domains: readonly CrashDomain[];
  regions: readonly string[];
  start: string;
  policy: {
    validityDays: number;
    renewBeforeDays: number;
    graceDays: number;
    keyBits: 1024 | 2048;
    verifyChecks: number;
  };
  /** How long the DNS team takes to add a requested record (virtual time). */
  teamDelayMs: number;
}

export interface CliRun {
  code: number | null;
  /** Whether the run was ended by the harness's SIGKILL (not by finishing first). */
  killed: boolean;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface SesRegionView {
  region: string;
  /** The BYODKIM selector SES signs with here (EXTERNAL origin only). */
  selector: string | undefined;
  status: string | undefined;
  signingEnabled: boolean;
}

export class CrashWorld {
  /** What the secondary serves: the primary as of the last transfer. */
  #secondaryCopy: ZoneStore;
  readonly vault: FileKeyVault;
  readonly state: FileStateStore;

  private constructor(
    readonly options: WorldOptions,
    readonly dir: string,
    readonly clock: VirtualClock,
    readonly zones: ZoneStore,
    readonly primary: EmbeddedDnsServer,
    readonly secondary: EmbeddedDnsServer,
    readonly ses: SesEmulator,
    readonly proxy: SesProxy,
    readonly team: DnsTeam,
  ) {
    this.#secondaryCopy = zones.snapshot();
    this.vault = new FileKeyVault({ dir: join(dir, 'keys') });
    this.state = new FileStateStore({ dir: join(dir, 'state') });
  }

  static async start(options: WorldOptions, observer: SwitchObserver): Promise<CrashWorld> {
    if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build first`);
    const clock = new VirtualClock(options.start);
    const zones = new ZoneStore();
    for (const { domain } of options.domains)
      zones.addZone(domain, { nameservers: NAMESERVERS.map((ns) => `${ns}.${domain}`) });
    // Generated for this run only; never printed.
    const tsigSecret = randomBytes(32).toString('base64');
    const dir = await mkdtemp(join(tmpdir(), 'byodkim-crash-'));
    const started: Array<{ stop(): Promise<void> }> = [];
    try {
      // TSIG is checked against the real clock: the CLI signs its updates with the time of
      // day, not with --now (which moves only what byodkim decides).
      const primary = await EmbeddedDnsServer.start({
        store: zones,
        tsigKeys: [{ name: TSIG_KEY_NAME, algorithm: 'hmac-sha256', secret: tsigSecret }],
      });
      started.push(primary);
      const secondary = await EmbeddedDnsServer.start({ store: zones });
      started.push(secondary);
      secondary.freeze();
      // SES, like a resolver, may ask any authoritative server: it asks the lagging one.
      // SES's realistic timing (first check minutes after a put, on the virtual clock), but no
      // API budget: pacing is not what this harness is about, and it reads SES itself. The
      // CLI's budget is raised to match (config below): its waits on the real clock took 40%
      // of a kill's time and add no crash moment that a wait between two steps does not.
      const ses = await SesEmulator.start({
        dns: { host: secondary.host, port: secondary.port },
        clock,
        ratePerRegion: null,
      });
      started.push(ses);
      const proxy = await SesProxy.start(ses.endpoint, observer);
      started.push(proxy);
      await writeFile(join(dir, 'tsig.key'), `${tsigSecret}\n`, { mode: 0o600 });
      await writeFile(join(dir, 'byodkim.config.yaml'), config(options, primary, secondary, proxy));
      const manual = options.domains
        .filter((d) => d.dns === 'manual')
        .map((d) => ({ domain: d.domain, outDir: join(dir, 'dns-requests') }));
      const team = new DnsTeam(manual, zones, clock, options.teamDelayMs);
      return new CrashWorld(options, dir, clock, zones, primary, secondary, ses, proxy, team);
    } catch (error) {
      for (const server of started.reverse()) await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get nowMs(): number {
    return this.clock.now().getTime();
  }

  /** The secondary's zone transfer: from now on it serves what the primary serves. */
  syncSecondary(): void {
    this.secondary.thaw();
    this.secondary.freeze();
    this.#secondaryCopy = this.zones.snapshot();
  }

  /** What each nameserver serves at `name` now. */
  servedAt(name: string): ServedAt[] {
    return [
      { nameserver: NAMESERVERS[0], values: joined(this.zones, name) },
      { nameserver: NAMESERVERS[1], values: joined(this.#secondaryCopy, name) },
    ];
  }

  /** Every `_domainkey` TXT record on the primary, by selector, for one domain. */
  records(domain: string, store: ZoneStore = this.zones): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const suffix = `._domainkey.${domain}`;
    for (const name of store.zone(domain)?.names() ?? []) {
      if (!name.endsWith(suffix)) continue;
      const values = joined(store, name);
      if (values.length > 0) out.set(name.slice(0, -suffix.length), values);
    }
    return out;
  }

  secondaryRecords(domain: string): Map<string, string[]> {
    return this.records(domain, this.#secondaryCopy);
  }

  async loadState(domain: string): Promise<DomainState | undefined> {
    return (await this.state.load(domain))?.value;
  }

  /**
   * SES as a console user would see it now (GetEmailIdentity), straight from the emulator,
   * not through the proxy. A plain HTTP call: the emulator takes the region from the SigV4
   * credential scope and does not check the signature (emulator/SPEC.md).
   */
  async sesView(domain: string, region: string): Promise<SesRegionView> {
    const response = await fetch(`${this.ses.endpoint}/v2/email/identities/${encodeURIComponent(domain)}`, {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDCRASH/20260101/${region}/ses/aws4_request, SignedHeaders=host, Signature=0`,
      },
    });
    const body = (await response.json()) as {
      DkimAttributes?: {
        SigningAttributesOrigin?: string;
        Tokens?: string[];
        Status?: string;
        SigningEnabled?: boolean;
      };
    };
    if (response.status === 404)
      return { region, selector: undefined, status: undefined, signingEnabled: false };
    if (!response.ok)
      throw new Error(`SES emulator answered ${response.status} to GetEmailIdentity ${domain} in ${region}`);
    const dkim = body.DkimAttributes;
    return {
      region,
      selector: dkim?.SigningAttributesOrigin === 'EXTERNAL' ? dkim.Tokens?.[0] : undefined,
      status: dkim?.Status,
      signingEnabled: dkim?.SigningEnabled === true,
    };
  }

  /**
   * Runs `apply` as of the virtual clock's time; with `killAfterMs`, sends SIGKILL after that
   * long unless the process finished first.
   */
  apply(killAfterMs?: number): Promise<CliRun> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child: ChildProcess = spawn(
        process.execPath,
        [CLI_ENTRY, 'apply', '--output', 'json', '--now', this.clock.now().toISOString()],
        {
          cwd: this.dir,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: this.dir,
            AWS_ACCESS_KEY_ID: 'AKIDCRASH',
            AWS_SECRET_ACCESS_KEY: 'crash-not-secret',
            AWS_REGION: 'us-east-1',
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      let killed = false;
      const timer =
        killAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              if (child.exitCode === null && child.signalCode === null) {
                killed = true;
                child.kill('SIGKILL');
              }
            }, killAfterMs);
      child.on('error', reject);
      child.on('close', (code) => {
        if (timer) clearTimeout(timer);
        resolve({ code, killed, stdout, stderr, ms: performance.now() - started });
      });
    });
  }

  async stop(options: { keep: boolean }): Promise<void> {
    await this.proxy.stop().catch(() => undefined);
    await this.ses.stop().catch(() => undefined);
    await this.secondary.stop().catch(() => undefined);
    await this.primary.stop().catch(() => undefined);
    if (!options.keep) await rm(this.dir, { recursive: true, force: true });
  }
}

function joined(store: ZoneStore, name: string): string[] {
  try {
    return store.getTxt(name).map((strings) => strings.join(''));
  } catch {
    return [];
  }
}

/** The config, as a user would write it; paths relative to the config file. */
function config(
  options: WorldOptions,
  primary: EmbeddedDnsServer,
  secondary: EmbeddedDnsServer,
  proxy: SesProxy,
): string {
  const ns1 = `${primary.host}:${primary.port}`;
  const ns2 = `${secondary.host}:${secondary.port}`;
  const regions = `[${options.regions.join(', ')}]`;
  return [
    '# Written by the crash harness (test/crash) for one run.',
    'version: 1',
    `policy: ${JSON.stringify(options.policy)}`,
    'keys: { type: file, dir: keys }',
    'state: { type: file, dir: state }',
    'dns:',
    '  provider: rfc2136',
    `  server: "${ns1}"`,
    `  tsig: { name: ${TSIG_KEY_NAME}, algorithm: hmac-sha256, secretFile: tsig.key }`,
    `probe: { nameservers: ["${ns1}", "${ns2}"], timeoutMs: 1000 }`,
    `aws: { endpoints: { sesv2: "${proxy.endpoint}" }, maxAttempts: 2, sesRequestsPerSecond: 1000, sesBurst: 100 }`,
    'notify: [{ type: file, path: notifications.jsonl }]',
    'domains:',
    ...options.domains.map((d) =>
      [
        `  - domain: ${d.domain}`,
        `    regions: ${regions}`,
        '    selectorPrefix: mail',
        '    createIdentity: true',
        ...(d.policy ? [`    policy: ${JSON.stringify(d.policy)}`] : []),
        ...(d.dns === 'manual' ? ['    dns: { provider: manual, outDir: dns-requests }'] : []),
      ].join('\n'),
    ),
    '',
  ].join('\n');
}
