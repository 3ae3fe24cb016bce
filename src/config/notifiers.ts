/**
 * The notifiers that need more than the local wiring of src/config/dns.ts (stdout, file):
 * SNS (the CDK construct's topic receives every hand-off, failure and rotation) and signed
 * webhooks (secret from `BYODKIM_WEBHOOK_SECRET`). Passed to `buildNotifier` as `others`;
 * loaded with `import()` only when the config has such an entry (it pulls in the SNS SDK).
 */
import type { AwsClientFactory } from '../adapters/aws/clients.js';
import { SnsNotifier } from '../adapters/notify/sns.js';
import { WebhookNotifier } from '../adapters/notify/webhook.js';
import type { NotifierWiringOptions } from './dns.js';

export function remoteNotifiers(
  clients: AwsClientFactory,
  env: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>,
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
        return new WebhookNotifier({ url: entry.url, timeoutMs: entry.timeoutMs, env });
      default:
        return undefined;
    }
  };
}
