import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, removeAll, runOk } from './support.js';

/**
 * `npm run package:lambda`: the zip the plain CloudFormation templates deploy (their
 * CodeBucket/CodeKey parameters), built from this checkout.
 */

const dirs: string[] = [];
afterAll(() => removeAll(dirs));

describe('npm run package:lambda', () => {
  it('writes a deterministic zip whose index.mjs is the real handler', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byodkim-zip-'));
    dirs.push(dir);
    const out = join(dir, 'byodkim-lambda.zip');
    const first = await runOk('npm', ['run', '--silent', 'package:lambda', '--', '--out', out], {
      cwd: REPO,
    });
    expect(first.stdout).toMatch(/byodkim-lambda\.zip: \d+ bytes, sha256 [0-9a-f]{64}\n$/);
    const zip = readFileSync(out);
    const entries = unzipSync(zip);
    // The handler and the chunks it loads on demand (the canary's mail judge among them).
    const bundled = readdirSync(join(REPO, 'infra/lambda'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(join(REPO, 'infra/lambda/').length))
      .sort();
    expect(Object.keys(entries).sort()).toEqual(bundled);
    expect(bundled).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
    expect(bundled.filter((f) => f.startsWith('chunks/')).length).toBeGreaterThan(1);

    // Unpacked where Lambda would: the handler answers as byodkim's function does.
    const fn = join(dir, 'function');
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(fn, name)), { recursive: true });
      writeFileSync(join(fn, name), bytes);
    }
    const probe = [
      "const { handler } = await import('./index.mjs');",
      'const r = await handler({}, { awsRequestId: "zip", getRemainingTimeInMillis: () => 60000 });',
      'console.log(JSON.stringify(r.error));',
    ].join('\n');
    const { stdout } = await runOk(process.execPath, ['--input-type=module', '-e', probe], { cwd: fn });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toMatchObject({
      code: 'EVENT_INVALID',
      message: 'action: undefined is required: one of phase_manager, rotate, rollback, status',
    });

    // The same source gives the same bytes, so an unchanged function uploads as the same object.
    await runOk('npm', ['run', '--silent', 'package:lambda', '--', '--out', out], { cwd: REPO });
    expect(readFileSync(out).equals(zip)).toBe(true);
  });
});
