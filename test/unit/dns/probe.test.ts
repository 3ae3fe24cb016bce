import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { udpExchange } from '../../../emulator/dns/client.js';
import type { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { RrType } from '../../../emulator/dns/wire.js';
import { ConcurrencyLimiter } from '../../../src/adapters/dns/limiter.js';
import {
  AuthoritativeProbe,
  DISCOVERY_NAMESERVER,
  isGone,
  isPropagated,
  judgeTxt,
  RECURSIVE_PREFIX,
} from '../../../src/adapters/dns/probe.js';
import { REVOKED_RECORD_VALUE } from '../../../src/domain/record.js';
import type { ProbeResult } from '../../../src/ports.js';
import { testKey } from '../../support/keys.js';
import { dkim, newStore, startServersOnOnePort } from './support.js';

let key: string;
let otherKey: string;

beforeAll(async () => {
  key = (await testKey('probe-a')).publicKey;
  otherKey = (await testKey('probe-b')).publicKey;
});

function outcomes(result: ProbeResult): string[] {
  return result.answers.map((a) => a.outcome);
}

describe('AuthoritativeProbe against configured nameservers', () => {
  let server: EmbeddedDnsServer;
  let probe: AuthoritativeProbe;
  const zone = 'example.test';

  beforeEach(async () => {
    const store = newStore();
    store.addZone(zone);
    [server] = (await startServersOnOnePort(['127.0.0.1'], () => ({ store }))) as [EmbeddedDnsServer];
    probe = new AuthoritativeProbe({ nameservers: [`127.0.0.1:${server.port}`], timeoutMs: 300 });
  });

  afterEach(async () => {
    await server.stop();
  });

  it.each([
    ['match', () => dkim(key), 'match'],
    ['another key', () => dkim(otherKey), 'other-key'],
    ['a revoked record (p=)', () => REVOKED_RECORD_VALUE, 'revoked'],
    ['a broken record', () => 'v=DKIM1; k=rsa; p=not*base64', 'invalid'],
    ['a record with a wrong version', () => 'v=DKIM2; p=abc', 'invalid'],
  ])('tells %s apart', async (_label, value, expected) => {
    // Prepare
    const name = `sel._domainkey.${zone}`;
    server.store.setTxt(name, value());

    // Act
    const result = await probe.probe(name, key);

    // Assess
    expect(outcomes(result)).toEqual([expected]);
    expect(result.answers[0]?.served).toEqual([value()]);
    expect(result.answers[0]?.nameserver).toBe(`127.0.0.1:${server.port}`);
    expect(result.answers[0]?.address).toBe(`127.0.0.1:${server.port}`);
    expect(isPropagated(result)).toBe(expected === 'match');
  });

  it('reports missing for NXDOMAIN and for a name without a DKIM TXT (NODATA), with the reason', async () => {
    server.store.setTxt(`other._domainkey.${zone}`, 'unrelated');
    server.store.setA(`a._domainkey.${zone}`, '192.0.2.1');
    server.store.setTxt(`b._domainkey.${zone}`, 'google-site-verification=abc');

    const nx = await probe.probe(`none._domainkey.${zone}`, key);
    const nodata = await probe.probe(`a._domainkey.${zone}`, key);
    const notDkim = await probe.probe(`b._domainkey.${zone}`, key);

    expect(outcomes(nx)).toEqual(['missing']);
    expect(nx.answers[0]?.detail).toContain('NXDOMAIN');
    expect(outcomes(nodata)).toEqual(['missing']);
    expect(nodata.answers[0]?.detail).toContain('NODATA');
    expect(outcomes(notDkim)).toEqual(['missing']);
    expect(notDkim.answers[0]?.served).toEqual(['google-site-verification=abc']);
    expect(isGone(nx) && isGone(nodata) && isGone(notDkim)).toBe(true);
  });

  it('tells SERVFAIL, REFUSED and a silent server (timeout) apart', async () => {
    const name = `sel._domainkey.${zone}`;
    server.store.setTxt(name, dkim(key));

    server.setFault(name, 'servfail');
    const servfail = await probe.probe(name, key);
    server.setFault(name, 'drop');
    const timeout = await probe.probe(name, key);
    server.setFault(name, undefined);
    const refused = await probe.probe('sel._domainkey.not-served.test', key);

    expect(outcomes(servfail)).toEqual(['servfail']);
    expect(outcomes(timeout)).toEqual(['timeout']);
    expect(outcomes(refused)).toEqual(['refused']);
    for (const result of [servfail, timeout, refused]) {
      expect(isPropagated(result)).toBe(false);
      expect(isGone(result)).toBe(false);
    }
  });

  it('retries once over UDP when the first query goes unanswered', async () => {
    // Prepare: a relay that swallows the first datagram and forwards the rest.
    const name = `sel._domainkey.${zone}`;
    server.store.setTxt(name, dkim(key));
    const relay = createSocket('udp4');
    let received = 0;
    relay.on('message', (query, from) => {
      received++;
      if (received === 1) return;
      void udpExchange(server.host, server.port, query).then((answer) =>
        relay.send(answer, from.port, from.address),
      );
    });
    await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
    try {
      const viaRelay = new AuthoritativeProbe({
        nameservers: [`127.0.0.1:${relay.address().port}`],
        timeoutMs: 300,
      });

      // Act
      const result = await viaRelay.probe(name, key);

      // Assess
      expect(outcomes(result)).toEqual(['match']);
      expect(received).toBe(2);
    } finally {
      relay.close();
    }
  });

  it('with no expected key, reports what is served: missing when absent, the key otherwise', async () => {
    const name = `sel._domainkey.${zone}`;
    expect(outcomes(await probe.probe(name, undefined))).toEqual(['missing']);
    server.store.setTxt(name, dkim(otherKey));
    const served = await probe.probe(name, undefined);
    expect(outcomes(served)).toEqual(['other-key']);
    expect(served.answers[0]?.served).toEqual([dkim(otherKey)]);
    server.store.setTxt(name, REVOKED_RECORD_VALUE);
    expect(outcomes(await probe.probe(name, undefined))).toEqual(['revoked']);
  });

  it('ignores other TXT records at the name, but two DKIM records are invalid', async () => {
    const name = `sel._domainkey.${zone}`;
    server.store.setTxt(name, dkim(key));
    server.store.addTxt(name, 'some-verification-token=1');
    const withOther = await probe.probe(name, key);
    expect(outcomes(withOther)).toEqual(['match']);
    expect(withOther.answers[0]?.served).toHaveLength(2);

    server.store.addTxt(name, dkim(otherKey));
    const twoKeys = await probe.probe(name, key);
    expect(outcomes(twoKeys)).toEqual(['invalid']);
    expect(twoKeys.answers[0]?.detail).toContain('2 DKIM records');
  });

  it('follows a CNAME inside the served zones and keeps the chain', async () => {
    server.store.addZone('keys.example.net');
    const name = `sel._domainkey.${zone}`;
    server.store.setCname(name, 'sel.keys.example.net');
    server.store.setTxt('sel.keys.example.net', dkim(key));

    const result = await probe.probe(name, key);

    expect(outcomes(result)).toEqual(['match']);
    expect(result.answers[0]?.cnames).toEqual(['sel.keys.example.net']);
  });

  it('follows a CNAME the server does not resolve itself by asking again for the target', async () => {
    // The chain leaves this server's zones: the probe asks the (configured) servers for the target.
    const name = `sel._domainkey.${zone}`;
    server.store.setCname(name, 'sel.keys.elsewhere.test');
    const result = await probe.probe(name, key);
    expect(result.answers.map((a) => [a.outcome, a.cnames])).toEqual([
      ['refused', ['sel.keys.elsewhere.test']],
      ['refused', ['sel.keys.elsewhere.test']],
    ]);
  });

  it('also asks recursive resolvers (RD=1) and lists them as extra answers', async () => {
    const name = `sel._domainkey.${zone}`;
    server.store.setTxt(name, dkim(key));
    const withRecursive = new AuthoritativeProbe({
      nameservers: [`127.0.0.1:${server.port}`],
      alsoRecursive: [`127.0.0.1:${server.port}`],
      timeoutMs: 300,
    });

    const result = await withRecursive.probe(name, key);

    expect(result.answers.map((a) => [a.nameserver, a.outcome])).toEqual([
      [`127.0.0.1:${server.port}`, 'match'],
      [`${RECURSIVE_PREFIX}127.0.0.1:${server.port}`, 'match'],
    ]);
    expect(isPropagated(result)).toBe(true);
  });
});

describe('AuthoritativeProbe: a 2048-bit record through TCP fallback', () => {
  it('arrives intact when the UDP answer is truncated', async () => {
    // Prepare: the server caps UDP answers at 256 bytes, far below a 2048-bit record.
    const store = newStore();
    store.addZone('big.test');
    const [server] = (await startServersOnOnePort(['127.0.0.1'], () => ({
      store,
      maxUdpPayload: 256,
    }))) as [EmbeddedDnsServer];
    try {
      const name = 'sel._domainkey.big.test';
      const value = dkim(key);
      expect(Buffer.byteLength(value)).toBeGreaterThan(255);
      store.setTxt(name, value);
      const probe = new AuthoritativeProbe({ nameservers: [`127.0.0.1:${server.port}`], timeoutMs: 500 });

      // Act
      const result = await probe.probe(name, key);

      // Assess
      expect(outcomes(result)).toEqual(['match']);
      expect(result.answers[0]?.served).toEqual([value]);
      const asked = server.requests().filter((r) => r.name === name);
      expect(asked.map((r) => [r.transport, r.truncated])).toEqual([
        ['udp', true],
        ['tcp', false],
      ]);
    } finally {
      await server.stop();
    }
  });
});

describe('AuthoritativeProbe: NS discovery by walking up', () => {
  // ns1 → 127.0.0.1, ns2 → 127.0.0.2 (same port); delegated.test's ns → 127.0.0.3.
  let servers: EmbeddedDnsServer[];
  let primary: EmbeddedDnsServer;
  let secondary: EmbeddedDnsServer;
  let delegated: EmbeddedDnsServer;
  const zone = 'walk.test';

  beforeAll(async () => {
    const shared = newStore();
    const delegatedStore = newStore();
    servers = await startServersOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3'], (_host, index) => ({
      store: index === 2 ? delegatedStore : shared,
    }));
    [primary, secondary, delegated] = servers as [EmbeddedDnsServer, EmbeddedDnsServer, EmbeddedDnsServer];
    // The primary's store also plays the recursive resolver: it knows both zones.
    shared.addZone(zone, { nameservers: [`ns1.${zone}`, `ns2.${zone}`] });
    shared.setA(`ns1.${zone}`, '127.0.0.1');
    shared.setA(`ns2.${zone}`, '127.0.0.2');
    shared.addZone('delegated.test', { nameservers: ['ns.delegated.test'] });
    shared.setA('ns.delegated.test', '127.0.0.3');
    delegatedStore.addZone('delegated.test', { nameservers: ['ns.delegated.test'] });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  function discoveringProbe(options: { limiter?: ConcurrencyLimiter } = {}): AuthoritativeProbe {
    return new AuthoritativeProbe({
      resolvers: [`127.0.0.1:${primary.port}`],
      defaultPort: primary.port,
      timeoutMs: 500,
      addressFamilies: [4],
      ...options,
    });
  }

  it('finds the zone and both nameservers, and names the one that lags', async () => {
    // Prepare
    const name = `lag._domainkey.${zone}`;
    primary.store.setTxt(name, dkim(otherKey));
    secondary.freeze();
    primary.store.setTxt(name, dkim(key));
    const probe = discoveringProbe();

    try {
      // Act
      const lagging = await probe.probe(name, key);
      secondary.thaw();
      const caughtUp = await probe.probe(name, key);

      // Assess
      expect(lagging.answers.map((a) => [a.nameserver, a.address, a.outcome])).toEqual([
        [`ns1.${zone}`, `127.0.0.1:${primary.port}`, 'match'],
        [`ns2.${zone}`, `127.0.0.2:${primary.port}`, 'other-key'],
      ]);
      expect(isPropagated(lagging)).toBe(false);
      expect(isPropagated(caughtUp)).toBe(true);
    } finally {
      secondary.thaw();
    }
  });

  it('asks authoritative servers with RD=0 and discovers once per zone for many records', async () => {
    // Prepare
    const names = Array.from({ length: 40 }, (_, i) => `s${i}._domainkey.${zone}`);
    for (const name of names) primary.store.setTxt(name, dkim(key));
    const limiter = new ConcurrencyLimiter(4);
    const probe = discoveringProbe({ limiter });
    const before = primary.requests().length;

    // Act
    const results = await Promise.all(names.map((name) => probe.probe(name, key)));

    // Assess
    expect(results.every(isPropagated)).toBe(true);
    const discovery = primary
      .requests()
      .slice(before)
      .filter((r) => r.type === RrType.SOA || r.type === RrType.NS);
    expect(discovery.map((r) => r.type).sort()).toEqual([RrType.NS, RrType.SOA].sort());
    expect(limiter.active).toBe(0);
  });

  it('follows a CNAME to another zone and asks that zone’s own nameservers', async () => {
    // Prepare: the selector is an alias into a zone byodkim controls (a delegated ring).
    const name = `ring1._domainkey.${zone}`;
    primary.store.setCname(name, 'ring1.delegated.test');
    // The primary's copy of delegated.test is stale; only the real server of that zone counts.
    primary.store.setTxt('ring1.delegated.test', dkim(otherKey));
    delegated.store.setTxt('ring1.delegated.test', dkim(key));
    const probe = discoveringProbe();

    // Act
    const result = await probe.probe(name, key);

    // Assess
    expect(result.answers.map((a) => [a.nameserver, a.outcome, a.cnames])).toEqual([
      [`ns1.${zone}`, 'match', ['ring1.delegated.test']],
      [`ns2.${zone}`, 'match', ['ring1.delegated.test']],
      ['ns.delegated.test', 'match', ['ring1.delegated.test']],
    ]);
    expect(result.answers[2]?.address).toBe(`127.0.0.3:${primary.port}`);

    // The record leaves the delegated zone: gone everywhere, though the CNAME stays.
    delegated.store.removeTxt('ring1.delegated.test');
    const gone = await probe.probe(name, undefined);
    expect(outcomes(gone)).toEqual(['missing', 'missing', 'missing']);
    expect(isGone(gone)).toBe(true);
  });

  it('reports a discovery failure as an answer instead of throwing', async () => {
    const probe = new AuthoritativeProbe({
      resolvers: [`127.0.0.1:${primary.port}`],
      defaultPort: primary.port,
      timeoutMs: 300,
    });
    // The "resolver" refuses names outside its zones.
    const result = await probe.probe('sel._domainkey.unknown.invalid', key);
    expect(result.answers).toHaveLength(1);
    expect(result.answers[0]?.nameserver).toBe(DISCOVERY_NAMESERVER);
    expect(result.answers[0]?.outcome).toBe('refused');
    expect(isPropagated(result) || isGone(result)).toBe(false);
  });
});

describe('judgeTxt', () => {
  it.each([
    [[], 'missing'],
    [['v=spf1 -all'], 'missing'],
    [[REVOKED_RECORD_VALUE], 'revoked'],
    [['v=DKIM1; p=***'], 'invalid'],
  ] as const)('%j with no expected key → %s', (served, outcome) => {
    expect(judgeTxt(served, undefined).outcome).toBe(outcome);
  });

  it('matches keys as decoded keys, not strings (folding whitespace in p=)', () => {
    const folded = `v=DKIM1; k=rsa; p=${key.slice(0, 100)} ${key.slice(100)}`;
    expect(judgeTxt([folded], key).outcome).toBe('match');
  });
});

describe('ConcurrencyLimiter', () => {
  it('never runs more than its maximum at once', async () => {
    const limiter = new ConcurrencyLimiter(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setImmediate(resolve));
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(limiter.active).toBe(0);
    expect(limiter.pending).toBe(0);
  });
});
