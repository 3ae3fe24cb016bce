import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { SnsNotifier } from '../../../src/adapters/notify/sns.js';
import { ServiceError } from '../../../src/errors.js';
import type { Notification } from '../../../src/ports.js';
import { motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'ap-northeast-1';

type Json = Record<string, unknown>;

interface Delivered {
  Type: string;
  Subject?: string;
  Message: string;
}

describe.skipIf(support.skip)(`SnsNotifier against moto${support.label}`, () => {
  const moto = useMoto();
  let clients: AwsClientFactory;
  let topicArn: string;
  let server: Server;
  const delivered: Delivered[] = [];

  beforeAll(async () => {
    // An HTTP subscriber: moto delivers every published message to it, as SNS would.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        delivered.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Delivered);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    clients = motoClients(moto.endpoint);
    const sns = clients.client('sns', REGION, (c) => new SNSClient(c));
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'byodkim-notifications' }))).TopicArn as string;
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'http',
        Endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sns`,
      }),
    );
  });

  afterAll(async () => {
    clients?.destroy();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  const notifications = (): Delivered[] => delivered.filter((d) => d.Type === 'Notification');

  it('publishes a DNS hand-off with subject, readable records and filterable attributes', async () => {
    const handOff: Notification = {
      kind: 'dns-hand-off',
      domain: 'example.com',
      add: [
        {
          action: 'upsert',
          name: 'example-20260301-1._domainkey.example.com',
          value: 'v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA',
          ttl: 300,
          selector: 'example-20260301-1',
          reason: 'PUBLISH_NEXT',
        },
      ],
      remove: [
        {
          action: 'delete',
          name: 'example-20250301-1._domainkey.example.com',
          value: 'v=DKIM1; k=rsa; p=OLD',
          selector: 'example-20250301-1',
          reason: 'RETIRE_OLD',
          notBefore: '2026-03-08T00:00:00.000Z',
        },
      ],
    };
    const before = notifications().length;
    await new SnsNotifier({ topicArn, clients }).notify(handOff);
    await expect.poll(() => notifications().length, { timeout: 10_000 }).toBe(before + 1);
    const message = notifications().at(-1) as Delivered;
    expect(message.Subject).toBe('byodkim: DNS change needed for example.com');
    expect(message.Message).toContain('ADD TXT example-20260301-1._domainkey.example.com');
    expect(message.Message).toContain(
      'value:      v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA',
    );
    expect(message.Message).toContain('not before: 2026-03-08T00:00:00.000Z');
    expect(message.Message).not.toMatch(/PRIVATE KEY/);
    // moto's HTTP delivery leaves message attributes out; its model dump keeps them.
    const data = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as {
      sns: { Topic: Array<{ arn: string; sent_notifications: Array<[string, string, string, Json]> }> };
    };
    const sent = data.sns.Topic.find((t) => t.arn === topicArn)?.sent_notifications.at(-1);
    expect(sent?.[3]).toEqual({
      kind: { Type: 'String', Value: 'dns-hand-off' },
      domain: { Type: 'String', Value: 'example.com' },
    });
  });

  it('takes an injected client and the region from the topic ARN', async () => {
    const client = clients.client('sns', REGION, (c) => new SNSClient(c));
    const notifier = new SnsNotifier({ topicArn, client });
    expect(notifier.region).toBe(REGION);
    const before = notifications().length;
    await notifier.notify({
      kind: 'rotated',
      domain: 'example.com',
      selector: 'sel2',
      message: 'now signing with sel2',
    });
    await expect.poll(() => notifications().length, { timeout: 10_000 }).toBe(before + 1);
    expect(notifications().at(-1)?.Subject).toBe('byodkim: example.com now signs with sel2');
  });

  it('reports a missing topic as a ServiceError naming topic, domain and region', async () => {
    const missing = topicArn.replace('byodkim-notifications', 'no-such-topic');
    const error = await new SnsNotifier({ topicArn: missing, clients })
      .notify({ kind: 'failure', domain: 'example.com', reason: 'SES_FAILED', message: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as Error).message).toMatch(
      /SNS Publish for topic .*no-such-topic.*domain example\.com.* in ap-northeast-1 failed/,
    );
  });

  it('refuses something that is not a topic ARN', () => {
    expect(() => new SnsNotifier({ topicArn: 'byodkim-notifications' })).toThrow(/not an SNS topic ARN/);
  });
});
