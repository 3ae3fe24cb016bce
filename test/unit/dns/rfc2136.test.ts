import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { Opcode } from '../../../emulator/dns/wire.js';
import { Rfc2136Publisher } from '../../../src/adapters/dns/rfc2136.js';
import type { TsigKey } from '../../../src/adapters/dns/tsig.js';
import { loadTsigKey } from '../../../src/adapters/dns/tsig-key.js';
import { REVOKED_RECORD_VALUE, splitTxtValue } from '../../../src/domain/record.js';
import { ByodkimError, InputError, ServiceError } from '../../../src/errors.js';
import type { DnsRecordChange } from '../../../src/ports.js';
import { describeDnsPublisherContract } from '../../contract/dns-publisher.js';
import { testKey } from '../../support/keys.js';
import { dkim, newStore } from './support.js';

const ZONE = 'pub.test';

let keyA: string;
let keyB: string;
beforeAll(async () => {
  keyA = dkim((await testKey('rfc2136-a')).publicKey);
  keyB = dkim((await testKey('rfc2136-b')).publicKey);
});

function change(action: 'upsert' | 'delete', selector: string, value: string, zone = ZONE): DnsRecordChange {
  return { action, name: `${selector}._domainkey.${zone}`, value, selector, reason: 'test' };
}

function tsigKey(algorithm: TsigKey['algorithm'] = 'hmac-sha256'): TsigKey {
  return { name: 'byodkim-update', algorithm, secret: randomBytes(32).toString('base64') };
}

/** TXT values at a name, joined, sorted. */
function served(server: EmbeddedDnsServer, name: string): string[] {
  return server.store
    .getTxt(name)
    .map((chunks) => chunks.join(''))
    .sort();
}

function updates(server: EmbeddedDnsServer) {
  return server.requests().filter((r) => r.opcode === Opcode.UPDATE);
}

async function rejection(promise: Promise<unknown>): Promise<ByodkimError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ByodkimError);
    return error as ByodkimError;
  }
  throw new Error('expected a rejection');
}

describe('RFC 2136 against the embedded DNS server', () => {
  const CONTRACT_ZONE = 'contract.test';
  const contractKey = tsigKey();
  let contractServer: EmbeddedDnsServer;
  beforeAll(async () => {
    const store = newStore();
    store.addZone(CONTRACT_ZONE);
    contractServer = await EmbeddedDnsServer.start({ store, tsigKeys: [contractKey] });
  });
  afterAll(async () => {
    await contractServer.stop();
  });

  describeDnsPublisherContract('Rfc2136Publisher (embedded DNS server)', 'automatic', () => ({
    publisher: new Rfc2136Publisher({
      server: `127.0.0.1:${contractServer.port}`,
      tsig: contractKey,
      timeoutMs: 2000,
    }),
    zone: CONTRACT_ZONE,
    served: async (name) => served(contractServer, name),
    plant: async (name, value) => contractServer.store.addTxt(name, value),
  }));
});

describe.each<TsigKey['algorithm']>(['hmac-sha256', 'hmac-sha512'])('Rfc2136Publisher (%s)', (algorithm) => {
  let server: EmbeddedDnsServer;
  let key: TsigKey;
  let publisher: Rfc2136Publisher;

  beforeEach(async () => {
    key = tsigKey(algorithm);
    const store = newStore();
    store.addZone(ZONE);
    store.addZone('other.test');
    server = await EmbeddedDnsServer.start({ store, tsigKeys: [key] });
    publisher = new Rfc2136Publisher({
      server: `127.0.0.1:${server.port}`,
      tsig: key,
      ttl: 120,
      timeoutMs: 2000,
    });
  });

  afterEach(async () => {
    await server.stop();
  });

  it('adds a batch of records in ONE signed update, zone found from the SOA', async () => {
    // Prepare
    const serial = server.store.serial(ZONE);

    // Act
    const outcome = await publisher.apply(ZONE, [
      change('upsert', 'sel1', keyA),
      change('upsert', 'sel2', keyB),
    ]);

    // Assess
    expect(outcome).toBe('applied');
    expect(publisher.mode).toBe('automatic');
    expect(served(server, `sel1._domainkey.${ZONE}`)).toEqual([keyA]);
    expect(served(server, `sel2._domainkey.${ZONE}`)).toEqual([keyB]);
    expect(server.store.getTxt(`sel1._domainkey.${ZONE}`)[0]).toEqual(splitTxtValue(keyA));
    expect(server.store.get(`sel1._domainkey.${ZONE}`, 'TXT')?.ttl).toBe(120);
    expect(updates(server)).toHaveLength(1);
    expect(updates(server)[0]?.tsigKey).toBe(key.name);
    expect(server.store.serial(ZONE)).toBe(serial + 1);
  });

  it('replaces an earlier DKIM value (e.g. revocation) in the same message and leaves other TXT alone', async () => {
    const name = `sel1._domainkey.${ZONE}`;
    server.store.setTxt(name, keyA);
    server.store.addTxt(name, 'some-verification=42');
    const serial = server.store.serial(ZONE);

    await publisher.apply(ZONE, [change('upsert', 'sel1', REVOKED_RECORD_VALUE)]);

    expect(served(server, name)).toEqual(['some-verification=42', REVOKED_RECORD_VALUE].sort());
    expect(server.store.serial(ZONE)).toBe(serial + 1);
  });

  it('deletes a record published with other character-string boundaries (as served, not as we would split it)', async () => {
    const name = `hand._domainkey.${ZONE}`;
    // A DNS team pasted it in 100-byte strings.
    const chunks = keyA.match(/.{1,100}/g) as string[];
    server.store.setTxt(name, chunks);
    expect(chunks).not.toEqual(splitTxtValue(keyA));

    await publisher.apply(ZONE, [change('delete', 'hand', keyA)]);

    expect(served(server, name)).toEqual([]);
  });

  it('puts adds and deletes for several names into one message', async () => {
    server.store.setTxt(`old._domainkey.${ZONE}`, keyA);
    const serial = server.store.serial(ZONE);
    await publisher.apply(ZONE, [change('upsert', 'new', keyB), change('delete', 'old', keyA)]);
    expect(served(server, `new._domainkey.${ZONE}`)).toEqual([keyB]);
    expect(served(server, `old._domainkey.${ZONE}`)).toEqual([]);
    expect(updates(server)).toHaveLength(1);
    expect(server.store.serial(ZONE)).toBe(serial + 1);
  });

  it('sends one message per zone when a batch spans zones', async () => {
    await publisher.apply(ZONE, [change('upsert', 'a', keyA), change('upsert', 'b', keyB, 'other.test')]);
    expect(served(server, `a._domainkey.${ZONE}`)).toEqual([keyA]);
    expect(served(server, 'b._domainkey.other.test')).toEqual([keyB]);
    expect(updates(server)).toHaveLength(2);
  });

  it('refuses to add a TXT beside a CNAME (prerequisite), instead of a silent no-op', async () => {
    server.store.setCname(`ring._domainkey.${ZONE}`, 'ring.keys.other.test');
    const error = await rejection(publisher.apply(ZONE, [change('upsert', 'ring', keyA)]));
    expect(error.code).toBe('DNS_UPDATE_PREREQUISITE_FAILED');
    expect(error.message).toContain('CNAME');
    expect(error.message).toContain(`ring._domainkey.${ZONE}`);
  });

  it('names the TSIG key and server when the secret is wrong (BADSIG), never the secret', async () => {
    const wrong = { ...key, secret: randomBytes(32).toString('base64') };
    const bad = new Rfc2136Publisher({ server: `127.0.0.1:${server.port}`, tsig: wrong, timeoutMs: 2000 });

    const error = await rejection(bad.apply(ZONE, [change('upsert', 'sel1', keyA)]));

    expect(error).toBeInstanceOf(ServiceError);
    expect(error.code).toBe('DNS_UPDATE_TSIG_REFUSED');
    expect(error.message).toContain(`TSIG key ${key.name} refused by 127.0.0.1:${server.port}`);
    expect(error.message).toContain('BADSIG');
    expect(error.message).toContain(ZONE);
    expect(JSON.stringify({ m: error.message, c: error.context })).not.toContain(wrong.secret);
    expect(JSON.stringify({ m: error.message, c: error.context })).not.toContain(key.secret);
    expect(served(server, `sel1._domainkey.${ZONE}`)).toEqual([]);
  });

  it('reports an unknown key name as BADKEY', async () => {
    const unknown = { ...key, name: 'nobody-knows-me' };
    const bad = new Rfc2136Publisher({ server: `127.0.0.1:${server.port}`, tsig: unknown, timeoutMs: 2000 });
    const error = await rejection(bad.apply(ZONE, [change('upsert', 'sel1', keyA)]));
    expect(error.code).toBe('DNS_UPDATE_TSIG_REFUSED');
    expect(error.message).toContain('TSIG key nobody-knows-me refused by');
    expect(error.message).toContain('BADKEY');
  });

  it('fails clearly when no served zone holds the name, and checks a configured zone', async () => {
    const none = await rejection(
      publisher.apply('nowhere.test', [change('upsert', 's', keyA, 'nowhere.test')]),
    );
    expect(none.code).toBe('DNS_ZONE_NOT_FOUND');
    expect(none.message).toContain('s._domainkey.nowhere.test');

    const configured = new Rfc2136Publisher({ server: `127.0.0.1:${server.port}`, zone: ZONE, tsig: key });
    const outside = await rejection(
      configured.apply('other.test', [change('upsert', 's', keyA, 'other.test')]),
    );
    expect(outside).toBeInstanceOf(InputError);
    expect(outside.code).toBe('DNS_NOT_IN_ZONE');
  });

  it('maps a server that is not authoritative for the configured zone (NOTAUTH)', async () => {
    const wrongZone = new Rfc2136Publisher({
      server: `127.0.0.1:${server.port}`,
      zone: 'elsewhere.test',
      tsig: key,
    });
    const error = await rejection(
      wrongZone.apply('elsewhere.test', [change('upsert', 's', keyA, 'elsewhere.test')]),
    );
    expect(error.code).toBe('DNS_UPDATE_TSIG_REFUSED');
    expect(error.message).toContain('NOTAUTH');
    expect(error.message).toContain('elsewhere.test');
  });

  it('times out with a retryable error when the server stays silent', async () => {
    server.setFault(ZONE, 'drop');
    const quick = new Rfc2136Publisher({
      server: `127.0.0.1:${server.port}`,
      zone: ZONE,
      tsig: key,
      timeoutMs: 200,
    });
    const error = await rejection(quick.apply(ZONE, [change('upsert', 'sel1', keyA)]));
    expect(error.code).toBe('DNS_UPDATE_TIMEOUT');
    expect((error as ServiceError).retryable).toBe(true);
  });
});

describe('loadTsigKey', () => {
  let dir: string;
  const secret = randomBytes(32).toString('base64');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsig-key-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the secret from an environment variable', async () => {
    const key = await loadTsigKey(
      { name: 'k', algorithm: 'hmac-sha256', secretEnv: 'MY_TSIG' },
      { env: { MY_TSIG: `${secret}\n` } },
    );
    expect(key).toEqual({ name: 'k', algorithm: 'hmac-sha256', secret });
  });

  it('reads a bare base64 secret file and a BIND key file (the file names the algorithm)', async () => {
    const bare = join(dir, 'bare.secret');
    await writeFile(bare, `${secret}\n`);
    expect((await loadTsigKey({ name: 'k', algorithm: 'hmac-sha256', secretFile: bare })).secret).toBe(
      secret,
    );

    const bind = join(dir, 'bind.key');
    await writeFile(
      bind,
      `key "other" {\n\talgorithm hmac-sha256;\n\tsecret "${randomBytes(32).toString('base64')}";\n};\n` +
        `key "byodkim-update" {\n\talgorithm hmac-sha512;\n\tsecret "${secret}";\n};\n`,
    );
    expect(
      await loadTsigKey({ name: 'byodkim-update.', algorithm: 'hmac-sha256', secretFile: bind }),
    ).toEqual({
      name: 'byodkim-update.',
      algorithm: 'hmac-sha512',
      secret,
    });
  });

  it('fails with the variable, file and key named, never the secret', async () => {
    const missing = await rejection(
      loadTsigKey({ name: 'k', algorithm: 'hmac-sha256', secretEnv: 'NOT_SET_ANYWHERE' }, { env: {} }),
    );
    expect(missing.code).toBe('TSIG_SECRET_MISSING');
    expect(missing.message).toContain('NOT_SET_ANYWHERE');

    const notBase64 = join(dir, 'bad.secret');
    await writeFile(notBase64, 'this is not base64 !!!');
    const invalid = await rejection(
      loadTsigKey({ name: 'k', algorithm: 'hmac-sha256', secretFile: notBase64 }),
    );
    expect(invalid.code).toBe('TSIG_SECRET_INVALID');
    expect(invalid.message).not.toContain('this is not');

    const wrongName = join(dir, 'wrong-name.key');
    await writeFile(wrongName, `key "someone-else" { algorithm hmac-sha256; secret "${secret}"; };`);
    const mismatch = await rejection(
      loadTsigKey({ name: 'k', algorithm: 'hmac-sha256', secretFile: wrongName }),
    );
    expect(mismatch.message).toContain('someone-else');
    expect(mismatch.message).not.toContain(secret);

    const absent = await rejection(
      loadTsigKey({ name: 'k', algorithm: 'hmac-sha256', secretFile: join(dir, 'absent') }),
    );
    expect(absent.code).toBe('TSIG_SECRET_UNREADABLE');
  });
});
