import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const infra = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = resolve(infra, '../node_modules/.bin/tsx');
const outdirs: string[] = [];
const require = createRequire(import.meta.url);

/** Runs the sample app as `cdk synth` does (CDK_OUTDIR, CDK_CONTEXT_JSON), offline. */
function synthApp(context: Record<string, string>): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'byodkim-cdk-'));
  outdirs.push(dir);
  execFileSync(tsx, ['bin/app.ts'], {
    cwd: infra,
    env: { ...process.env, CDK_OUTDIR: dir, CDK_CONTEXT_JSON: JSON.stringify(context) },
    stdio: 'pipe',
  });
  return { dir, files: readdirSync(dir) };
}

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('sample app (bin/app.ts)', () => {
  it('synthesizes the example config offline, cdk-nag clean (synth fails otherwise)', () => {
    const { dir, files } = synthApp({ config: resolve(infra, 'examples/byodkim.config.yaml') });
    expect(files).toContain('Byodkim.template.json');
    const template = JSON.parse(readFileSync(join(dir, 'Byodkim.template.json'), 'utf8'));
    const text = JSON.stringify(template);
    expect(text).toContain('identity/example.com');
    expect(text).toContain('hostedzone/Z0EXAMPLE1234567890');
  });

  it("synthesizes through the pinned CDK CLI (its assembly schema must read aws-cdk-lib's)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'byodkim-cdk-cli-'));
    outdirs.push(dir);
    const cli = resolve(dirname(require.resolve('aws-cdk/package.json')), 'bin/cdk');
    execFileSync(
      process.execPath,
      [
        cli,
        'synth',
        '--quiet',
        '--no-notices',
        '--output',
        dir,
        '-c',
        `config=${resolve(infra, 'examples/byodkim.config.yaml')}`,
      ],
      { cwd: infra, stdio: 'pipe', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } },
    );
    expect(readdirSync(dir)).toContain('Byodkim.template.json');
  });

  it('adds one SES identity stack per region on request, with explicit account and region', () => {
    const { dir, files } = synthApp({
      config: resolve(infra, 'examples/byodkim.config.yaml'),
      identityStacks: 'true',
      account: '123456789012',
      region: 'ap-northeast-1',
      state: 'dynamodb',
    });
    expect(files).toEqual(
      expect.arrayContaining([
        'Byodkim.template.json',
        'ByodkimSesIdentities-ap-northeast-1.template.json',
        'ByodkimSesIdentities-us-east-1.template.json',
      ]),
    );
    const tokyo = readFileSync(join(dir, 'ByodkimSesIdentities-ap-northeast-1.template.json'), 'utf8');
    // example.net has createIdentity: true: the function creates it, not CloudFormation.
    expect(tokyo).toContain('"EmailIdentity": "example.com"');
    expect(tokyo).not.toContain('example.net');
    expect(readFileSync(join(dir, 'Byodkim.template.json'), 'utf8')).toContain('AWS::DynamoDB::Table');
  });
});
