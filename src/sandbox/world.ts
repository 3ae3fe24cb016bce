/**
 * The sandbox's little world: an SES v2 emulator and two embedded authoritative DNS
 * servers (a primary that takes RFC 2136 updates signed with TSIG, and a secondary that
 * transfers from it before each pass, so it lags by up to one pass), all on loopback with
 * free ports and one virtual clock, plus a temp directory holding the config, the file
 * vault, the file state and the DNS hand-offs.
 *
 * Only the sandbox front end imports `emulator/`; the engine and the adapters never do.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../emulator/dns/server.js';
import { ZoneStore } from '../../emulator/dns/zone-store.js';
import { SesEmulator } from '../../emulator/ses/server.js';
import { type SampleVerdict, verifySample } from '../../emulator/verify-sample.js';
import type { PacerTimer } from '../adapters/aws/pacing.js';

export const SANDBOX_REGIONS = ['us-east-1', 'ap-northeast-1'] as const;

/** The three example domains and how each one reaches DNS. */
export const SANDBOX_DOMAINS = {
  /** Published automatically: RFC 2136 + TSIG against the embedded primary. */
  automatic: 'auto.example.com',
  /** Manual hand-off: the sandbox's DNS team applies the requests byodkim writes. */
  handOff: 'handoff.example.net',
  /** An existing BYODKIM set-up in the seed system's layout, taken over with `adopt`. */
  adopted: 'adopted.example.org',
} as const;

/**
 * Where the signing canary goes: an address no real domain receives for. The SES emulator
 * keeps mail for it in its own mailbox, which the sandbox reads through the inbox port.
 */
/** How long after a put SES first checks the new key's record (issue 19's acceptance: 10 minutes). */
export const SANDBOX_SES_DETECTION_DELAY_MS = 10 * 60_000;
export const SANDBOX_CANARY_ADDRESS = 'canary@inbox.example';

/** The seed system's selector naming, kept for the adopted domain. */
export const ADOPTED_PREFIX = 'gooid-21-pro';
export const TSIG_KEY_NAME = 'byodkim-sandbox';

export interface NameserverSample {
  nameserver: string;
  verdict: SampleVerdict;
}

export interface RegionSample {
  region: string;
  /** The raw message SES would send now (headers and body; the DKIM-Signature carries no key). */
  message: string;
  signedWithDomainKey: boolean;
  selector?: string;
  /** One verdict per authoritative nameserver: a receiver may ask either. */
  verdicts: NameserverSample[];
  pass: boolean;
}

export interface WorldOptions {
  start: Date;
  keyBits: 1024 | 2048;
}

export class SandboxWorld {
  private constructor(
    readonly dir: string,
    readonly clock: VirtualClock,
    readonly primary: EmbeddedDnsServer,
    readonly secondary: EmbeddedDnsServer,
    readonly ses: SesEmulator,
    readonly configPath: string,
  ) {}

  /** The primary's zone data: what the DNS team edits and RFC 2136 updates change. */
  get zones(): ZoneStore {
    return this.primary.store;
  }

  get nameservers(): Array<{ name: string; host: string; port: number }> {
    return [
      { name: 'ns1', host: this.primary.host, port: this.primary.port },
      { name: 'ns2', host: this.secondary.host, port: this.secondary.port },
    ];
  }

  static async start(options: WorldOptions): Promise<SandboxWorld> {
    const clock = new VirtualClock(options.start);
    const store = new ZoneStore();
    for (const domain of Object.values(SANDBOX_DOMAINS)) {
      store.addZone(domain, { nameservers: [`ns1.${domain}`, `ns2.${domain}`] });
      // Receivers judge the canary by the domain's DMARC policy.
      store.setTxt(`_dmarc.${domain}`, 'v=DMARC1; p=reject');
    }
    // SES's MAIL FROM is <region>.amazonses.com; the emulator sends from TEST-NET-3
    // (emulator/SPEC.md §15), so the sandbox's DNS publishes SPF for that range.
    store.addZone('amazonses.com', { nameservers: ['ns1.amazonses.com', 'ns2.amazonses.com'] });
    for (const region of SANDBOX_REGIONS)
      store.setTxt(`${region}.amazonses.com`, 'v=spf1 ip4:203.0.113.0/24 -all');
    // Generated for this run only; it never appears in the output.
    const tsigSecret = randomBytes(32).toString('base64');
    const dir = await mkdtemp(join(tmpdir(), 'byodkim-sandbox-'));
    const started: Array<{ stop(): Promise<void> }> = [];
    try {
      const primary = await EmbeddedDnsServer.start({
        store,
        tsigKeys: [{ name: TSIG_KEY_NAME, algorithm: 'hmac-sha256', secret: tsigSecret }],
        clock,
      });
      started.push(primary);
      // The secondary serves the same zones, as of its last transfer (see syncSecondary).
      const secondary = await EmbeddedDnsServer.start({ store, clock });
      started.push(secondary);
      secondary.freeze();
      // SES, like a recursive resolver, may ask any authoritative server: it asks the lagging one.
      // The emulator's realistic defaults (emulator/SPEC.md §11): one request per second per
      // region, backing off between DNS checks — all on the sandbox's virtual clock, as
      // byodkim's own pacing is (`sesPacerTimer`). SES detects a new key 10 minutes after a
      // put (users report minutes, SES-REALITY.md §2): longer than the canary's 5-minute switch
      // interval, so the canary must measure a gap that spans more than one of its sends.
      const ses = await SesEmulator.start({
        dns: { host: secondary.host, port: secondary.port },
        clock,
        rateClock: 'emulator',
        verificationDelayMs: SANDBOX_SES_DETECTION_DELAY_MS,
        // Canary mail is delivered a few seconds (of the virtual clock) after it is sent, into
        // the emulator's mailbox: offline there is no S3 bucket or mail server to receive it.
        inbound: [{ domain: SANDBOX_CANARY_ADDRESS.split('@')[1] as string, type: 'mailbox' }],
      });
      started.push(ses);
      await writeFile(join(dir, 'tsig.key'), `${tsigSecret}\n`, { mode: 0o600 });
      const configPath = join(dir, 'byodkim.config.yaml');
      await writeFile(configPath, sandboxConfig({ primary, secondary, ses, keyBits: options.keyBits }), {
        mode: 0o644,
      });
      return new SandboxWorld(dir, clock, primary, secondary, ses, configPath);
    } catch (error) {
      for (const server of started.reverse()) await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * SES pacing in virtual time: waiting for the next request slot moves the virtual clock,
   * so "one request per second" holds in the sandbox's time as it holds in real time.
   */
  get sesPacerTimer(): PacerTimer {
    const clock = this.clock;
    return {
      now: () => clock.now().getTime(),
      sleep: async (ms) => {
        const target = clock.now().getTime() + ms;
        if (target > clock.now().getTime()) clock.set(target);
      },
    };
  }

  /** The secondary's zone transfer: from now on it serves what the primary serves. */
  syncSecondary(): void {
    this.secondary.thaw();
    this.secondary.freeze();
  }

  /**
   * What a receiving mail server would conclude about mail SES sends from `domain` right
   * now, per region, checked against every authoritative nameserver.
   */
  async sample(domain: string): Promise<RegionSample[]> {
    const now = this.clock.now();
    return Promise.all(
      SANDBOX_REGIONS.map(async (region) => {
        const sample = await this.ses.signSample(region, domain, {
          subject: `byodkim sandbox: mail from ${domain} via SES ${region}`,
          body: 'Sent by the SES emulator, signed with the key byodkim gave it.',
        });
        const verdicts = await Promise.all(
          this.nameservers.map(async (ns) => ({
            nameserver: ns.name,
            verdict: await verifySample(sample.message, domain, ns, now),
          })),
        );
        return {
          region,
          message: sample.message,
          signedWithDomainKey: sample.signedWithDomainKey,
          ...(sample.selector === undefined ? {} : { selector: sample.selector }),
          verdicts,
          pass: sample.signedWithDomainKey && verdicts.every((v) => v.verdict.pass),
        };
      }),
    );
  }

  async stop(options: { keep: boolean }): Promise<void> {
    await this.ses.stop().catch(() => undefined);
    await this.secondary.stop().catch(() => undefined);
    await this.primary.stop().catch(() => undefined);
    if (!options.keep) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The config, as a user would write it: the same YAML and the same loader as real use.
 * Paths are relative to the config file, so the kept directory stays usable.
 */
function sandboxConfig(world: {
  primary: EmbeddedDnsServer;
  secondary: EmbeddedDnsServer;
  ses: SesEmulator;
  keyBits: number;
}): string {
  const ns1 = `${world.primary.host}:${world.primary.port}`;
  const ns2 = `${world.secondary.host}:${world.secondary.port}`;
  const regions = `[${SANDBOX_REGIONS.join(', ')}]`;
  return `# Written by "byodkim sandbox" for one run; the servers named here stopped with it.
version: 1
policy:
  validityDays: 365
  renewBeforeDays: 30
  graceDays: 7
  keyBits: ${world.keyBits}
  verifyChecks: 2
keys: { type: file, dir: keys }
state: { type: file, dir: state }
# Default DNS: RFC 2136 dynamic updates to the embedded primary, signed with TSIG.
dns:
  provider: rfc2136
  server: "${ns1}"
  tsig: { name: ${TSIG_KEY_NAME}, algorithm: hmac-sha256, secretFile: tsig.key }
# Ask both authoritative servers directly (ns1 primary, ns2 secondary).
probe: { nameservers: ["${ns1}", "${ns2}"], timeoutMs: 1000 }
aws:
  endpoints: { sesv2: "${world.ses.endpoint}" }
  sesRequestsPerSecond: 1   # SES's documented control-plane rate, per region
  maxAttempts: 5
notify: [{ type: file, path: notifications.jsonl }]
# The signing canary: once a day per region, and every 5 minutes while a switch is open,
# byodkim sends a short message through SES and judges it as a receiver would (DKIM d= and
# s=, signature, SPF, DMARC) on ns1 and ns2. On AWS the inbox is the bucket SES receiving
# writes to (the CDK construct deploys it); the sandbox runs offline and reads the SES
# emulator's mailbox in its place.
canary:
  to: ${SANDBOX_CANARY_ADDRESS}
  inbox: { type: s3, bucket: byodkim-canary-inbox, prefix: canary/ }
domains:
  - domain: ${SANDBOX_DOMAINS.automatic}
    regions: ${regions}
    createIdentity: true
  - domain: ${SANDBOX_DOMAINS.handOff}
    regions: ${regions}
    createIdentity: true
    dns: { provider: manual, outDir: dns-requests }
  - domain: ${SANDBOX_DOMAINS.adopted}
    regions: ${regions}
    selectorPrefix: ${ADOPTED_PREFIX}
`;
}
