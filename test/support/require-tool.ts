import { execFileSync } from 'node:child_process';

/** Whether a program is on PATH (or at an absolute path). */
export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Tests that need a real service skip where it is not installed, except in CI (CI=true),
 * where a missing tool must fail loudly instead of passing by skipping.
 */
export function skipUnlessTool(name: string): boolean {
  if (hasTool(name)) return false;
  if (process.env.CI) throw new Error(`${name} is required in CI but is not installed (.ci/run installs it)`);
  return true;
}
