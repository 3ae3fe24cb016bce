/**
 * The canary inbox SES receiving fills: a receipt rule's S3 action stores each message raw
 * under a prefix (the CDK construct and the templates deploy it, with SSE-KMS). Objects
 * carry no domain in their name, so each new object is read once and remembered by its key;
 * later domains of the same pass find theirs without reading the bucket again.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { canaryTagOf } from '../../domain/canary.js';
import type { CanaryInbox, InboxMessage } from '../../ports.js';
import type { AwsClientFactory } from './clients.js';
import { awsCall } from './errors.js';

/** Objects remembered at most (each a few KB): the inbox is emptied as canaries are judged. */
const REMEMBERED = 2_000;

export interface S3InboxOptions {
  bucket: string;
  prefix: string;
  region?: string;
  clients: AwsClientFactory;
}

export class S3CanaryInbox implements CanaryInbox {
  readonly description: string;
  readonly #options: S3InboxOptions;
  /** key → the message, or null for objects that are not canaries. */
  readonly #seen = new Map<string, { domain: string; message: InboxMessage } | null>();

  constructor(options: S3InboxOptions) {
    this.#options = options;
    this.description = `s3://${options.bucket}/${options.prefix}`;
  }

  #client(): S3Client {
    return this.#options.clients.client('s3', this.#options.region, (c) => new S3Client(c));
  }

  #call(operation: string, key?: string) {
    return {
      service: 'S3',
      operation,
      region: this.#options.region,
      target: { bucket: this.#options.bucket, ...(key ? { key } : { prefix: this.#options.prefix }) },
    };
  }

  async collect(domain: string): Promise<InboxMessage[]> {
    const keys: Array<{ key: string; lastModified?: Date }> = [];
    let token: string | undefined;
    do {
      const page = await awsCall(this.#call('ListObjectsV2'), () =>
        this.#client().send(
          new ListObjectsV2Command({
            Bucket: this.#options.bucket,
            Prefix: this.#options.prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? [])
        if (o.Key) keys.push({ key: o.Key, ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const present = new Set(keys.map((k) => k.key));
    for (const key of this.#seen.keys()) if (!present.has(key)) this.#seen.delete(key);
    for (const { key, lastModified } of keys) {
      if (this.#seen.has(key)) continue;
      const raw = await this.#read(key);
      const tag = canaryTagOf(raw);
      this.#seen.set(
        key,
        tag
          ? {
              domain: tag.domain,
              message: { ref: key, raw, ...(lastModified ? { storedAt: lastModified.toISOString() } : {}) },
            }
          : null,
      );
      if (this.#seen.size > REMEMBERED) this.#seen.delete(this.#seen.keys().next().value as string);
    }
    return [...this.#seen.values()].flatMap((s) => (s && s.domain === domain ? [s.message] : []));
  }

  async #read(key: string): Promise<string> {
    return awsCall(this.#call('GetObject', key), async () => {
      const object = await this.#client().send(
        new GetObjectCommand({ Bucket: this.#options.bucket, Key: key }),
      );
      return (await object.Body?.transformToString('utf8')) ?? '';
    });
  }

  async discard(ref: string): Promise<void> {
    await awsCall(this.#call('DeleteObject', ref), () =>
      this.#client().send(new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: ref })),
    );
    this.#seen.delete(ref);
  }
}
