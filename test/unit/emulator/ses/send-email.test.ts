/**
 * SendEmail (SPEC.md §14), delivery (§15) and the out-of-band key swap (§16), through the real
 * SESv2Client. The receiving side here is a bare LMTP listener that only records what it is
 * handed (the integration suite delivers into a real Dovecot and a moto S3 bucket).
 */
import { createServer, type Server } from 'node:net';
import {
  CreateEmailIdentityCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOMAIN, type Rig, rsaKey, START, startRig, type TestKey } from './rig.js';

const REGION = 'eu-west-2';
const INBOX = 'inbox.example.org';
const MAILBOX = 'mailbox.example.org';
const MINUTE = 60_000;
let rig: Rig;
let ses: SESv2Client;
let key: TestKey;
let lmtp: { server: Server; received: Array<{ from: string; to: string[]; data: string }> };

/** A listener that speaks just enough LMTP (RFC 2033) to take messages and keep them. */
async function startLmtp(): Promise<typeof lmtp> {
  const received: Array<{ from: string; to: string[]; data: string }> = [];
  const server = createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [] as string[], data: '' };
    socket.write('220 test LMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push(current);
            for (const _ of current.to) socket.write('250 2.0.0 delivered\r\n');
            current = { from: '', to: [], data: '' };
          } else current.data += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'LHLO') socket.write('250-test\r\n250 PIPELINING\r\n');
        else if (verb === 'MAIL') {
          current.from = /<(.*)>/.exec(line)?.[1] ?? '';
          socket.write('250 ok\r\n');
        } else if (verb === 'RCPT') {
          current.to.push(/<(.*)>/.exec(line)?.[1] ?? '');
          socket.write('250 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('500 what\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, received };
}

function lmtpPort(): number {
  const address = lmtp.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

beforeAll(async () => {
  lmtp = await startLmtp();
  rig = await startRig(
    {
      inbound: [
        { domain: INBOX, type: 'lmtp', host: '127.0.0.1', port: lmtpPort() },
        { domain: MAILBOX, type: 'mailbox' },
      ],
      ratePerRegion: 0, // the control-plane budget refuses everything: SendEmail must not need it
    },
    'service',
  );
  ses = rig.client(REGION);
  key = rsaKey(2048);
});
afterAll(async () => {
  await rig.stop();
  await new Promise((resolve) => lmtp.server.close(resolve));
});
beforeEach(async () => {
  rig.ses.reset();
  rig.ses.setRate(null);
  rig.clock.set(START);
  rig.unpublish('mail2025');
  rig.unpublish('other');
  lmtp.received.length = 0;
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  await ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: DOMAIN,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: 'mail2025', DomainSigningPrivateKey: key.privateKeyBase64 },
    }),
  );
  rig.publish('mail2025', key.publicKeyBase64);
  rig.clock.advance(6 * MINUTE); // past the first check (verificationDelayMs 5 min)
  await rig.ses.verifyPending(); // ...which runs when someone looks: SUCCESS
  rig.ses.setRate(0);
});

const simple = (subject = 'canary') =>
  new SendEmailCommand({
    FromEmailAddress: `byodkim-canary@${DOMAIN}`,
    Destination: { ToAddresses: [`canary@${INBOX}`] },
    Content: {
      Simple: {
        Subject: { Data: subject },
        Body: { Text: { Data: 'a short message' } },
        Headers: [{ Name: 'X-Byodkim-Canary', Value: 'id-1' }],
      },
    },
  });

async function delivered(): Promise<string> {
  rig.clock.advance(3_000);
  await rig.ses.deliverDue();
  const last = lmtp.received.at(-1);
  if (!last) throw new Error('nothing was delivered');
  return last.data;
}

describe('SendEmail (SPEC §14)', () => {
  it('signs a Simple message as a sample is signed, outside the API budget, and mailauth verifies it', async () => {
    const { MessageId } = await ses.send(simple());
    expect(MessageId).toMatch(/^[0-9a-f]+-/);
    const message = await delivered();
    expect(message).toMatch(/^X-Byodkim-Canary: id-1$/m);
    expect(message).toMatch(/^Message-ID: <.+@email\.amazonses\.com>$/m);
    expect(await rig.verifyDkim(message)).toEqual([{ domain: DOMAIN, selector: 'mail2025', result: 'pass' }]);
    const [entry] = rig.ses.outbox();
    expect(entry).toMatchObject({
      messageId: MessageId,
      region: REGION,
      signedWithDomainKey: true,
      selector: 'mail2025',
      recipients: [`canary@${INBOX}`],
    });
  });

  it('sends Raw MIME as given, removes Bcc, and adds a Date when it is missing', async () => {
    const raw = [
      `From: Canary <byodkim-canary@${DOMAIN}>`,
      `To: canary@${INBOX}`,
      `Bcc: hidden@${INBOX}`,
      'Subject: raw canary',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      '.a line that starts with a dot',
      '',
    ].join('\r\n');
    await ses.send(new SendEmailCommand({ Content: { Raw: { Data: Buffer.from(raw) } } }));
    const message = await delivered();
    expect(message).not.toMatch(/^Bcc:/im);
    expect(message).toMatch(/^Date: /m);
    expect(message).toContain('\r\n.a line that starts with a dot\r\n');
    expect(lmtp.received.at(-1)?.to.sort()).toEqual([`canary@${INBOX}`, `hidden@${INBOX}`]);
    expect(await rig.verifyDkim(message)).toEqual([{ domain: DOMAIN, selector: 'mail2025', result: 'pass' }]);
  });

  it('leaves mail unsigned by the domain while DKIM re-verifies after a put (the switch gap)', async () => {
    rig.ses.setRate(null);
    await ses.send(
      new PutEmailIdentityDkimSigningAttributesCommand({
        EmailIdentity: DOMAIN,
        SigningAttributesOrigin: 'EXTERNAL',
        SigningAttributes: {
          DomainSigningSelector: 'mail2025',
          DomainSigningPrivateKey: key.privateKeyBase64,
        },
      }),
    );
    await ses.send(simple());
    const message = await delivered();
    expect(message).not.toMatch(/^DKIM-Signature:/im);
    expect(message).not.toMatch(/X-SES-Emulator-Note/);
    expect(rig.ses.outbox()[0]?.signedWithDomainKey).toBe(false);
  });

  it.each([
    [
      'an unverified sender',
      { FromEmailAddress: 'someone@example.net' },
      /MessageRejected|not verified.*EU-WEST-2: someone@example\.net/,
    ],
    [
      'a raw message without a blank line',
      { Content: { Raw: { Data: Buffer.from(`From: a@${DOMAIN}\r\nTo: b@${INBOX}`) } } },
      /header and a body/,
    ],
    [
      'a raw message without From',
      {
        FromEmailAddress: undefined,
        Content: { Raw: { Data: Buffer.from(`To: b@${INBOX}\r\n\r\nbody\r\n`) } },
      },
      /From/,
    ],
    [
      'a line over 1,000 characters',
      {
        Content: {
          Raw: { Data: Buffer.from(`From: a@${DOMAIN}\r\nTo: b@${INBOX}\r\n\r\n${'x'.repeat(1000)}\r\n`) },
        },
      },
      /longer than 1000/,
    ],
  ])('refuses %s with MessageRejected', async (_what, override, message) => {
    const base = simple().input;
    const error = await ses.send(new SendEmailCommand({ ...base, ...override })).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'MessageRejected' });
    expect((error as Error).message).toMatch(message);
    expect(rig.ses.outbox()).toEqual([]);
  });

  it('holds a sandbox account to verified recipients and its own quota', async () => {
    const sandbox = await startRig({ sendingSandbox: true, max24HourSend: 2, maxSendRate: 100 }, 'service');
    try {
      const client = sandbox.client(REGION);
      await client.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
      await client.send(
        new PutEmailIdentityDkimSigningAttributesCommand({
          EmailIdentity: DOMAIN,
          SigningAttributesOrigin: 'EXTERNAL',
          SigningAttributes: {
            DomainSigningSelector: 'mail2025',
            DomainSigningPrivateKey: key.privateKeyBase64,
          },
        }),
      );
      sandbox.publish('mail2025', key.publicKeyBase64);
      sandbox.clock.advance(6 * MINUTE);
      const toInbox = await client.send(simple()).catch((e: Error) => e);
      expect(toInbox).toMatchObject({ name: 'MessageRejected' });
      expect((toInbox as Error).message).toContain(`canary@${INBOX}`);
      const toOwnDomain = new SendEmailCommand({
        ...simple().input,
        Destination: { ToAddresses: [`x@${DOMAIN}`] },
      });
      await client.send(toOwnDomain);
      sandbox.clock.advance(60 * MINUTE);
      await client.send(toOwnDomain);
      const third = await client.send(toOwnDomain).catch((e: Error) => e);
      expect(third).toMatchObject({ name: 'ThrottlingException' });
      expect((third as Error).message).toBe('Daily message quota exceeded.');
      sandbox.clock.advance(24 * 60 * MINUTE);
      await client.send(toOwnDomain);
    } finally {
      await sandbox.stop();
    }
  });
});

describe('delivery (SPEC §15)', () => {
  it('delivers only once the emulator clock passes the delay, with the receiving side on top', async () => {
    await ses.send(simple());
    await rig.ses.deliverDue();
    expect(lmtp.received).toEqual([]);
    rig.clock.advance(2_999);
    await rig.ses.deliverDue();
    expect(lmtp.received).toEqual([]);
    const message = await delivered();
    const [returnPath, received] = message.split('\r\n');
    expect(returnPath).toBe(`Return-Path: <bounce@${REGION}.amazonses.com>`);
    expect(received).toMatch(/^Received: from a\d+\.smtp-out\.eu-west-2\.amazonses\.com/);
    expect(message).toMatch(/ for <canary@inbox\.example\.org>; Wed, 17 Sep 2025 04:06:03 \+0000\r\n/);
    expect(lmtp.received[0]?.from).toBe(`bounce@${REGION}.amazonses.com`);
    const [entry] = rig.ses.outbox();
    expect(entry?.deliveries).toEqual([
      {
        recipient: `canary@${INBOX}`,
        sink: `lmtp://127.0.0.1:${lmtpPort()}`,
        at: '2025-09-17T04:06:03.000Z',
      },
    ]);
    expect(entry?.dueAt).toBe('2025-09-17T04:06:03.000Z');
  });

  it('keeps mail for a mailbox route in the emulator, readable and deletable in process and over HTTP', async () => {
    await ses.send(
      new SendEmailCommand({ ...simple().input, Destination: { ToAddresses: [`canary@${MAILBOX}`] } }),
    );
    rig.clock.advance(2_999);
    await rig.ses.deliverDue();
    expect(rig.ses.mailbox()).toEqual([]);
    rig.clock.advance(1);
    await rig.ses.deliverDue();
    const [held] = rig.ses.mailbox();
    expect(held).toMatchObject({ recipients: [`canary@${MAILBOX}`], at: '2025-09-17T04:06:03.000Z' });
    expect(held?.raw).toMatch(/^Return-Path: <bounce@eu-west-2\.amazonses\.com>\r\nReceived: from /);
    expect(held?.raw).toMatch(/ by mailbox\.ses-emulator\.invalid with ESMTP id /);
    expect(await rig.verifyDkim(held?.raw ?? '')).toEqual([
      { domain: DOMAIN, selector: 'mail2025', result: 'pass' },
    ]);
    expect(rig.ses.outbox()[0]?.deliveries).toEqual([
      { recipient: `canary@${MAILBOX}`, sink: `mailbox:${held?.id}`, at: '2025-09-17T04:06:03.000Z' },
    ]);
    expect(lmtp.received).toEqual([]);

    const listed = (await (await fetch(`${rig.ses.endpoint}/_emulator/mailbox`)).json()) as Array<{
      id: string;
    }>;
    expect(listed.map((m) => m.id)).toEqual([held?.id]);
    const remove = () =>
      fetch(`${rig.ses.endpoint}/_emulator/mailbox`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: held?.id }),
      });
    expect((await remove()).status).toBe(204);
    expect(rig.ses.mailbox()).toEqual([]);
    expect((await remove()).status).toBe(404);
    expect(rig.ses.removeFromMailbox(held?.id ?? '')).toBe(false);
  });

  it('records recipients with no route without delivering them', async () => {
    await ses.send(
      new SendEmailCommand({ ...simple().input, Destination: { ToAddresses: ['x@example.net'] } }),
    );
    await delivered().catch(() => undefined);
    expect(rig.ses.outbox()[0]?.deliveries).toEqual([{ recipient: 'x@example.net', sink: 'no-route' }]);
  });
});

describe('a key swapped behind the product (SPEC §16)', () => {
  it("restarts verification like another actor's put, then signs with the swapped selector once DNS serves it", async () => {
    const swapped = await rig.ses.swapKey({ region: REGION, identity: DOMAIN, selector: 'other' });
    expect(swapped.selector).toBe('other');
    await ses.send(simple());
    expect(await rig.verifyDkim(await delivered())).not.toContainEqual(
      expect.objectContaining({ domain: DOMAIN }),
    );
    rig.publish('other', swapped.publicKey);
    rig.clock.advance(6 * MINUTE);
    await ses.send(simple());
    expect(await rig.verifyDkim(await delivered())).toEqual([
      { domain: DOMAIN, selector: 'other', result: 'pass' },
    ]);
    expect(rig.ses.keyPuts().at(-1)).toMatchObject({
      operation: 'SwapKey',
      selector: 'other',
      outcome: 'accepted',
    });
  });
});
