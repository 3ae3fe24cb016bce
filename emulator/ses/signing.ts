/**
 * "Signing truth" (SPEC.md §6): the message SES would send for an identity at a moment of the
 * emulator clock, DKIM-signed with the held key only when SES would sign with it.
 */

import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';

export interface SampleOptions {
  /** The account whose identity sends; default: the emulator's default account. */
  account?: string;
  from?: string;
  to?: string;
  subject?: string;
  body?: string;
}

export interface SignedSample {
  message: string;
  signedWithDomainKey: boolean;
  /** The envelope sender (MAIL FROM) SES would use: the custom MAIL FROM domain only when it is SUCCESS. */
  envelopeFrom: string;
  selector?: string;
}

const CRLF = '\r\n';

export function buildSampleMessage(
  domain: string,
  now: Date,
  opts: SampleOptions & { envelopeFrom: string },
  note?: string,
): string {
  const headers = [
    `Return-Path: <${opts.envelopeFrom}>`,
    `From: ${opts.from ?? `sender@${domain}`}`,
    `To: ${opts.to ?? 'recipient@example.net'}`,
    `Subject: ${opts.subject ?? 'byodkim emulator sample'}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: 7bit',
  ];
  if (note !== undefined) headers.push(`X-SES-Emulator-Note: ${note}`);
  const body = (opts.body ?? 'This message was produced by the byodkim SES emulator.')
    .replace(/\r?\n/g, CRLF)
    .concat(CRLF);
  return headers.join(CRLF) + CRLF + CRLF + body;
}

export async function signMessage(
  message: string,
  signing: { domain: string; selector: string; privateKey: KeyObject; now: Date },
): Promise<string> {
  const signatureOptions = {
    signingDomain: signing.domain,
    selector: signing.selector,
    privateKey: signing.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    algorithm: 'rsa-sha256',
    canonicalization: 'relaxed/relaxed',
  };
  const result = await dkimSign(message, {
    ...signatureOptions,
    signatureData: [signatureOptions],
    signTime: signing.now,
  });
  const firstError = result.errors[0];
  if (firstError) throw firstError;
  return result.signatures + message;
}

export function rfc5322Date(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${days[date.getUTCDay()]}, ${date.getUTCDate()} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
