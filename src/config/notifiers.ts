/**
 * The notifiers the Lambda adds to what src/config/dns.ts builds (stdout, file): SNS (the
 * CDK construct's topic receives every hand-off, failure and rotation) and signed webhooks
 * (secret from `BYODKIM_WEBHOOK_SECRET`). Passed to `buildNotifier` as `others`.
 */
import type { AwsClientFactory } from '../adapters/aws/clients.js';
import { SnsNotifier } from '../adapters/notify/sns.js';
import { WebhookNotifier } from '../adapters/notify/webhook.js';
import type { NotifierWiringOptions } from '../config/dns.js';
import type { Env } from './config-source.js';

export function lambdaNotifiers(
  clients: AwsClientFactory,
  env: Env,
): NonNullable<NotifierWiringOptions['others']> {
  return (entry) => {
    switch (entry.type) {
      case 'sns':
        return new SnsNotifier({
          topicArn: entry.topicArn,
          clients,
          ...(entry.region === undefined ? {} : { region: entry.region }),
        });
      case 'webhook':
        return new WebhookNotifier({ url: entry.url, env });
      default:
        return undefined;
    }
  };
}
