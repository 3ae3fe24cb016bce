/**
 * Test rig for the SES emulator: the embedded DNS server, the emulator on a virtual clock,
 * and real `SESv2Client`s pointed at it. Keys are generated at run time and never printed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { VirtualClock } from '../../../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../../../emulator/dns/server.js';
import { INSTANT_UNLIMITED, SesEmulator, type SesEmulatorOptions } from '../../../../emulator/ses/server.js';

export const HOUR = 3_600_000;
export const DOMAIN = 'example.com';
export const START = '2025-09-17T04:00:00.000Z';

export interface Rig {
  readonly clock: VirtualClock;
  readonly dns: EmbeddedDnsServer;
  readonly ses: SesEmulator;
  client(region?: string, opts?: { maxAttempts?: number }): SESv2Client;
  /** Publishes `v=DKIM1; k=rsa; p=<key>` at `<selector>._domainkey.<domain>`. */
  publish(selector: string, publicKeyBase64: string, domain?: string): void;
  unpublish(selector: string, domain?: string): void;
  /** mailauth's DKIM verdicts for a message, resolving against the rig's DNS server. */
  verifyDkim(
    message: string,
  ): Promise<Array<{ domain: string; selector: string | undefined; result: string }>>;
  stop(): Promise<void>;
}

/**
 * `base: 'instant'` (the default) starts from INSTANT_UNLIMITED, the emulator before the API
 * budget and the SES clock, which most rule tests here assume; `'service'` starts from the
 * emulator's own defaults (the realistic service).
 */
export async function startRig(
  opts: Partial<Omit<SesEmulatorOptions, 'dns' | 'clock'>> = {},
  base: 'instant' | 'service' = 'instant',
): Promise<Rig> {
  const clock = new VirtualClock(START);
  const dns = await EmbeddedDnsServer.start();
  dns.store.addZone(DOMAIN);
  dns.store.addZone('example.org');
  const ses = await SesEmulator.start({
    dns: { host: dns.host, port: dns.port },
    clock,
    dnsTimeoutMs: 300,
    ...(base === 'instant' ? INSTANT_UNLIMITED : {}),
    ...opts,
  });
  const clients: SESv2Client[] = [];
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`${dns.host}:${dns.port}`]);
  return {
    clock,
    dns,
    ses,
    client(region = 'ap-northeast-1', clientOpts = {}) {
      const client = new SESv2Client({
        endpoint: ses.endpoint,
        region,
        credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'not-a-secret' },
        maxAttempts: clientOpts.maxAttempts ?? 1,
      });
      clients.push(client);
      return client;
    },
    publish(selector, publicKeyBase64, domain = DOMAIN) {
      dns.store.setTxt(`${selector}._domainkey.${domain}`, `v=DKIM1; k=rsa; p=${publicKeyBase64}`);
    },
    unpublish(selector, domain = DOMAIN) {
      dns.store.removeTxt(`${selector}._domainkey.${domain}`);
    },
    async verifyDkim(message) {
      const result = await dkimVerify(message, {
        resolver: (name: string, type: string) => resolver.resolve(name, type) as Promise<string[][]>,
        curTime: clock.now(),
      });
      return result.results.map((entry) => ({
        domain: entry.signingDomain,
        selector: entry.selector,
        result: entry.status.result,
      }));
    },
    async stop() {
      for (const client of clients) client.destroy();
      await ses.stop();
      await dns.stop();
    },
  };
}

export interface TestKey {
  /** base64 DER PKCS #8, what DomainSigningPrivateKey carries. */
  readonly privateKeyBase64: string;
  /** base64 DER PKCS #1 of the same key. */
  readonly pkcs1Base64: string;
  /** base64 DER SubjectPublicKeyInfo, what p= carries. */
  readonly publicKeyBase64: string;
}

export function rsaKey(bits = 1024): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKeyBase64: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    pkcs1Base64: privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
