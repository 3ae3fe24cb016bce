/**
 * A loopback HTTP proxy in front of the SES emulator that sees every request that points
 * SES at a BYODKIM key (PutEmailIdentityDkimSigningAttributes with EXTERNAL, and
 * CreateEmailIdentity with signing attributes) before the emulator does, so the crash
 * harness can check invariants 1 and 3 at the exact moment of the switch. It observes
 * only: every request is forwarded unchanged, and the private key in the body is handed
 * to the observer, never printed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The region of a SigV4 request: the credential scope `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
function regionOf(authorization: string | undefined): string {
  return /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\//.exec(authorization ?? '')?.[1] ?? 'us-east-1';
}

export interface SesSwitch {
  region: string;
  identity: string;
  selector: string;
  /** DomainSigningPrivateKey as sent (base64 DER). Never print it. */
  privateKey: string;
}

/** Told of every switch: before SES sees the request, and once SES accepted it. */
export interface SwitchObserver {
  switching(change: SesSwitch): Promise<void>;
  switched(change: SesSwitch): void;
}

export class SesProxy {
  readonly endpoint: string;
  readonly #server: Server;

  private constructor(server: Server, endpoint: string) {
    this.#server = server;
    this.endpoint = endpoint;
  }

  static async start(upstream: string, observer: SwitchObserver): Promise<SesProxy> {
    const server = createServer((req, res) => {
      forward(req, res, upstream, observer).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new SesProxy(server, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: string,
  observer: SwitchObserver,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const method = req.method ?? 'GET';
  const change = switchIn(method, req.url ?? '/', body, regionOf(req.headers.authorization));
  if (change !== undefined) await observer.switching(change);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'host' || name === 'connection' || name === 'content-length')
      continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  // The upstream call completes even if the CLI is killed meanwhile: SES acts on what reached it.
  const response = await fetch(`${upstream}${req.url ?? '/'}`, {
    method,
    headers,
    ...(body.length > 0 ? { body } : {}),
  });
  const answer = Buffer.from(await response.arrayBuffer());
  if (change !== undefined && response.ok) observer.switched(change);
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection') out[name] = value;
  });
  res.writeHead(response.status, { ...out, 'content-length': String(answer.length) });
  res.end(answer);
}

/** The switch a request asks SES for, if it is one. */
function switchIn(method: string, url: string, body: Buffer, region: string): SesSwitch | undefined {
  const path = new URL(url, 'http://proxy').pathname.split('/').slice(1);
  if (path[0] !== 'v2' || path[1] !== 'email' || path[2] !== 'identities') return undefined;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  let identity: string | undefined;
  let attributes: unknown;
  if (method === 'PUT' && path.length === 6 && path[4] === 'dkim' && path[5] === 'signing') {
    if (json.SigningAttributesOrigin !== 'EXTERNAL') return undefined;
    identity = decodeURIComponent(path[3] ?? '');
    attributes = json.SigningAttributes;
  } else if (method === 'POST' && path.length === 3) {
    identity = typeof json.EmailIdentity === 'string' ? json.EmailIdentity : undefined;
    attributes = json.DkimSigningAttributes;
  }
  if (identity === undefined || typeof attributes !== 'object' || attributes === null) return undefined;
  const { DomainSigningSelector: selector, DomainSigningPrivateKey: privateKey } = attributes as Record<
    string,
    unknown
  >;
  if (typeof selector !== 'string' || typeof privateKey !== 'string') return undefined;
  return { region, identity: identity.toLowerCase(), selector, privateKey };
}
