/**
 * SES emulator throughput: GetEmailIdentity through the real SDK client, 50 in flight,
 * against a bare `node:http` server that answers the same JSON body in the same process.
 * The sandbox and the e2e suite call the emulator a few hundred times per run, so it must
 * stay close to what Node's HTTP stack can do at all. This was an assertion in the unit
 * suite (> 300 requests/s), which failed under load: timing belongs here, as a ratio to a
 * baseline measured in the same run.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { VirtualClock } from '../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../emulator/dns/server.js';
import { SesEmulator } from '../../emulator/ses/server.js';
import type { BenchContext } from '../lib/context.js';
import { type FigureResult, fmt, verdict } from '../lib/report.js';

/** The emulator parses, validates and keeps state per call; a bare server does none of it. */
export const EMULATOR_TARGET = 0.5;
const IN_FLIGHT = 50;
const DOMAIN = 'bench.example.com';

function client(endpoint: string): SESv2Client {
  return new SESv2Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-not-secret' },
    maxAttempts: 1,
  });
}

/** Requests per second for `total` GetEmailIdentity calls, IN_FLIGHT at a time. */
async function rate(ses: SESv2Client, total: number): Promise<number> {
  const started = performance.now();
  for (let sent = 0; sent < total; sent += IN_FLIGHT) {
    await Promise.all(
      Array.from({ length: Math.min(IN_FLIGHT, total - sent) }, () =>
        ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN })),
      ),
    );
  }
  return total / ((performance.now() - started) / 1000);
}

/** A server that answers every request with `body`: the floor of what an HTTP round trip costs. */
async function bareServer(body: string): Promise<Server> {
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export async function emulatorThroughput(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const total = ctx.quick ? 600 : 6_000;
  const dns = await EmbeddedDnsServer.start();
  const ses = await SesEmulator.start({
    dns: { host: dns.host, port: dns.port },
    clock: new VirtualClock('2026-01-01T00:00:00Z'),
  });
  const emulated = client(ses.endpoint);
  let bare: Server | undefined;
  let bareClient: SESv2Client | undefined;
  try {
    await emulated.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    const response = await fetch(`${ses.endpoint}/v2/email/identities/${DOMAIN}`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/ses/aws4_request' },
    });
    bare = await bareServer(await response.text());
    bareClient = client(`http://127.0.0.1:${(bare.address() as AddressInfo).port}`);
    // Interleaved halves, so a noisy moment on a shared machine hits both sides.
    let emulatorRate = 0;
    let bareRate = 0;
    for (let round = 0; round < 2; round++) {
      ctx.log(`emulator throughput: round ${round + 1}, ${total / 2} calls each`);
      bareRate += (await rate(bareClient, total / 2)) / 2;
      emulatorRate += (await rate(emulated, total / 2)) / 2;
    }
    const ratio = emulatorRate / bareRate;
    return {
      id: 'emulator',
      title: 'SES emulator throughput',
      rows: [
        {
          figure: `SES emulator, ${total} × GetEmailIdentity, ${IN_FLIGHT} in flight`,
          measured: `${fmt(emulatorRate, 0)} requests/s`,
          baseline: `bare node:http ${fmt(bareRate, 0)} requests/s`,
          ratio,
          target: `≥ ${EMULATOR_TARGET}`,
          verdict: verdict(ratio >= EMULATOR_TARGET),
        },
      ],
      details: {
        total,
        inFlight: IN_FLIGHT,
        emulatorRequestsPerSecond: emulatorRate,
        bareRequestsPerSecond: bareRate,
        ratio,
      },
      notes: [],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    emulated.destroy();
    bareClient?.destroy();
    await new Promise((resolve) => (bare ? bare.close(resolve) : resolve(undefined)));
    await ses.stop();
    await dns.stop();
  }
}
