/** What the numbers were measured on: written into latest.json with every run. */
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { run } from './proc.js';
import { ROOT } from './worker.js';

async function firstLine(command: string, args: string[]): Promise<string | undefined> {
  try {
    const result = await run(command, args, { timeoutMs: 10_000, cwd: ROOT });
    if (result.code !== 0) return undefined;
    return (result.stdout || result.stderr).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  freeMemoryGb: number;
  loadAverage: number[];
  os: string;
  node: string;
  nodeOpenssl: string;
  openssl?: string | undefined;
  bind?: string | undefined;
  dnsperf?: string | undefined;
  gitCommit?: string | undefined;
  /** Files changed in the working tree but not committed when the bench ran. */
  gitDirtyFiles?: number | undefined;
}

export async function machineInfo(): Promise<MachineInfo> {
  const list = cpus();
  const [openssl, bind, dnsperfHelp, commit, status] = await Promise.all([
    firstLine('openssl', ['version']),
    firstLine('named', ['-v']),
    run('dnsperf', ['-h'], { timeoutMs: 10_000 }).catch(() => undefined),
    firstLine('git', ['rev-parse', 'HEAD']),
    run('git', ['status', '--porcelain'], { timeoutMs: 10_000, cwd: ROOT }).catch(() => undefined),
  ]);
  const dnsperf = dnsperfHelp
    ? /Version\s+(\S+)/.exec(dnsperfHelp.stdout + dnsperfHelp.stderr)?.[1]
    : undefined;
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGb: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${process.platform} ${release()}`,
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    openssl,
    bind,
    dnsperf: dnsperf ? `dnsperf ${dnsperf}` : undefined,
    gitCommit: commit,
    gitDirtyFiles: status?.code === 0 ? status.stdout.split('\n').filter(Boolean).length : undefined,
  };
}
