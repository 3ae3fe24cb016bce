import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { E2eWorld } from '../support/e2e-world.js';
import {
  emptyProject,
  npmInstall,
  REPO,
  removeAll,
  repoPackage,
  run,
  runOk,
  tarballFiles,
  testArtifacts,
} from './support.js';

/**
 * The `byodkim` package as a new user gets it: the packed tarball installed with
 * `npm install ./byodkim-*.tgz` into an empty directory outside the repository, then used
 * through `npx byodkim` and `import('byodkim')`.
 */

const { cli: tarball } = inject('tarballs');
const dirs: string[] = [];
let app: string;
let installed: string;

beforeAll(async () => {
  app = emptyProject('byodkim-user-');
  dirs.push(app);
  await npmInstall(app, [tarball]);
  installed = join(app, 'node_modules/byodkim');
});

afterAll(() => removeAll(dirs));

describe('the byodkim tarball', () => {
  it('holds the CLI, the library with declarations, the sandbox emulators, the schema, the docs, LICENSE and CHANGELOG', async () => {
    const files = await tarballFiles(tarball);
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'CHANGELOG.md',
        'package.json',
        'dist/src/cli/main.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/core.js',
        'dist/src/core.d.ts',
        'dist/emulator/ses/server.js',
        'dist/emulator/dns/server.js',
        'schema/byodkim.config.schema.json',
        'docs/configuration.md',
        'docs/deploy.md',
      ]),
    );
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(
      readFileSync(join(REPO, 'LICENSE'), 'utf8'),
    );
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toContain(
      'Apache License\n                           Version 2.0',
    );
  });

  it('holds no test files, fixtures or source maps of tests', async () => {
    const files = await tarballFiles(tarball);
    expect(testArtifacts(files)).toEqual([]);
    // Every source map belongs to a shipped module.
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) expect(files).toContain(map.replace(/\.map$/, ''));
  });

  it('has a README whose relative links all open files inside the package', () => {
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => (m[1] as string).split('#')[0] as string)
      .filter((href) => href !== '' && !/^[a-z]+:/i.test(href));
    expect(links.length).toBeGreaterThan(5);
    const broken = links.filter((href) => {
      try {
        readFileSync(resolve(installed, href));
        return false;
      } catch {
        return true;
      }
    });
    expect(broken).toEqual([]);
  });
});

describe('npx byodkim, installed from the tarball', () => {
  it('--version prints the package version', async () => {
    const { stdout } = await runOk('npx', ['byodkim', '--version'], { cwd: app });
    const { version } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(stdout.trim()).toBe(version);
  });

  it('sandbox runs the whole lifecycle and exits 0', async () => {
    const result = await run('npx', ['byodkim', 'sandbox', '--output', 'json'], { cwd: app });
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      ok: boolean;
      domains: Array<{ domain: string; verified: boolean }>;
    };
    expect(summary.ok).toBe(true);
    expect(summary.domains.map((d) => [d.domain, d.verified])).toEqual([
      ['auto.example.com', true],
      ['handoff.example.net', true],
      ['adopted.example.org', true],
    ]);
  });
});

describe("import('byodkim'), installed from the tarball", () => {
  it('exposes planDomain as a function (the acceptance one-liner)', async () => {
    const { stdout } = await runOk(
      process.execPath,
      ['-e', "import('byodkim').then(m => console.log(typeof m.planDomain))"],
      { cwd: app },
    );
    expect(stdout).toBe('function\n');
  });

  it('runs a plan through the API: load a config, build the engine, plan every domain', async () => {
    const world = await E2eWorld.start({ domains: ['example.com', 'example.net'], createIdentity: true });
    try {
      world.ses.resetCounters();
      const script = join(app, 'plan.mjs');
      writeFileSync(
        script,
        [
          "import { buildEngine, forEachDomain, loadConfig, planDomain } from 'byodkim';",
          'const loaded = await loadConfig(process.argv[2]);',
          'const engine = await buildEngine(loaded, { clock: { now: () => new Date(process.argv[3]) } });',
          'const { results } = await forEachDomain(loaded.domains, (d) => planDomain(d, engine));',
          'console.log(JSON.stringify(results.map((r) => ({ domain: r.domain, outcome: r.outcome, errors: r.errors, steps: r.plan?.steps.map((s) => s.phase + " " + s.kind) }))));',
          '',
        ].join('\n'),
      );
      const { stdout } = await runOk(
        process.execPath,
        [script, join(world.dir, 'byodkim.config.yaml'), world.clock.now().toISOString()],
        {
          cwd: app,
          env: {
            AWS_ACCESS_KEY_ID: 'AKIDRELEASE',
            AWS_SECRET_ACCESS_KEY: 'release-not-secret',
            AWS_REGION: 'us-east-1',
          },
        },
      );
      const results = JSON.parse(stdout) as Array<{
        domain: string;
        outcome: string;
        errors: string[];
        steps: string[];
      }>;
      expect(results.map((r) => r.domain)).toEqual(['example.com', 'example.net']);
      for (const r of results) {
        expect(r.errors).toEqual([]);
        // A new domain: phase 3 first, a key to generate.
        expect(r.steps[0]).toBe('3 generate-key');
      }
      // The plan read SES (through the AWS SDK the package depends on), once per domain and region.
      expect(world.ses.counters().GetEmailIdentity).toBe(4);
      // ...and changed nothing: no key stored, no state written, no DNS request made.
      expect(filesUnder(world.dir).filter((f) => f.startsWith('.byodkim/'))).toEqual([]);
    } finally {
      await world.stop();
    }
  });

  it('loads no AWS SDK module when byodkim/core or byodkim is imported; buildEngine loads SES when it runs', async () => {
    writeFileSync(
      join(app, 'log-modules.mjs'),
      [
        "import { register } from 'node:module';",
        "register('./module-log-hooks.mjs', import.meta.url);",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'module-log-hooks.mjs'),
      [
        "import { appendFileSync } from 'node:fs';",
        '// Every module an import resolves, one URL a line.',
        'export async function resolve(specifier, context, next) {',
        '  const result = await next(specifier, context);',
        "  appendFileSync(process.env.MODULE_LOG, result.url + '\\n');",
        '  return result;',
        '}',
        '',
      ].join('\n'),
    );
    const world = await E2eWorld.start({ domains: ['example.com'], createIdentity: true });
    try {
      const loaded = async (code: string): Promise<{ modules: number; awsSdk: number }> => {
        const log = join(app, `modules-${Math.random().toString(36).slice(2)}.log`);
        writeFileSync(log, '');
        await runOk(process.execPath, ['--import', './log-modules.mjs', '--input-type=module', '-e', code], {
          cwd: app,
          env: {
            MODULE_LOG: log,
            AWS_ACCESS_KEY_ID: 'AKIDRELEASE',
            AWS_SECRET_ACCESS_KEY: 'x',
            AWS_REGION: 'us-east-1',
          },
        });
        const urls = new Set(
          readFileSync(log, 'utf8')
            .split('\n')
            .filter((u) => u.startsWith('file:')),
        );
        return {
          modules: urls.size,
          awsSdk: [...urls].filter((u) => u.includes('/node_modules/@aws-sdk/')).length,
        };
      };
      const core = await loaded("await import('byodkim/core');");
      const root = await loaded("await import('byodkim');");
      const engine = await loaded(
        `const b = await import('byodkim'); await b.buildEngine(await b.loadConfig(${JSON.stringify(join(world.dir, 'byodkim.config.yaml'))}));`,
      );
      expect(core.awsSdk).toBe(0);
      expect(root.awsSdk).toBe(0);
      expect(core.modules).toBeLessThan(root.modules);
      expect(engine.awsSdk).toBeGreaterThan(0);
    } finally {
      await world.stop();
    }
  });

  it('type-checks a TypeScript user of the declarations (module nodenext, strict)', async () => {
    const ts = emptyProject('byodkim-ts-user-', { type: 'module' });
    dirs.push(ts);
    await npmInstall(ts, [tarball, repoPackage('@types/node')]);
    writeFileSync(
      join(ts, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['use.ts'],
      }),
    );
    writeFileSync(
      join(ts, 'use.ts'),
      [
        "import { type DomainResult, buildEngine, ExitCode, InputError, loadConfig, planDomain } from 'byodkim';",
        "import { buildDkimRecordValue, dkimRecordName, generateDkimKey, type KeyStatus } from 'byodkim/core';",
        '',
        'export async function plan(path: string): Promise<DomainResult[]> {',
        '  const loaded = await loadConfig(path);',
        '  const engine = await buildEngine(loaded, { output: { event: (e) => console.error(e.type) } });',
        '  return Promise.all(loaded.domains.map((d) => planDomain(d, engine)));',
        '}',
        'export async function record(domain: string): Promise<[string, string]> {',
        '  const key = await generateDkimKey(2048);',
        "  return [dkimRecordName(domain.split('.')[0] + '-1', domain), buildDkimRecordValue(key.publicKey)];",
        '}',
        "export const active: KeyStatus = 'active';",
        'export const bad: number = ExitCode.badInput;',
        "export const isInput = (e: unknown): boolean => e instanceof InputError && e.code === 'CONFIG_INVALID';",
        '// The declarations are real types, not `any`: a wrong argument must not compile.',
        '// @ts-expect-error planDomain takes a resolved domain, not a name',
        "export const wrong = (engine: Parameters<typeof planDomain>[1]) => planDomain('example.com', engine);",
        '',
      ].join('\n'),
    );
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', ts], { cwd: ts });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}
