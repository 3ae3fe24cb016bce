import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { skipUnlessTool } from '../../support/require-tool.js';

const skip = skipUnlessTool('named-checkzone');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checkzone-'));
  await writeFile(
    join(dir, 'byodkim.config.yaml'),
    'domains:\n  - domain: mail-a.example.net\n    regions: [us-east-1]\n  - domain: mail-b.example.net\n    regions: [eu-west-1]\n',
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('dns-records --format zone', () => {
  it('is accepted by BIND named-checkzone for two domains, and BIND reads each key back intact', async () => {
    for (const domain of ['mail-a.example.net', 'mail-b.example.net']) {
      expect((await runCli(['keygen', '--domain', domain], { cwd: dir })).code).toBe(0);
    }
    const zone = await runCli(['dns-records', '--format', 'zone'], { cwd: dir });
    expect(zone.code).toBe(0);
    const file = join(dir, 'example.net.zone');
    await writeFile(
      file,
      `$TTL 300\n@ IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 86400 300\n@ IN NS ns1.example.net.\nns1 IN A 127.0.0.1\n${zone.stdout}`,
    );
    const check = execFileSync('named-checkzone', ['-k', 'fail', '-i', 'full', 'example.net', file], {
      encoding: 'utf8',
    });
    expect(check).toContain('OK');

    const dumped = execFileSync('named-checkzone', ['-D', '-o', '-', 'example.net', file], {
      encoding: 'utf8',
    });
    const json = JSON.parse(
      (await runCli(['dns-records', '--format', 'json'], { cwd: dir })).stdout,
    ) as Array<{ name: string; value: string }>;
    expect(json).toHaveLength(2);
    for (const record of json) {
      const line = dumped.split('\n').find((l) => l.startsWith(`${record.name}.`) && l.includes('TXT'));
      expect(line, record.name).toBeDefined();
      const served = [...(line ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
      expect(served).toBe(record.value);
    }
  });
});
