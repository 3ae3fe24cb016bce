/**
 * A bare DNS transport for tests and the BIND harness: send one wire-format message over
 * UDP or TCP and return the raw answer, so TSIG can be checked on the exact bytes.
 */
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';

export interface ExchangeOptions {
  timeoutMs?: number;
}

export class DnsTimeoutError extends Error {
  override name = 'DnsTimeoutError';
}

/** Sends over UDP; resolves with the first datagram carrying the same message ID. */
export function udpExchange(
  host: string,
  port: number,
  wire: Buffer,
  opts: ExchangeOptions = {},
): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const id = wire.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new DnsTimeoutError(`no answer from ${host}:${port} over UDP within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (answer) => {
      if (answer.length < 12 || answer.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send(wire, port, host);
  });
}

/** Sends over TCP with the two-byte length prefix (RFC 1035 §4.2.2). */
export function tcpExchange(
  host: string,
  port: number,
  wire: Buffer,
  opts: ExchangeOptions = {},
): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new DnsTimeoutError(`no answer from ${host}:${port} over TCP within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(wire.length);
      socket.write(Buffer.concat([length, wire]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      clearTimeout(timer);
      socket.end();
      resolve(received.subarray(2, 2 + length));
    });
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`${host}:${port} closed the TCP connection without an answer`)));
  });
}

/** UDP first, TCP when the answer is truncated (TC bit), as a stub resolver does. */
export async function exchange(
  host: string,
  port: number,
  wire: Buffer,
  opts: ExchangeOptions & { transport?: 'udp' | 'tcp' | 'auto' } = {},
): Promise<Buffer> {
  const transport = opts.transport ?? 'auto';
  if (transport === 'tcp') return tcpExchange(host, port, wire, opts);
  const answer = await udpExchange(host, port, wire, opts);
  const truncated = answer.length >= 4 && (answer.readUInt16BE(2) & 0x0200) !== 0;
  return transport === 'auto' && truncated ? tcpExchange(host, port, wire, opts) : answer;
}
