import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsx = import.meta.resolve('tsx');
const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the run was killed for taking longer than `timeoutMs`. */
  timedOut?: boolean;
}

export interface CliOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Shell commands run before the CLI in the same process, e.g. `ulimit -f 1` (a disk that
   * takes no more than 1 KiB per file) or `umask 000`.
   */
  shellSetup?: string;
  /** Kill the run (SIGKILL) after this long: a test that something no longer hangs. */
  timeoutMs?: number;
}

/** Runs the real CLI (from source, through tsx) as a user would, in `cwd`. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, '--import', tsx, entry, ...args];
    const [file, argv] =
      options.shellSetup === undefined
        ? [command[0] as string, command.slice(1)]
        : ['bash', ['-c', `${options.shellSetup}; exec "$@"`, 'bash', ...command]];
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
  });
}
