import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
 * `@byodkim/cdk` as a CDK user gets it: a fresh CDK app in a directory outside the
 * repository, with the packed `@byodkim/cdk` and `byodkim` tarballs installed next to
 * aws-cdk-lib, constructs, cdk-nag and the CDK CLI, synthesized offline by `cdk synth`.
 */

const tarballs = inject('tarballs');
const dirs: string[] = [];
let app: string;
let bundle: string;

const APP_SOURCE = `import { App, Stack, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { ByodkimRotation } from '@byodkim/cdk';
import { loadConfig } from 'byodkim/core';

// The same YAML config the CLI reads, through the library's pure entry point.
const { config } = await loadConfig('byodkim.config.yaml');
const app = new App();
const stack = new Stack(app, 'Dkim', { env: { account: '123456789012', region: 'ap-northeast-1' } });
new ByodkimRotation(stack, 'Rotation', {
  domains: config.domains.map((d) => ({ domain: d.domain, regions: d.regions })),
  config: { policy: config.policy, dns: config.dns },
});
Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app));
`;

const CONFIG = `version: 1
dns: { provider: route53, hostedZoneId: Z0EXAMPLE1234567890 }
domains:
  - { domain: example.com, regions: [ap-northeast-1, us-east-1] }
`;

/** `cdk synth` as a user runs it in the app directory: offline, no telemetry, no notices. */
function synth(): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('npx', ['cdk', 'synth', '--quiet', '--no-notices'], {
    cwd: app,
    env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
}

beforeAll(async () => {
  app = emptyProject('byodkim-cdk-app-', { type: 'module' });
  dirs.push(app);
  await npmInstall(app, [
    tarballs.cdk,
    tarballs.cli,
    repoPackage('aws-cdk-lib'),
    repoPackage('constructs'),
    repoPackage('cdk-nag'),
    repoPackage('aws-cdk'),
    repoPackage('@types/node'),
  ]);
  bundle = join(app, 'node_modules/@byodkim/cdk/lambda');
  writeFileSync(join(app, 'byodkim.config.yaml'), CONFIG);
  writeFileSync(join(app, 'cdk.json'), JSON.stringify({ app: 'node bin/app.js' }));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        skipLibCheck: true,
        types: ['node'],
        outDir: 'bin',
        rootDir: 'src',
      },
      include: ['src'],
    }),
  );
  // The app in TypeScript, compiled against both packages' declarations, as `cdk init` apps are.
  mkdirSync(join(app, 'src'));
  writeFileSync(join(app, 'src/app.ts'), APP_SOURCE);
  await runOk(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app });
});

afterAll(() => removeAll(dirs));

describe('the @byodkim/cdk tarball', () => {
  it('holds the compiled constructs with declarations, the function bundle, README and LICENSE, and no tests', async () => {
    const files = await tarballFiles(tarballs.cdk);
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/byodkim-rotation.js',
        'dist/byodkim-rotation.d.ts',
        'lambda/index.mjs',
      ]),
    );
    // The chunks the function loads on demand (the canary's mail judge among them) ship with it.
    const chunks = files.filter((f) => /^lambda\/chunks\/[^/]+\.mjs$/.test(f));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.sort()).toEqual(
      readdirSync(join(REPO, 'infra/lambda/chunks'))
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => `lambda/chunks/${f}`)
        .sort(),
    );
    expect(testArtifacts(files)).toEqual([]);
    // TypeScript sources and the repository's template tooling stay out.
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /templates/.test(f))).toEqual([]);
    expect(readFileSync(join(app, 'node_modules/@byodkim/cdk/LICENSE'), 'utf8')).toBe(
      readFileSync(join(REPO, 'LICENSE'), 'utf8'),
    );
  });
});

describe('a fresh CDK app with @byodkim/cdk installed from its tarball', () => {
  let assetDir: string;

  it('synthesizes offline with cdk-nag AwsSolutions checks on, finding nothing', async () => {
    const result = await synth();
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(result.stderr).not.toMatch(/AwsSolutions-/);
    const template = JSON.parse(readFileSync(join(app, 'cdk.out/Dkim.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(1);
    const key = functions[0]?.Properties?.Code?.S3Key ?? '';
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    assetDir = join(app, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`);
    expect(readdirSync(assetDir).sort()).toEqual(['chunks', 'index.mjs', 'index.mjs.map']);
    expect(readdirSync(join(assetDir, 'chunks')).sort()).toEqual(readdirSync(join(bundle, 'chunks')).sort());
  });

  it("deploys the package's real handler: the asset is the bundle, and it answers as byodkim's function", async () => {
    expect(readFileSync(join(assetDir, 'index.mjs')).equals(readFileSync(join(bundle, 'index.mjs')))).toBe(
      true,
    );
    const probe = [
      "const { handler } = await import('./index.mjs');",
      "const response = await handler({ action: 'nope' }, { awsRequestId: 'release', getRemainingTimeInMillis: () => 60000 });",
      'console.log(JSON.stringify({ type: typeof handler, response }));',
    ].join('\n');
    const { stdout } = await runOk(process.execPath, ['--input-type=module', '-e', probe], { cwd: assetDir });
    const last = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
      type: string;
      response: { ok: boolean; error: { code: string; message: string } };
    };
    expect(last.type).toBe('function');
    expect(last.response.ok).toBe(false);
    expect(last.response.error.code).toBe('EVENT_INVALID');
    expect(last.response.error.message).toBe(
      'action: "nope" is not an action: one of phase_manager, rotate, rollback, status',
    );
  });

  it.runIf(requireOfEsmWorks())('loads from CommonJS with require()', async () => {
    const { stdout } = await runOk(
      process.execPath,
      ['--input-type=commonjs', '-e', "console.log(typeof require('@byodkim/cdk').ByodkimRotation)"],
      { cwd: app },
    );
    expect(stdout.trim()).toBe('function');
  });

  it('fails the synth, naming the fix, when the bundle is missing from the installed package', async () => {
    const moved = `${bundle}.moved`;
    renameSync(bundle, moved);
    try {
      const result = await synth();
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        `ByodkimRotation: the function bundle is missing: ${join(bundle, 'index.mjs')} does not exist. ` +
          'The published @byodkim/cdk package carries it: reinstall the package (npm install @byodkim/cdk). ' +
          'In a clone of the byodkim repository, build it with "npm run bundle:lambda".',
      );
    } finally {
      renameSync(moved, bundle);
    }
    expect(existsSync(join(bundle, 'index.mjs'))).toBe(true);
  });
});

/** Node.js loads ES modules with require() from 20.19 and 22.12 on. */
function requireOfEsmWorks(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
}
