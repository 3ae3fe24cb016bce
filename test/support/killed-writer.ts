import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const FS_ATOMIC = fileURLToPath(new URL('../../src/adapters/local/fs-atomic.ts', import.meta.url));

/**
 * Another process starts writing `data` towards `target` (its temp file, named as the
 * atomic writes of src/adapters/local/fs-atomic.ts name it) and is killed with SIGKILL
 * before the file gets its name: what a crash mid-write leaves on disk.
 */
export function killedWriter(target: string, data: string): void {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { writeFileSync } from 'node:fs';
       import { scratchPathFor } from ${JSON.stringify(FS_ATOMIC)};
       writeFileSync(scratchPathFor(${JSON.stringify(target)}), ${JSON.stringify(data)}, { mode: 0o600 });
       process.kill(process.pid, 'SIGKILL');`,
    ],
    { encoding: 'utf8' },
  );
  expect(run.signal, run.stderr).toBe('SIGKILL');
}
