import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const LOCAL = fileURLToPath(new URL('../../src/adapters/local/', import.meta.url));

/**
 * Runs `body` (an ES module body that may use `scratchPathFor`, `LockFile` and
 * `writeFileSync`) in another process, which then kills itself with SIGKILL: what a
 * crash leaves on disk, made by the real code.
 */
function killedAfter(body: string): void {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { writeFileSync } from 'node:fs';
       import { scratchPathFor } from ${JSON.stringify(`${LOCAL}fs-atomic.ts`)};
       import { LockFile } from ${JSON.stringify(`${LOCAL}lock-file.ts`)};
       ${body}
       process.kill(process.pid, 'SIGKILL');`,
    ],
    { encoding: 'utf8' },
  );
  expect(run.signal, run.stderr).toBe('SIGKILL');
}

/**
 * Another process starts writing `data` towards `target` (its temp file, named as the
 * atomic writes of src/adapters/local/fs-atomic.ts name it) and is killed before the file
 * gets its name.
 */
export function killedWriter(target: string, data: string): void {
  killedAfter(
    `writeFileSync(scratchPathFor(${JSON.stringify(target)}), ${JSON.stringify(data)}, { mode: 0o600 });`,
  );
}

/** Another process takes the lock file at `path` for `ttlMs` and is killed holding it. */
export function killedHolder(path: string, ttlMs: number): void {
  killedAfter(`await new LockFile(${JSON.stringify(path)}, 'killed').acquire(${ttlMs}, new Date());`);
}
