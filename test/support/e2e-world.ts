import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../emulator/dns/server.js';
import { ZoneStore } from '../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator, type SesEmulatorOptions } from '../../emulator/ses/server.js';
import { type SampleVerdict, verifySample } from '../../emulator/verify-sample.js';
import { type CliOptions, type CliResult, runCli } from './cli.js';

/**
 * The end-to-end rig: the real CLI (a child process) against the SES emulator and the
 * embedded authoritative DNS server (in this process), with RFC 2136 + TSIG or a manual
 * hand-off, a virtual clock kept in step with `--now`, and file stores in a temp dir.
 */
export interface E2eOptions {
  /** SES emulator options over the instant, unlimited test defaults (e.g. SES's realistic check clock). */
  ses?: Partial<SesEmulatorOptions>;
  domains?: string[];
  regions?: string[];
  dns?: 'rfc2136' | 'manual';
  policy?: Record<string, unknown>;
  createIdentity?: boolean;
  start?: string;
  /** The `notify` entries (YAML flow); default a file notifier writing notifications.jsonl. */
  notify?: string;
}

export class E2eWorld {
  readonly clock: VirtualClock;
  private constructor(
    readonly dir: string,
    readonly dns: EmbeddedDnsServer,
    readonly ses: SesEmulator,
    readonly options: Required<Pick<E2eOptions, 'domains' | 'regions'>> & E2eOptions,
    clock: VirtualClock,
  ) {
    this.clock = clock;
  }

  static async start(options: E2eOptions = {}): Promise<E2eWorld> {
    const domains = options.domains ?? ['example.com'];
    const regions = options.regions ?? ['us-east-1', 'ap-northeast-1'];
    const clock = new VirtualClock(options.start ?? '2026-01-01T00:00:00Z');
    const store = new ZoneStore();
    for (const domain of domains) store.addZone(domain, { nameservers: [`ns1.${domain}`] });
    const secret = randomBytes(32).toString('base64');
    const dns = await EmbeddedDnsServer.start({
      store,
      tsigKeys: [{ name: 'byodkim-key', algorithm: 'hmac-sha256', secret }],
    });
    const ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      clock,
      ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
      ...options.ses,
    });
    const dir = await mkdtemp(join(tmpdir(), 'byodkim-e2e-'));
    await writeFile(join(dir, 'tsig.key'), `${secret}\n`, { mode: 0o600 });
    const dnsConfig =
      options.dns === 'manual'
        ? '  provider: manual\n  outDir: dns-requests\n'
        : `  provider: rfc2136\n  server: "${dns.host}:${dns.port}"\n  tsig: { name: byodkim-key, algorithm: hmac-sha256, secretFile: tsig.key }\n`;
    const policy = { verifyChecks: 2, renewalSpreadDays: 0, ...options.policy };
    await writeFile(
      join(dir, 'byodkim.config.yaml'),
      [
        'version: 1',
        `policy: ${JSON.stringify(policy)}`,
        `dns:\n${dnsConfig}`,
        `probe: { nameservers: ["${dns.host}:${dns.port}"], timeoutMs: 1000 }`,
        `aws: { endpoints: { sesv2: "${ses.endpoint}" }, maxAttempts: 2 }`,
        `notify: ${options.notify ?? '[{ type: file, path: notifications.jsonl }]'}`,
        'domains:',
        ...domains.map(
          (d) =>
            `  - { domain: ${d}, regions: [${regions.join(', ')}], selectorPrefix: mail, createIdentity: ${options.createIdentity ?? true} }`,
        ),
        '',
      ].join('\n'),
    );
    return new E2eWorld(dir, dns, ses, { ...options, domains, regions }, clock);
  }

  /** Runs the CLI as of the virtual clock's time. */
  cli(...args: string[]): Promise<CliResult> {
    return this.cliWith({}, ...args);
  }

  /** Runs the CLI as of the virtual clock's time, with a shell set-up (umask, ulimit) or more env. */
  cliWith(options: Pick<CliOptions, 'shellSetup' | 'env'>, ...args: string[]): Promise<CliResult> {
    return runCli([...args, '--now', this.clock.now().toISOString()], {
      cwd: this.dir,
      ...(options.shellSetup === undefined ? {} : { shellSetup: options.shellSetup }),
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDE2E',
        AWS_SECRET_ACCESS_KEY: 'e2e-not-secret',
        AWS_REGION: 'us-east-1',
        ...options.env,
      },
    });
  }

  /** What a receiving mail server would conclude about mail SES sends right now, per region. */
  async samples(
    domain = this.options.domains[0] ?? 'example.com',
  ): Promise<Record<string, SampleVerdict & { signed: boolean }>> {
    const out: Record<string, SampleVerdict & { signed: boolean }> = {};
    for (const region of this.options.regions) {
      const sample = await this.ses.signSample(region, domain);
      const verdict = await verifySample(sample.message, domain, this.dns, this.clock.now());
      out[region] = { ...verdict, signed: sample.signedWithDomainKey };
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.ses.stop();
    await this.dns.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
