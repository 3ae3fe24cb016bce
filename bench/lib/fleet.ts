/**
 * A fleet in steady state, set up the way test/e2e/scale.test.ts does it: an embedded
 * authoritative DNS server serving every domain's active record, the SES emulator holding
 * every identity in every region with BYODKIM and that selector (verified), and file
 * vault + file state written directly (no engine passes needed to get there).
 *
 * The emulators live in the bench process; the engine runs in a worker process
 * (./worker.ts) that reads the config file written here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { VirtualClock } from '../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../emulator/dns/server.js';
import { ZoneStore } from '../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../emulator/ses/server.js';
import type { TsigKey } from '../../src/adapters/dns/tsig.js';
import { buildStores } from '../../src/config/compose.js';
import { parseConfig } from '../../src/config/load.js';
import type { DkimPrivateKey } from '../../src/domain/key.js';
import { DAY_MS } from '../../src/domain/policy.js';
import { buildDkimRecordValue, dkimRecordName } from '../../src/domain/record.js';
import type { DomainState } from '../../src/domain/state.js';

export const ZONE = 'example.net';
export const CREDENTIALS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'not-a-secret' };
export const TSIG_ENV = 'BYODKIM_BENCH_TSIG';

export interface FleetOptions {
  domains: number;
  regions: readonly string[];
  /** The key every identity holds (one key: generating thousands is not what is measured here). */
  key: DkimPrivateKey;
  /** When the active key was made; the engine runs on the real clock, so due-ness follows from this. */
  activeCreatedAt: Date;
  /** `rfc2136`: the worker publishes to the embedded server with TSIG; `manual`: hand-off files. */
  dns: 'manual' | 'rfc2136';
  verifyChecks?: number;
  probeConcurrency?: number;
  /** Extra policy settings, e.g. `keyBits: 1024`. */
  policy?: string;
  /**
   * Each state remembers an SES read (healthy, the active selector everywhere), the domains'
   * reads spread evenly over this much time before now: a fleet in its steady state, whose
   * scheduled health reads fall due at different moments.
   */
  sesSeenSpreadMs?: number;
}

export interface Fleet {
  dir: string;
  configPath: string;
  names: string[];
  regions: readonly string[];
  selector: string;
  dns: EmbeddedDnsServer;
  ses: SesEmulator;
  /** Environment the worker needs (credentials, the TSIG secret). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

function selectorFor(date: Date): string {
  return `mail-${date.toISOString().slice(0, 10).replaceAll('-', '')}-1`;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const names = Array.from({ length: options.domains }, (_, i) => `d${String(i).padStart(5, '0')}.${ZONE}`);
  const selector = selectorFor(options.activeCreatedAt);
  const key = options.key;
  const tsig: TsigKey = {
    name: 'byodkim-bench',
    algorithm: 'hmac-sha256',
    secret: randomBytes(32).toString('base64'),
  };
  const store = new ZoneStore();
  store.addZone(ZONE, { nameservers: [`ns1.${ZONE}`] });
  const value = buildDkimRecordValue(key.publicKey);
  for (const name of names) store.setTxt(dkimRecordName(selector, name), value);

  let dns: EmbeddedDnsServer | undefined;
  let ses: SesEmulator | undefined;
  let dir: string | undefined;
  const stop = async (): Promise<void> => {
    await ses?.stop().catch(() => undefined);
    await dns?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    dns = await EmbeddedDnsServer.start({
      store,
      ...(options.dns === 'rfc2136' ? { tsigKeys: [tsig] } : {}),
    });
    const clock = new VirtualClock(new Date());
    // Set up unlimited; each figure then holds the emulator to SES's budget on the emulator
    // clock (`setRate(1, { clock: 'emulator' })`), which the worker moves.
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      clock,
      ...INSTANT_UNLIMITED, // Issue 17 (the switch gap) owns the SES clock's realism; the budget is set per figure.
    });
    dir = await mkdtemp(join(tmpdir(), 'byodkim-bench-'));

    for (const region of options.regions) {
      const client = new SESv2Client({ endpoint: ses.endpoint, region, credentials: CREDENTIALS });
      const sesKey = key.toSesBase64();
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < names.length; i = next++) {
          await client.send(
            new CreateEmailIdentityCommand({
              EmailIdentity: names[i],
              DkimSigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: sesKey },
            }),
          );
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      client.destroy();
    }
    await ses.verifyPending();

    const dnsSetting =
      options.dns === 'rfc2136'
        ? `dns: { provider: rfc2136, server: "${dns.host}:${dns.port}", zone: ${ZONE}, ttl: 300, tsig: { name: ${tsig.name}, secretEnv: ${TSIG_ENV} } }`
        : 'dns: { provider: manual, outDir: dns-requests }';
    const yaml = [
      'keys: { type: file, dir: keys }',
      'state: { type: file, dir: state }',
      `probe: { nameservers: ["${dns.host}:${dns.port}"], concurrency: ${options.probeConcurrency ?? 64} }`,
      `aws: { endpoints: { sesv2: "${ses.endpoint}" } }`,
      dnsSetting,
      `policy: { verifyChecks: ${options.verifyChecks ?? 2}${options.policy ? `, ${options.policy}` : ''} }`,
      'notify: [{ type: file, path: notifications.log }]',
      'domains:',
      ...names.map(
        (name) => `  - { domain: ${name}, regions: [${options.regions.join(', ')}], selectorPrefix: mail }`,
      ),
      '',
    ].join('\n');
    const configPath = join(dir, 'byodkim.config.yaml');
    await writeFile(configPath, yaml);

    const loaded = parseConfig(yaml, configPath);
    const stores = await buildStores(loaded, { now: () => new Date() });
    const at = options.activeCreatedAt.toISOString();
    const setUpAt = Date.now();
    const notAfter = new Date(options.activeCreatedAt.getTime() + 365 * DAY_MS).toISOString();
    let next = 0;
    const writer = async (): Promise<void> => {
      for (let i = next++; i < names.length; i = next++) {
        const name = names[i] as string;
        const vaultRef = await stores.vault.put(name, selector, key);
        const state: DomainState = {
          schema: 1,
          domain: name,
          keys: [
            {
              selector,
              bits: key.bits,
              publicKey: key.publicKey,
              vaultRef,
              origin: 'generated',
              createdAt: at,
              notAfter,
              status: 'active',
              statusSince: at,
              verifyStreak: options.verifyChecks ?? 2,
            },
          ],
          history: [],
        };
        if (options.sesSeenSpreadMs !== undefined) {
          const seenAt = setUpAt - ((i + 0.5) / names.length) * options.sesSeenSpreadMs;
          state.sesSeen = {
            at: new Date(seenAt).toISOString(),
            regions: Object.fromEntries(
              options.regions.map((r) => [
                r,
                { exists: true, status: 'SUCCESS', selector, signingEnabled: true },
              ]),
            ),
          };
        }
        await stores.state.save(state, undefined);
      }
    };
    await Promise.all(Array.from({ length: 16 }, writer));

    return {
      dir,
      configPath,
      names,
      regions: options.regions,
      selector,
      dns,
      ses,
      env: {
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_REGION: options.regions[0] ?? 'us-east-1',
        [TSIG_ENV]: tsig.secret,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The fleet's config with more settings under `aws` (e.g. `sesRequestsPerSecond: 200`),
 * written beside it (same directory, so keys/ and state/ are the same); returns its path.
 */
export async function configVariant(fleet: Fleet, name: string, awsSettings: string): Promise<string> {
  const text = await readFile(fleet.configPath, 'utf8');
  const changed = text.replace(
    /^aws: \{ (.*) \}$/m,
    (_, inner: string) => `aws: { ${inner}, ${awsSettings} }`,
  );
  if (changed === text) throw new Error('configVariant: no aws line in the fleet config');
  const path = join(fleet.dir, `byodkim.${name}.config.yaml`);
  await writeFile(path, changed);
  return path;
}

/** Sum of the emulator's request counters for one operation (throttled requests included). */
export function countOf(counters: Record<string, number>, operation: string): number {
  return counters[operation] ?? 0;
}

/** Requests the emulator refused with 429, all regions. */
export function throttledOf(rejections: Record<string, number>): number {
  return Object.entries(rejections)
    .filter(([k]) => k.startsWith('throttled@'))
    .reduce((sum, [, n]) => sum + n, 0);
}
