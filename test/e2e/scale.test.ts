import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../emulator/dns/server.js';
import { ZoneStore } from '../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../emulator/ses/server.js';
import { buildEngineDeps } from '../../src/config/engine.js';
import { parseConfig } from '../../src/config/load.js';
import { DAY_MS } from '../../src/domain/policy.js';
import { buildDkimRecordValue, dkimRecordName } from '../../src/domain/record.js';
import type { DomainState } from '../../src/domain/state.js';
import { applyDomain, forEachDomain } from '../../src/engine/reconcile.js';
import { testKey } from '../support/keys.js';

/**
 * Scale: a first pass over 2,000 domains × 2 regions with nothing due costs exactly one SES
 * read per identity and region, and the next pass none (counted by the emulator; asserted as
 * counts, not a time).
 */
const DOMAINS = 2_000;
const REGIONS = ['us-east-1', 'eu-west-1'];
const SELECTOR = 'mail-20260101-1';

describe('steady-state pass at fleet scale', () => {
  let dir: string;
  let dns: EmbeddedDnsServer;
  let ses: SesEmulator;
  const clock = new VirtualClock('2026-02-01T00:00:00Z');
  const names = Array.from({ length: DOMAINS }, (_, i) => `d${String(i).padStart(4, '0')}.example.net`);

  beforeAll(async () => {
    const key = await testKey('fleet', 1024);
    const store = new ZoneStore();
    store.addZone('example.net', { nameservers: ['ns1.example.net'] });
    for (const name of names)
      store.setTxt(dkimRecordName(SELECTOR, name), buildDkimRecordValue(key.publicKey));
    dns = await EmbeddedDnsServer.start({ store });
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      clock,
      ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
    });
    dir = await mkdtemp(join(tmpdir(), 'byodkim-scale-'));
    const credentials = { accessKeyId: 'AKIDSCALE', secretAccessKey: 'not-a-secret' };
    for (const region of REGIONS) {
      const client = new SESv2Client({ endpoint: ses.endpoint, region, credentials });
      for (let i = 0; i < names.length; i += 50) {
        await Promise.all(
          names.slice(i, i + 50).map((name) =>
            client.send(
              new CreateEmailIdentityCommand({
                EmailIdentity: name,
                DkimSigningAttributes: {
                  DomainSigningSelector: SELECTOR,
                  DomainSigningPrivateKey: key.toSesBase64(),
                },
              }),
            ),
          ),
        );
      }
      client.destroy();
    }
    await ses.verifyPending();
  }, 300_000);

  afterAll(async () => {
    await ses?.stop();
    await dns?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('makes exactly one SES read per identity and region, and nothing else', async () => {
    const yaml = [
      'keys: { type: file, dir: keys }',
      'state: { type: file, dir: state }',
      `probe: { nameservers: ["${dns.host}:${dns.port}"], concurrency: 64 }`,
      // The emulator is unlimited here, and so is byodkim's budget: this counts reads, not time
      // (the budget at SES's real rate is test/e2e/budget.test.ts and the bench).
      `aws: { endpoints: { sesv2: "${ses.endpoint}" }, sesRequestsPerSecond: 10000, sesBurst: 10000 }`,
      'dns: { provider: manual, outDir: dns-requests }',
      'domains:',
      ...names.map(
        (name) => `  - { domain: ${name}, regions: [${REGIONS.join(', ')}], selectorPrefix: mail }`,
      ),
    ].join('\n');
    const loaded = parseConfig(yaml, join(dir, 'byodkim.config.yaml'));
    process.env.AWS_ACCESS_KEY_ID = 'AKIDSCALE';
    process.env.AWS_SECRET_ACCESS_KEY = 'not-a-secret';
    const events: string[] = [];
    const deps = await buildEngineDeps(loaded, {
      clock,
      actor: { kind: 'test' },
      output: { event: (e) => events.push(e.type) },
    });
    const key = await testKey('fleet', 1024);
    const at = '2026-01-01T00:00:00.000Z';
    for (const name of names) {
      const vaultRef = await deps.vault.put(name, SELECTOR, key);
      const state: DomainState = {
        schema: 1,
        domain: name,
        keys: [
          {
            selector: SELECTOR,
            bits: 1024,
            publicKey: key.publicKey,
            vaultRef,
            origin: 'generated',
            createdAt: at,
            notAfter: new Date(Date.parse(at) + 365 * DAY_MS).toISOString(),
            status: 'active',
            statusSince: at,
            verifyStreak: 2,
          },
        ],
        history: [],
      };
      await deps.state.save(state, undefined);
    }
    ses.resetCounters();
    const { results } = await forEachDomain(loaded.domains, (d) => applyDomain(d, deps), { concurrency: 64 });
    expect(
      results
        .filter((r) => r.outcome !== 'ok')
        .map(
          (r) =>
            `${r.domain}: ${r.outcome} ${r.errors.join('; ')} ${r.plan?.warnings.map((w) => w.message).join('; ')}`,
        ),
    ).toEqual([]);
    const counters = ses.counters();
    const total = Object.entries(counters)
      .filter(([k]) => !k.includes('@'))
      .reduce((sum, [, n]) => sum + n, 0);
    expect(counters.GetEmailIdentity).toBe(DOMAINS * REGIONS.length);
    for (const region of REGIONS) expect(counters[`GetEmailIdentity@${region}`]).toBe(DOMAINS);
    expect(total).toBe(DOMAINS * REGIONS.length);

    // The next pass, an hour later with nothing due, leaves SES alone: the reads are remembered.
    clock.advance(3_600_000);
    ses.resetCounters();
    const again = await forEachDomain(loaded.domains, (d) => applyDomain(d, deps), { concurrency: 64 });
    expect(again.results.filter((r) => r.outcome !== 'ok')).toEqual([]);
    expect(ses.counters()).toEqual({});
  }, 300_000);
});
