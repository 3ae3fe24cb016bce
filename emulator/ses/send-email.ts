/**
 * SendEmail's input as SES reads it (SPEC.md §14): which content, who sends, who receives,
 * and the message SES will sign — assembled from Simple content, or the caller's Raw MIME
 * checked against the documented criteria. Pure: no identity or quota is looked at here.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, SesApiError } from './errors.js';
import { optionalObject, optionalString } from './inputs.js';
import { rfc5322Date } from './signing.js';

type Json = Record<string, unknown>;

const CRLF = '\r\n';
/** RFC 5321 §4.5.3.1.6, quoted by the RawMessage documentation (the limit includes CRLF). */
const MAX_LINE = 1000;
/** Quotas: "The maximum message size (including attachments) is 40 MB per message" (v2). */
const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;
/** Quotas: 50 recipients per message. */
export const MAX_RECIPIENTS = 50;

export interface OutgoingMessage {
  /** The From address (FromEmailAddress, else the From header). */
  from: string;
  /** To, Cc and Bcc, lower-cased addresses. */
  recipients: string[];
  /** The message as SES will sign it: CRLF line ends, no Bcc header. */
  text: string;
}

export const messageRejected = (message: string): SesApiError =>
  new SesApiError('MessageRejected', 400, message);

/** Reads a SendEmail request body into the message SES would send, or throws its error. */
export function readSendEmail(input: Json, now: Date): OutgoingMessage {
  const content = optionalObject(input.Content, 'Content');
  if (content === undefined) throw badRequest('Content is required.');
  const kinds = (['Simple', 'Raw', 'Template'] as const).filter((k) => content[k] !== undefined);
  if (kinds.length !== 1) throw badRequest('Content must have exactly one of Simple, Raw or Template.');
  if (kinds[0] === 'Template') throw badRequest('Template content is not modelled by the emulator.');
  const fromField = optionalString(input.FromEmailAddress, 'FromEmailAddress');
  const destination = readDestination(input.Destination);
  const replyTo = addressList(input.ReplyToAddresses, 'ReplyToAddresses');
  const built =
    kinds[0] === 'Simple'
      ? buildSimple(optionalObject(content.Simple, 'Content.Simple') ?? {}, {
          from: fromField,
          destination,
          replyTo,
          now,
        })
      : readRaw(optionalObject(content.Raw, 'Content.Raw') ?? {}, fromField, destination, now);
  const recipients = [...new Set(built.recipients.map((r) => r.toLowerCase()))];
  if (recipients.length === 0) throw badRequest('The message has no recipients (To, Cc or Bcc).');
  if (recipients.length > MAX_RECIPIENTS) {
    throw messageRejected(`The message has ${recipients.length} recipients; the limit is ${MAX_RECIPIENTS}.`);
  }
  return { from: built.from, recipients, text: built.text };
}

interface Destination {
  to: string[];
  cc: string[];
  bcc: string[];
}

function readDestination(value: unknown): Destination | undefined {
  const destination = optionalObject(value, 'Destination');
  if (destination === undefined) return undefined;
  return {
    to: addressList(destination.ToAddresses, 'Destination.ToAddresses'),
    cc: addressList(destination.CcAddresses, 'Destination.CcAddresses'),
    bcc: addressList(destination.BccAddresses, 'Destination.BccAddresses'),
  };
}

function addressList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw badRequest(`${field} must be a list of email addresses.`);
  }
  return value.map((v) => {
    const address = bareAddress(v as string);
    if (address === undefined) throw badRequest(`${field}: <${String(v)}> is not an email address.`);
    return address;
  });
}

/** The address of `Name <a@b>` or `a@b`, or undefined when there is none. */
export function bareAddress(value: string): string | undefined {
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  const address = angle?.[1] ?? value.trim();
  return /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/.test(address) ? address : undefined;
}

function buildSimple(
  simple: Json,
  opts: { from: string | undefined; destination: Destination | undefined; replyTo: string[]; now: Date },
): { from: string; recipients: string[]; text: string } {
  if (opts.from === undefined) throw badRequest('FromEmailAddress is required for Simple content.');
  const from = bareAddress(opts.from);
  if (from === undefined) throw badRequest(`FromEmailAddress <${opts.from}> is not an email address.`);
  const subject = optionalObject(simple.Subject, 'Content.Simple.Subject');
  const subjectText = optionalString(subject?.Data, 'Content.Simple.Subject.Data');
  if (subjectText === undefined) throw badRequest('Content.Simple.Subject.Data is required.');
  if (!isAscii(subjectText) && subject?.Charset === undefined) {
    throw badRequest(
      'Content.Simple.Subject can only contain 7-bit ASCII characters unless a Charset is given.',
    );
  }
  const body = optionalObject(simple.Body, 'Content.Simple.Body');
  const textPart = optionalString(optionalObject(body?.Text, 'Content.Simple.Body.Text')?.Data, 'Text.Data');
  const htmlPart = optionalString(optionalObject(body?.Html, 'Content.Simple.Body.Html')?.Data, 'Html.Data');
  if (textPart === undefined && htmlPart === undefined) {
    throw badRequest('Content.Simple.Body needs Text or Html.');
  }
  const destination = opts.destination ?? { to: [], cc: [], bcc: [] };
  const headers = [
    `From: ${opts.from}`,
    ...(destination.to.length > 0 ? [`To: ${destination.to.join(', ')}`] : []),
    ...(destination.cc.length > 0 ? [`Cc: ${destination.cc.join(', ')}`] : []),
    ...(opts.replyTo.length > 0 ? [`Reply-To: ${opts.replyTo.join(', ')}`] : []),
    `Subject: ${isAscii(subjectText) ? subjectText : encodedWord(subjectText)}`,
    `Date: ${rfc5322Date(opts.now)}`,
    ...readHeaders(simple.Headers),
    'MIME-Version: 1.0',
  ];
  let bodyText: string;
  if (textPart !== undefined && htmlPart !== undefined) {
    const boundary = `=_${randomUUID()}`;
    headers.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
    bodyText = [
      `--${boundary}`,
      ...part('text/plain', textPart),
      `--${boundary}`,
      ...part('text/html', htmlPart),
      `--${boundary}--`,
      '',
    ].join(CRLF);
  } else {
    const [type, data] = textPart !== undefined ? ['text/plain', textPart] : ['text/html', htmlPart ?? ''];
    headers.push(...part(type, data).slice(0, 2));
    bodyText = base64Lines(data) + CRLF;
  }
  return {
    from,
    recipients: [...destination.to, ...destination.cc, ...destination.bcc],
    text: headers.join(CRLF) + CRLF + CRLF + bodyText,
  };
}

function part(type: string, data: string): string[] {
  return [`Content-Type: ${type}; charset=UTF-8`, 'Content-Transfer-Encoding: base64', '', base64Lines(data)];
}

function base64Lines(data: string): string {
  return (
    Buffer.from(data, 'utf8')
      .toString('base64')
      .match(/.{1,76}/g) ?? ['']
  ).join(CRLF);
}

function readHeaders(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('Content.Simple.Headers must be a list.');
  return value.map((h, i) => {
    const header = optionalObject(h, `Content.Simple.Headers[${i}]`) ?? {};
    const name = optionalString(header.Name, `Headers[${i}].Name`) ?? '';
    const text = optionalString(header.Value, `Headers[${i}].Value`) ?? '';
    if (!/^[\x21-\x39\x3b-\x7e]{1,126}$/.test(name)) {
      throw badRequest(`Headers[${i}].Name must be 1 to 126 printable ASCII characters without a colon.`);
    }
    if (!/^[\x20-\x7e]{0,995}$/.test(text) || name.length + text.length > 996) {
      throw badRequest(
        `Headers[${i}].Value must be printable ASCII, at most 995 characters and 996 with the name.`,
      );
    }
    return `${name}: ${text}`;
  });
}

function readRaw(
  raw: Json,
  fromField: string | undefined,
  destination: Destination | undefined,
  now: Date,
): { from: string; recipients: string[]; text: string } {
  const data = raw.Data;
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(data)) {
    throw badRequest('Content.Raw.Data must be the base64 of the message.');
  }
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw messageRejected(`The message is ${bytes.length} bytes; the limit is ${MAX_MESSAGE_BYTES}.`);
  }
  const text = bytes.toString('utf8').replace(/\r?\n/g, CRLF);
  const split = text.indexOf(CRLF + CRLF);
  if (split < 0) {
    throw messageRejected('The message has to contain a header and a body, separated by one blank line.');
  }
  const longLine = text.split(CRLF).findIndex((line) => line.length + 2 > MAX_LINE);
  if (longLine >= 0) {
    throw messageRejected(`Line ${longLine + 1} of the message is longer than ${MAX_LINE} characters.`);
  }
  const headerBlock = text.slice(0, split);
  const body = text.slice(split + 4);
  const fields = unfoldHeaders(headerBlock);
  const headerFrom = fields.find((f) => f.name === 'from')?.value;
  const fromText = fromField ?? headerFrom;
  const from = fromText === undefined ? undefined : bareAddress(fromText);
  if (from === undefined) {
    throw messageRejected('Missing required header: From (and no FromEmailAddress was given).');
  }
  const listed = (name: string) =>
    fields
      .filter((f) => f.name === name)
      .flatMap((f) => f.value.split(','))
      .map((a) => bareAddress(a))
      .filter((a): a is string => a !== undefined);
  const recipients = destination
    ? [...destination.to, ...destination.cc, ...destination.bcc]
    : [...listed('to'), ...listed('cc'), ...listed('bcc')];
  // A Bcc header never leaves the sending MTA; a missing Date is added (RFC 5322 §3.6).
  const kept = headerBlock.split(CRLF).reduce<{ lines: string[]; dropping: boolean }>(
    (acc, line) => {
      const continuation = /^[ \t]/.test(line);
      const dropping = continuation ? acc.dropping : /^bcc\s*:/i.test(line);
      if (!dropping) acc.lines.push(line);
      return { lines: acc.lines, dropping };
    },
    { lines: [], dropping: false },
  ).lines;
  if (!fields.some((f) => f.name === 'date')) kept.push(`Date: ${rfc5322Date(now)}`);
  return { from, recipients, text: kept.join(CRLF) + CRLF + CRLF + body };
}

function unfoldHeaders(block: string): Array<{ name: string; value: string }> {
  return block
    .replace(/\r\n([ \t])/g, '$1')
    .split(CRLF)
    .map((line) => {
      const colon = line.indexOf(':');
      return colon < 0
        ? { name: '', value: line }
        : { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() };
    });
}

/** SES gives the message its own Message-ID (SPEC.md §14). */
export function withSesMessageId(text: string, id: string): string {
  const split = text.indexOf(CRLF + CRLF);
  const headers = text
    .slice(0, split)
    .replace(/\r\n[ \t]+/g, ' ')
    .split(CRLF)
    .filter((line) => !/^message-id\s*:/i.test(line));
  headers.push(`Message-ID: <${id}@email.amazonses.com>`);
  return headers.join(CRLF) + text.slice(split);
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}
