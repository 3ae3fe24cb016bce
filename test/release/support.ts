import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the release tests share: running commands as a user in a directory outside the
 * repository (no repository `node_modules/.bin` on PATH, no npm variables of the run that
 * started the tests), and installing the packed tarballs there with plain `npm install`.
 */

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a user's shell would have: this one without npm's run-script variables and the repository's bins. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|INIT_CWD$|NODE_OPTIONS$)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => p !== '' && !p.startsWith(REPO) && !/node_modules[\\/]\.bin$/.test(p))
    .join(delimiter);
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  };
}

export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: userEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** Like {@link run}, but fails with the command's output when it exits non-zero. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code} in ${options.cwd}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** An empty project directory outside the repository, with the given package.json fields. */
export function emptyProject(prefix: string, fields: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'release-check', version: '1.0.0', private: true, ...fields }, null, 2)}\n`,
  );
  return dir;
}

/**
 * `npm install` of local tarballs and registry packages. Packages already in npm's cache
 * are taken from it (the repository's `npm ci` filled it); only metadata npm has never
 * seen comes from the registry.
 */
export function npmInstall(dir: string, specs: readonly string[]): Promise<RunResult> {
  return runOk(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs],
    {
      cwd: dir,
    },
  );
}

/** `name@version` as this repository has it installed, to install the same into a test project. */
export function repoPackage(name: string): string {
  // Hoisted to the root, or kept in the infra workspace (the CDK CLI).
  const where = [REPO, join(REPO, 'infra')].map((dir) => join(dir, 'node_modules', name, 'package.json'));
  const found = where.find((path) => existsSync(path));
  if (found === undefined) throw new Error(`${name} is not installed in this repository (npm ci first)`);
  const { version } = JSON.parse(readFileSync(found, 'utf8')) as { version: string };
  return `${name}@${version}`;
}

/** The file paths in a package tarball, without the `package/` prefix. */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const { stdout } = await runOk('tar', ['-tzf', tarball], { cwd: dirname(tarball) });
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''));
}

/** Paths in a package that are tests, test fixtures or their source maps: none may ship. */
export function testArtifacts(files: readonly string[]): string[] {
  return files.filter(
    (f) =>
      /(^|\/)(test|tests|__tests__|fixtures?|__fixtures__|bench)\//.test(f) ||
      /\.(test|spec)\.[cm]?[jt]sx?(\.map)?$/.test(f) ||
      /(^|\/)(vitest|jest)\.config\./.test(f),
  );
}

export function removeAll(dirs: string[]): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
