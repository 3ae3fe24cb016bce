/**
 * The smallest SMTP (RFC 5321) / LMTP (RFC 2033) client that hands one message to a receiving
 * server, as SES's outbound MTA would hand it to the recipient's MX (SPEC.md §15). One
 * connection per message; any 4xx/5xx reply fails the delivery with the server's words.
 */
import { connect, type Socket } from 'node:net';

export interface SmtpTarget {
  host: string;
  port: number;
  protocol: 'smtp' | 'lmtp';
}

const TIMEOUT_MS = 10_000;

export async function deliverOverSmtp(
  target: SmtpTarget,
  envelope: { from: string; recipients: readonly string[] },
  message: string,
): Promise<void> {
  const socket = connect({ host: target.host, port: target.port });
  socket.setTimeout(TIMEOUT_MS);
  const replies = replyReader(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    await expect(replies, 2, 'greeting');
    await command(socket, replies, `${target.protocol === 'lmtp' ? 'LHLO' : 'EHLO'} emulator.amazonses.com`);
    await command(socket, replies, `MAIL FROM:<${envelope.from}>`);
    for (const recipient of envelope.recipients) await command(socket, replies, `RCPT TO:<${recipient}>`);
    await command(socket, replies, 'DATA', 3);
    socket.write(`${dotStuffed(message)}\r\n.\r\n`);
    // LMTP answers the end of data once per recipient (RFC 2033 §4.2).
    const answers = target.protocol === 'lmtp' ? envelope.recipients.length : 1;
    for (let i = 0; i < answers; i++) await expect(replies, 2, 'end of data');
    socket.write('QUIT\r\n');
  } finally {
    socket.end();
    socket.destroy();
  }
}

async function command(socket: Socket, replies: () => Promise<Reply>, line: string, want = 2): Promise<void> {
  socket.write(`${line}\r\n`);
  await expect(replies, want, line.split(' ')[0] ?? line);
}

async function expect(replies: () => Promise<Reply>, want: number, what: string): Promise<void> {
  const reply = await replies();
  if (Math.floor(reply.code / 100) !== want) {
    throw new Error(`SMTP ${what}: the server answered ${reply.code} ${reply.text}`);
  }
}

interface Reply {
  code: number;
  text: string;
}

/** Multi-line replies (`250-...` then `250 ...`) come back as one. */
function replyReader(socket: Socket): () => Promise<Reply> {
  let buffer = '';
  const ready: Reply[] = [];
  const waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  let failure: Error | undefined;
  let lines: string[] = [];
  const fail = (error: Error) => {
    failure = error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      lines.push(line.slice(4));
      if (line[3] === '-') continue;
      const reply = { code: Number(line.slice(0, 3)), text: lines.join(' ') };
      lines = [];
      const next = waiting.shift();
      if (next) next.resolve(reply);
      else ready.push(reply);
    }
  });
  socket.on('error', fail);
  socket.on('timeout', () => fail(new Error('SMTP: the server did not answer in time')));
  socket.on('close', () => fail(new Error('SMTP: the server closed the connection')));
  return () => {
    const reply = ready.shift();
    if (reply) return Promise.resolve(reply);
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
}

function dotStuffed(message: string): string {
  const text = message.endsWith('\r\n') ? message.slice(0, -2) : message;
  return text.replace(/(^|\r\n)\./g, '$1..');
}
