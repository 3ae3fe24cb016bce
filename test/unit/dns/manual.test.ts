import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualHandOffPublisher, utcStamp } from '../../../src/adapters/dns/manual.js';
import { Rfc2136Publisher } from '../../../src/adapters/dns/rfc2136.js';
import { FileNotifier } from '../../../src/adapters/notify/file.js';
import { StdoutNotifier } from '../../../src/adapters/notify/stdout.js';
import { buildDnsPublisher, buildNotifier, buildProbe } from '../../../src/config/dns.js';
import { type LoadedConfig, parseConfig, type ResolvedDomain } from '../../../src/config/load.js';
import { buildDkimRecordValue, parseDkimRecord } from '../../../src/domain/record.js';
import { ByodkimError } from '../../../src/errors.js';
import type { DnsRecordChange, Notification, Notifier } from '../../../src/ports.js';
import { describeDnsPublisherContract, type HandedOffRecord } from '../../contract/dns-publisher.js';
import { testKey } from '../../support/keys.js';
import { killedWriter } from '../../support/killed-writer.js';

const DOMAIN = 'example.com';
const AT = new Date('2026-03-01T09:30:15.123Z');

let newKey: string;
let oldKey: string;
let dir: string;

beforeAll(async () => {
  newKey = (await testKey('manual-new')).publicKey;
  oldKey = (await testKey('manual-old')).publicKey;
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hand-off-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const contractDirs: string[] = [];
afterAll(async () => {
  await Promise.all(contractDirs.map((d) => rm(join(d, '..'), { recursive: true, force: true })));
});

class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async notify(notification: Notification): Promise<void> {
    this.sent.push(notification);
  }
}

function batch(): DnsRecordChange[] {
  return [
    {
      action: 'upsert',
      name: `sel2._domainkey.${DOMAIN}`,
      value: buildDkimRecordValue(newKey),
      selector: 'sel2',
      reason: 'publish next key',
    },
    {
      action: 'delete',
      name: `sel1._domainkey.${DOMAIN}`,
      value: buildDkimRecordValue(oldKey),
      ttl: 600,
      selector: 'sel1',
      reason: 'retire previous key',
      notBefore: '2026-03-08T00:00:00.000Z',
    },
  ];
}

/** RFC 4180 CSV: quoted fields with doubled quotes, CRLF rows. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ''])));
}

/** The DNS team's view: each notified request as its JSON file reads, then any JSON file nobody was told of. */
async function received(outDir: string, notifier: RecordingNotifier): Promise<HandedOffRecord[][]> {
  const notified = notifier.sent.flatMap((n) =>
    n.kind === 'dns-hand-off' ? (n.files ?? []).filter((f) => f.endsWith('.json')) : [],
  );
  const all = (await readdir(outDir).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(outDir, f));
  const files = [...notified, ...all.filter((f) => !notified.includes(f))];
  return Promise.all(
    files.map(async (file) =>
      (JSON.parse(await readFile(file, 'utf8')) as HandedOffRecord[]).map((r) => ({
        action: r.action,
        name: r.name,
        value: r.value,
        ...(r.notBefore === undefined ? {} : { notBefore: r.notBefore }),
      })),
    ),
  );
}

describeDnsPublisherContract('ManualHandOffPublisher', 'manual', async () => {
  const outDir = join(await mkdtemp(join(tmpdir(), 'hand-off-contract-')), 'requests');
  contractDirs.push(outDir);
  const notifier = new RecordingNotifier();
  // One second for every batch: requests made within it must still be kept apart.
  const publisher = new ManualHandOffPublisher({ outDir, notifier, now: () => AT });
  return { publisher, zone: DOMAIN, handOffs: () => received(outDir, notifier) };
});

describe('ManualHandOffPublisher', () => {
  it('writes CSV, zone lines and JSON that parse back with the real key, and notifies once', async () => {
    // Prepare
    const notifier = new RecordingNotifier();
    const publisher = new ManualHandOffPublisher({ outDir: dir, ttl: 300, notifier, now: () => AT });

    // Act
    const outcome = await publisher.apply(DOMAIN, batch());

    // Assess
    expect(outcome).toBe('handed-off');
    expect(publisher.mode).toBe('manual');
    const base = `${DOMAIN}-20260301T093015Z`;
    expect((await readdir(dir)).sort()).toEqual([`${base}.csv`, `${base}.json`, `${base}.zone`]);

    const csv = parseCsv(await readFile(join(dir, `${base}.csv`), 'utf8'));
    expect(csv.map((r) => [r.action, r.name, r.ttl, r.not_before])).toEqual([
      ['add', `sel2._domainkey.${DOMAIN}`, '300', ''],
      ['remove', `sel1._domainkey.${DOMAIN}`, '600', '2026-03-08T00:00:00.000Z'],
    ]);
    expect(csv[0]?.value).toBe(buildDkimRecordValue(newKey));
    expect(csv[0]?.value).not.toContain('customerProvidedPublicKey');
    const parsed = parseDkimRecord(csv[0]?.value ?? '');
    expect(parsed.ok && parsed.record.publicKey).toBe(newKey);

    const zone = await readFile(join(dir, `${base}.zone`), 'utf8');
    const strings = [...zone.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
    expect(strings.length).toBeGreaterThan(2);
    for (const s of strings) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
    const addLine = zone.split('\n').find((l) => l.startsWith(`sel2._domainkey.${DOMAIN}. 300 IN TXT`));
    expect(addLine).toBeDefined();
    const joined = [...(addLine ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(joined).toBe(buildDkimRecordValue(newKey));
    expect(zone).toContain('; REMOVE (not before 2026-03-08T00:00:00.000Z)');

    const json = JSON.parse(await readFile(join(dir, `${base}.json`), 'utf8')) as Array<{
      action: string;
      value: string;
      chunks: string[];
      notBefore?: string;
    }>;
    expect(json.map((r) => r.action)).toEqual(['add', 'remove']);
    expect(json[0]?.chunks.join('')).toBe(json[0]?.value);
    expect(json[1]?.notBefore).toBe('2026-03-08T00:00:00.000Z');

    expect(notifier.sent).toHaveLength(1);
    const sent = notifier.sent[0];
    expect(sent?.kind).toBe('dns-hand-off');
    if (sent?.kind === 'dns-hand-off') {
      expect(sent.domain).toBe(DOMAIN);
      expect(sent.add.map((c) => c.name)).toEqual([`sel2._domainkey.${DOMAIN}`]);
      expect(sent.remove.map((c) => [c.name, c.notBefore])).toEqual([
        [`sel1._domainkey.${DOMAIN}`, '2026-03-08T00:00:00.000Z'],
      ]);
      expect(sent.files?.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
        `${base}.csv`,
        `${base}.json`,
        `${base}.zone`,
      ]);
    }
  });

  it('names a second request in the same second with -2, all three files (and creates outDir)', async () => {
    const notifier = new RecordingNotifier();
    const publisher = new ManualHandOffPublisher({ outDir: join(dir, 'nested'), notifier, now: () => AT });
    await publisher.apply(DOMAIN, batch());
    await publisher.apply(DOMAIN, batch().slice(0, 1));
    const files = (await readdir(join(dir, 'nested'))).sort();
    expect(files).toHaveLength(6);
    expect(files.filter((f) => f.includes('-20260301T093015Z-2.'))).toHaveLength(3);
  });

  it('clears the temp file of a request killed mid-write when it writes the next one', async () => {
    const outDir = join(dir, 'killed');
    const publisher = new ManualHandOffPublisher({
      outDir,
      notifier: new RecordingNotifier(),
      now: () => AT,
    });
    await publisher.apply(DOMAIN, batch());
    killedWriter(join(outDir, `${DOMAIN}-20260301T093016Z.json`), '[]');
    expect((await readdir(outDir)).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);

    await publisher.apply(DOMAIN, batch());

    const files = await readdir(outDir);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files).toHaveLength(6);
  });

  it('fails with the written files named when nobody can be told', async () => {
    const publisher = new ManualHandOffPublisher({
      outDir: dir,
      now: () => AT,
      notifier: {
        notify: () => Promise.reject(new Error('SNS is down')),
      },
    });
    const error = await publisher.apply(DOMAIN, batch()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ByodkimError);
    expect((error as ByodkimError).code).toBe('HAND_OFF_NOTIFY_FAILED');
    expect((error as ByodkimError).message).toContain(`${DOMAIN}-20260301T093015Z.csv`);
  });

  it('stamps file names in UTC, sortable', () => {
    expect(utcStamp(new Date('2026-12-31T23:59:59.999Z'))).toBe('20261231T235959Z');
  });
});

describe('notifiers', () => {
  it('StdoutNotifier writes a short message to its stream, naming records but not printing keys', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const notifier = new StdoutNotifier({ stream });
    const [add, remove] = batch() as [DnsRecordChange, DnsRecordChange];

    await notifier.notify({
      kind: 'dns-hand-off',
      domain: DOMAIN,
      add: [add],
      remove: [remove],
      files: ['x.csv'],
    });

    expect(text).toContain(`DNS hand-off for ${DOMAIN}`);
    expect(text).toContain(`sel2._domainkey.${DOMAIN}`);
    expect(text).toContain('not before 2026-03-08T00:00:00.000Z');
    expect(text).toContain('x.csv');
    expect(text).not.toContain(newKey.slice(0, 40));
  });

  it('FileNotifier appends one JSON line per notification', async () => {
    const path = join(dir, 'log', 'notifications.jsonl');
    const notifier = new FileNotifier({ path, now: () => AT });
    await notifier.notify({
      kind: 'failure',
      domain: DOMAIN,
      reason: 'SES_FAILED',
      message: 'SES said FAILED',
    });
    await notifier.notify({
      kind: 'rotated',
      domain: DOMAIN,
      selector: 'sel2',
      message: 'signing with sel2',
    });
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as { at: string; kind: string })).toEqual([
      expect.objectContaining({ at: AT.toISOString(), kind: 'failure', reason: 'SES_FAILED' }),
      expect.objectContaining({ kind: 'rotated', selector: 'sel2' }),
    ]);
  });
});

describe('DNS wiring (src/config/dns.ts)', () => {
  function load(yaml: string) {
    return parseConfig(yaml, join(dir, 'byodkim.config.yaml'));
  }

  function onlyDomain(loaded: LoadedConfig): ResolvedDomain {
    const [domain] = loaded.domains;
    if (domain === undefined) throw new Error('the test config has no domain');
    return domain;
  }

  it('builds the manual publisher with the configured notifiers (stdout and file), one hand-off each', async () => {
    const loaded = load(
      [
        'dns: { provider: manual, outDir: requests, ttl: 900 }',
        'notify: [{ type: stdout }, { type: file, path: notes.jsonl }]',
        'domains: [{ domain: example.com, regions: [us-east-1] }]',
      ].join('\n'),
    );
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const publisher = await buildDnsPublisher(loaded, onlyDomain(loaded), {
      stdout,
      clock: { now: () => AT },
    });
    expect(publisher.description).toContain(join(dir, 'requests'));

    await publisher.apply(DOMAIN, batch());

    expect(printed).toContain('DNS hand-off for example.com');
    expect((await readFile(join(dir, 'notes.jsonl'), 'utf8')).trimEnd().split('\n')).toHaveLength(1);
    const csv = parseCsv(await readFile(join(dir, 'requests', `${DOMAIN}-20260301T093015Z.csv`), 'utf8'));
    expect(csv[0]?.ttl).toBe('900');
  });

  it('builds the RFC 2136 publisher with the TSIG secret from the environment or a key file', async () => {
    await writeFile(
      join(dir, 'tsig.key'),
      `key "upd" { algorithm hmac-sha512; secret "c2VjcmV0c2VjcmV0"; };\n`,
    );
    const loaded = load(
      [
        'dns: { provider: rfc2136, server: "127.0.0.1:5300", zone: example.com, tsig: { name: upd, secretFile: tsig.key } }',
        'domains: [{ domain: example.com, regions: [us-east-1] }]',
      ].join('\n'),
    );
    const publisher = await buildDnsPublisher(loaded, onlyDomain(loaded));
    expect(publisher).toBeInstanceOf(Rfc2136Publisher);
    expect(publisher.mode).toBe('automatic');
    expect(publisher.description).toBe('rfc2136:127.0.0.1:5300 zone example.com (TSIG key upd)');

    const fromEnv = load(
      [
        'dns: { provider: rfc2136, server: ns1.example.com, tsig: { name: upd, secretEnv: UPD_SECRET } }',
        'domains: [{ domain: example.com, regions: [us-east-1] }]',
      ].join('\n'),
    );
    const missing = await buildDnsPublisher(fromEnv, onlyDomain(fromEnv), { env: {} }).catch((e) => e);
    expect((missing as ByodkimError).code).toBe('TSIG_SECRET_MISSING');
    expect((missing as ByodkimError).exitCode).toBe(2);
  });

  it('refuses notifier types it cannot build unless they are supplied', () => {
    const loaded = load(
      [
        'notify: [{ type: sns, topicArn: "arn:aws:sns:us-east-1:123456789012:dkim" }]',
        'domains: [{ domain: example.com, regions: [us-east-1] }]',
      ].join('\n'),
    );
    expect(() => buildNotifier(loaded.config)).toThrow(/notify\[0\]\.type: "sns"/);
    const supplied = new RecordingNotifier();
    expect(buildNotifier(loaded.config, { others: () => supplied })).toBe(supplied);
  });

  it('builds the probe from probe settings', async () => {
    const loaded = load(
      [
        'probe: { nameservers: ["127.0.0.1:1"], timeoutMs: 100, concurrency: 3 }',
        'domains: [{ domain: example.com, regions: [us-east-1] }]',
      ].join('\n'),
    );
    const probe = buildProbe(loaded.config);
    expect(probe.limiter.max).toBe(3);
    const result = await probe.probe(`sel._domainkey.${DOMAIN}`, newKey);
    expect(result.answers.map((a) => [a.nameserver, a.outcome])).toEqual([['127.0.0.1:1', 'timeout']]);
  });
});
