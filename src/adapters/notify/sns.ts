/**
 * Publishes every notification to an SNS topic: a short subject for the e-mail line and a
 * message a DNS team can act on without opening anything else (record names, the exact
 * TXT values to publish or remove, zone-file lines, and for removals the earliest safe
 * moment). Message attributes `kind` and `domain` let subscribers filter, e.g. one DNS team
 * per domain.
 *
 * Record values are public keys (`p=`); private key material never appears: the message
 * is checked for PEM private keys before it leaves, and errors are sanitized.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { quoteTxtChunk, splitTxtValue } from '../../domain/record.js';
import { ByodkimError, InputError } from '../../errors.js';
import type { DnsRecordChange, Notification, Notifier } from '../../ports.js';
import { AwsClientFactory } from '../aws/clients.js';
import { awsCall } from '../aws/errors.js';

export interface SnsNotifierOptions {
  /** `arn:<partition>:sns:<region>:<account>:<name>`. */
  topicArn: string;
  /** Region of the topic; default: the region named in `topicArn`. */
  region?: string;
  /** Injected client (tests, Lambda); otherwise one from `clients` for the topic's region. */
  client?: SNSClient;
  clients?: AwsClientFactory;
}

export interface SnsMessage {
  /** At most 100 printable ASCII characters, no line breaks (SNS's rules for e-mail subjects). */
  subject: string;
  message: string;
}

const SERVICE = 'SNS';
const SUBJECT_MAX = 100;

/**
 * @example
 * ```ts
 * const notifier = new SnsNotifier({ topicArn: 'arn:aws:sns:ap-northeast-1:123456789012:byodkim' });
 * await notifier.notify({ kind: 'failure', domain: 'example.com', reason: 'SES_FAILED', message: 'SES reported FAILED' });
 * ```
 */
export class SnsNotifier implements Notifier {
  readonly topicArn: string;
  readonly region: string;
  readonly #client: SNSClient | undefined;
  readonly #clients: AwsClientFactory;

  constructor(options: SnsNotifierOptions) {
    const parts = options.topicArn.split(':');
    if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== 'sns' || !parts[5]) {
      throw new InputError('SNS_TOPIC_INVALID', `"${options.topicArn}" is not an SNS topic ARN`, {
        context: { topicArn: options.topicArn },
      });
    }
    this.topicArn = options.topicArn;
    this.region = options.region ?? (parts[3] as string);
    this.#client = options.client;
    this.#clients = options.clients ?? new AwsClientFactory();
  }

  get #sns(): SNSClient {
    return this.#client ?? this.#clients.client('sns', this.region, (c) => new SNSClient(c));
  }

  async notify(notification: Notification): Promise<void> {
    const { subject, message } = renderSnsMessage(notification);
    await awsCall(
      {
        service: SERVICE,
        operation: 'Publish',
        region: this.region,
        target: { topic: this.topicArn, domain: notification.domain, kind: notification.kind },
      },
      () =>
        this.#sns.send(
          new PublishCommand({
            TopicArn: this.topicArn,
            Subject: subject,
            Message: message,
            MessageAttributes: {
              kind: { DataType: 'String', StringValue: notification.kind },
              domain: { DataType: 'String', StringValue: notification.domain },
            },
          }),
        ),
    );
  }
}

/** Subject and body for one notification. Pure; exported for tests and other text channels. */
export function renderSnsMessage(notification: Notification): SnsMessage {
  let subject: string;
  let lines: string[];
  switch (notification.kind) {
    case 'dns-hand-off': {
      const { domain, add, remove, files } = notification;
      const what = [
        add.length > 0 ? `publish ${count(add.length, 'TXT record')}` : undefined,
        remove.length > 0 ? `remove ${count(remove.length, 'TXT record')}` : undefined,
      ]
        .filter((w) => w !== undefined)
        .join(' and ');
      subject = `byodkim: DNS change needed for ${domain}`;
      lines = [
        `byodkim needs a DNS change for ${domain}: please ${what || 'review the records below'}.`,
        '',
        ...add.flatMap((c, i) => describeChange(c, `Add ${i + 1} of ${add.length}`)),
        ...remove.flatMap((c, i) => describeChange(c, `Remove ${i + 1} of ${remove.length}`)),
      ];
      if (files !== undefined && files.length > 0) {
        lines.push('Request files written by byodkim:', ...files.map((f) => `  ${f}`), '');
      }
      lines.push(
        'byodkim checks every authoritative nameserver on each run and goes on by itself once all of them',
        'serve exactly these values. Publish the values as given: do not use the SES console CSV, whose',
        'p=customerProvidedPublicKey is a placeholder.',
      );
      break;
    }
    case 'failure':
      subject = `byodkim: failure for ${notification.domain}`;
      lines = [
        `byodkim could not complete a step for ${notification.domain}.`,
        '',
        `Reason:  ${notification.reason}`,
        `Details: ${notification.message}`,
        '',
        'The next run retries; see the function logs or "byodkim status" for the full state.',
      ];
      break;
    case 'rotated':
      subject = `byodkim: ${notification.domain} now signs with ${notification.selector}`;
      lines = [
        `${notification.domain}: ${notification.message}`,
        '',
        `Selector: ${notification.selector}`,
        `Record:   ${notification.selector}._domainkey.${notification.domain}`,
      ];
      break;
  }
  const message = `${lines.join('\n')}\n`;
  if (/PRIVATE KEY/.test(message)) {
    // Defence in depth: nothing upstream should ever hand a private key to a notifier.
    throw new ByodkimError(
      'NOTIFY_KEY_MATERIAL',
      `refusing to publish a notification for ${notification.domain}: it contains a private key`,
      {
        context: { domain: notification.domain, kind: notification.kind },
      },
    );
  }
  return { subject: snsSubject(subject), message };
}

function describeChange(change: DnsRecordChange, heading: string): string[] {
  const ttl = change.ttl ?? 300;
  const zoneLine = `${change.name}. ${ttl} IN TXT ( ${splitTxtValue(change.value).map(quoteTxtChunk).join(' ')} )`;
  const lines = [
    `${heading}: ${change.action === 'delete' ? 'REMOVE' : 'ADD'} TXT ${change.name}`,
    `  selector:   ${change.selector}`,
  ];
  if (change.action === 'delete') {
    lines.push(`  not before: ${change.notBefore ?? 'now (no grace period left)'}`);
  } else {
    lines.push(`  TTL:        ${ttl}`);
  }
  lines.push(
    `  why:        ${change.reason}`,
    `  value:      ${change.value}`,
    `  zone file:  ${zoneLine}`,
    '',
  );
  return lines;
}

/** SNS subjects: ASCII printable, no line breaks, at most 100 characters. */
function snsSubject(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3)}...` : ascii;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
