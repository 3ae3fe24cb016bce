/**
 * The canary's way out: SES v2 SendEmail with Simple content (SES assembles the MIME) and the
 * canary header, in the region asked. Send calls have their own quota, not the control-plane
 * budget (SES-REALITY.md §1), so they are not paced with the SES reads and puts.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { CanaryMessage } from '../../domain/canary.js';
import type { MailSender } from '../../ports.js';
import type { AwsClientFactory } from './clients.js';
import { awsCall } from './errors.js';

export class SesMailSender implements MailSender {
  readonly #clients: AwsClientFactory;

  constructor(options: { clients: AwsClientFactory }) {
    this.#clients = options.clients;
  }

  async send(region: string, message: CanaryMessage): Promise<{ messageId: string }> {
    const call = { service: 'SES', operation: 'SendEmail', region, target: { from: message.from } };
    const output = await awsCall(call, () =>
      this.#clients
        .client('sesv2', region, (c) => new SESv2Client(c))
        .send(
          new SendEmailCommand({
            FromEmailAddress: message.from,
            Destination: { ToAddresses: [message.to] },
            Content: {
              Simple: {
                Subject: { Data: message.subject },
                Body: { Text: { Data: message.text } },
                Headers: message.headers.map((h) => ({ Name: h.name, Value: h.value })),
              },
            },
          }),
        ),
    );
    return { messageId: output.MessageId ?? '' };
  }
}
