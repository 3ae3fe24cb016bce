import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO } from './support.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The packed tarballs the release tests install: `byodkim` and `@byodkim/cdk`. */
    tarballs: { cli: string; cdk: string };
  }
}

/**
 * Packs both packages once for the whole release suite, with `npm pack` as a publisher
 * would (so each package's prepack runs: clean build, bundle, LICENSE). When
 * BYODKIM_RELEASE_TARBALLS names a directory that already holds both tarballs (.ci/run packs
 * them first for its own checks), those are tested instead.
 */
export default function setup(project: TestProject): () => void {
  const given = process.env.BYODKIM_RELEASE_TARBALLS;
  const dir = given ? resolve(given) : mkdtempSync(join(tmpdir(), 'byodkim-release-'));
  if (!given) {
    const pack = (args: string[]) =>
      execFileSync('npm', ['pack', '--silent', '--pack-destination', dir, ...args], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    pack([]);
    pack(['--workspace', 'infra']);
  }
  const find = (pattern: RegExp): string => {
    const found = readdirSync(dir).filter((f) => pattern.test(f));
    if (found.length !== 1)
      throw new Error(`expected one tarball matching ${pattern} in ${dir}, found ${found.length}`);
    return join(dir, found[0] as string);
  };
  project.provide('tarballs', { cli: find(/^byodkim-\d.*\.tgz$/), cdk: find(/^byodkim-cdk-\d.*\.tgz$/) });
  return () => {
    if (!given) rmSync(dir, { recursive: true, force: true });
  };
}
