/**
 * A throwaway moto server (S3, KMS, Secrets Manager, DynamoDB, Route 53, ...) for
 * integration tests: moto's server as a child process on 127.0.0.1 and a free
 * port, started per test file, reset with `POST /moto-api/reset`, killed on `stop()`, on a
 * failed start and on process exit, so a failing test leaves no process behind.
 *
 * Where moto is not installed the tests skip with a reason; in CI (`CI` set) a missing
 * moto fails loudly instead, so a suite cannot pass by skipping.
 *
 * @example
 * const support = motoSupport();
 * describe.skipIf(support.skip)(`S3 vault${support.label}`, () => {
 *   const moto = useMoto();
 *   it('...', async () => { const clients = motoClients(moto.endpoint); ... });
 * });
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { AwsClientFactory, type AwsClientOptions } from '../../src/adapters/aws/clients.js';

const PYTHON = process.env.MOTO_PYTHON ?? 'python3';
const START_TIMEOUT_MS = 60_000;

/** Credentials moto accepts; never real ones. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

export interface MotoSupport {
  skip: boolean;
  reason?: string;
  /** ` (skipped: reason)` or empty, for describe titles. */
  label: string;
}

let support: MotoSupport | undefined;

/** Whether moto's server can run here. Throws in CI when it cannot. */
export function motoSupport(): MotoSupport {
  if (support) return support;
  try {
    execFileSync(PYTHON, ['-c', 'import moto.server, flask, werkzeug'], { stdio: 'ignore', timeout: 30_000 });
    support = { skip: false, label: '' };
  } catch {
    const reason = `moto server is not installed (pip install 'moto[server]'; tried ${PYTHON} -m moto.server)`;
    if (process.env.CI) throw new Error(`${reason}: it is required in CI`);
    support = { skip: true, reason, label: ` (skipped: ${reason})` };
  }
  return support;
}

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** Drops every resource in every service (buckets, secrets, tables, zones, keys). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `python3 -m moto.server`, plus a watchdog thread that ends moto when the test process is
 * gone: even a test worker killed with SIGKILL (no exit hooks run) leaves nothing behind.
 */
const WATCHED_MOTO = `
import os, sys, threading, time
parent = int(sys.argv[1])
def watch():
    while True:
        time.sleep(1)
        try:
            os.kill(parent, 0)
        except OSError:
            os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(sys.argv[2:])
`;

import { freePort } from './free-port.js';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      resolve();
      return;
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(killer);
      running.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts moto on 127.0.0.1 and a free port; resolves once it answers HTTP. */
export async function startMoto(): Promise<MotoServer> {
  installExitHook();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(
      PYTHON,
      ['-c', WATCHED_MOTO, String(process.pid), '-H', '127.0.0.1', '-p', String(port)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
      },
    );
    running.add(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = `${stderr}${d.toString()}`.slice(-4_000);
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!exited && Date.now() < deadline && !(await answers(endpoint))) {
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    if (!exited && (await answers(endpoint))) {
      return {
        endpoint,
        port,
        pid: child.pid,
        async reset() {
          const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
          await response.arrayBuffer();
          if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
        },
        stop: () => stopChild(child),
      };
    }
    await stopChild(child);
    lastError = new Error(
      exited
        ? `moto server exited during start (port ${port}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`
        : `moto server did not answer within ${START_TIMEOUT_MS / 1000} s on port ${port}`,
    );
  }
  throw lastError;
}

/**
 * Starts moto for the enclosing describe block (once), resets it before use, stops it
 * after. The returned object's `endpoint` is valid inside tests and hooks.
 */
export function useMoto(): { readonly endpoint: string; readonly server: MotoServer } {
  let server: MotoServer | undefined;
  beforeAll(async () => {
    server = await startMoto();
    await server.reset();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get endpoint() {
      if (!server) throw new Error('moto is not running (use the endpoint inside tests or hooks)');
      return server.endpoint;
    },
    get server() {
      if (!server) throw new Error('moto is not running');
      return server;
    },
  };
}

/** An AwsClientFactory with every service pointed at moto and test credentials. */
export function motoClients(endpoint: string, options: AwsClientOptions = {}): AwsClientFactory {
  return new AwsClientFactory({
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 2,
    ...options,
    endpoints: {
      s3: endpoint,
      secretsmanager: endpoint,
      dynamodb: endpoint,
      route53: endpoint,
      sns: endpoint,
      kms: endpoint,
      ...options.endpoints,
    },
    env: {},
  });
}

/**
 * One call of a query-protocol AWS API (IAM, STS) at moto, for test set-up where the
 * repository has no SDK client (IAM): `Action` and its parameters as a form, the service
 * named in the SigV4 credential scope (moto routes by it), no signature (moto checks none
 * until it enforces IAM). Returns the XML answer; throws on an error status.
 */
export async function motoQuery(
  endpoint: string,
  service: 'iam' | 'sts',
  params: Readonly<Record<string, string>>,
): Promise<string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const version = service === 'iam' ? '2010-05-08' : '2011-06-15';
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_CREDENTIALS.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'0'.repeat(64)}`,
    },
    body: new URLSearchParams({ ...params, Version: version }).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`moto ${service} ${params.Action}: HTTP ${response.status}: ${text}`);
  return text;
}
