/**
 * Private keys in S3, in the seed system's layout:
 *
 *   s3://<bucket>/<prefix><domain>/<selector>/private_key.pem      (prefix default `dkim-keys/`)
 *   s3://<bucket>/<prefix>.archive/<domain>/<selector>-<time>.pem  (retired, when archiving)
 *
 * Every object is written with SSE-KMS (`aws:kms`, the configured key or the bucket's
 * default KMS key) and `If-None-Match: *`, so S3 itself refuses to replace an existing key:
 * two writers racing on one selector cannot both succeed, and the first key stays intact.
 * After writing, the object is read back and must be the same key, encrypted with KMS.
 *
 * Stores that ignore `If-None-Match` (some S3-compatible servers and old emulators) can be
 * given `guardWithHead: true`: a HEAD before the PUT then refuses an existing selector. That
 * guard leaves a race (two writers can both see "absent" before either PUT lands, and the
 * later PUT wins), which only the conditional PUT closes; so the conditional PUT is always
 * sent as well. moto 5 honours If-None-Match (412 PreconditionFailed), like real S3.
 *
 * @example
 * const vault = new S3KeyVault({ bucket: 'dkim-keys-prod', region: 'ap-northeast-1', kmsKeyId: 'alias/dkim' });
 * const ref = await vault.put('example.com', 'example-20260101-1', key); // s3://dkim-keys-prod/dkim-keys/...
 */
import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { type DkimPrivateKey, importPrivateKey } from '../../domain/key.js';
import { assertValidSelector } from '../../domain/selector.js';
import { AlreadyExistsError, CorruptDataError, InputError, ReadBackError } from '../../errors.js';
import type { KeyVault } from '../../ports.js';
import { AwsClientFactory } from './clients.js';
import { awsCall, awsErrorName, httpStatusOf } from './errors.js';

export interface S3KeyVaultOptions {
  bucket: string;
  /** Key prefix, `dkim-keys/` by default (the seeds' layout). A trailing `/` is added if missing. */
  prefix?: string;
  /** KMS key (id, ARN or alias) for SSE-KMS; the bucket's default `aws:kms` key when omitted. */
  kmsKeyId?: string;
  /** Region of the bucket; the SDK's default region when omitted. */
  region?: string;
  /** What happens to a retired key: destroyed (default) or copied under `<prefix>.archive/` first. */
  retired?: 'delete' | 'archive';
  now?: () => Date;
  clients?: AwsClientFactory;
  /** An injected client (must be for the bucket's region). */
  client?: S3Client;
  /** HEAD before PUT for stores that ignore If-None-Match (see the module comment). Default false. */
  guardWithHead?: boolean;
}

const SERVICE = 'S3';
const KEY_FILE = 'private_key.pem';

/** `s3://bucket/key` → parts; a bare key is taken as relative to `defaultBucket`. */
export function parseS3Location(path: string, defaultBucket?: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(path.trim());
  if (match) return { bucket: match[1] as string, key: match[2] as string };
  const key = path.trim().replace(/^\/+/, '');
  if (defaultBucket !== undefined && key !== '' && !key.includes('://'))
    return { bucket: defaultBucket, key };
  throw new InputError('S3_PATH_INVALID', `"${path}" is not an S3 location (expected s3://bucket/key)`, {
    context: { path },
  });
}

export class S3KeyVault implements KeyVault {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly #kmsKeyId: string | undefined;
  readonly #region: string | undefined;
  readonly #retired: 'delete' | 'archive';
  readonly #now: () => Date;
  readonly #clients: AwsClientFactory;
  readonly #client: S3Client | undefined;
  readonly #guardWithHead: boolean;

  constructor(options: S3KeyVaultOptions) {
    this.bucket = options.bucket;
    const prefix = options.prefix ?? 'dkim-keys/';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#kmsKeyId = options.kmsKeyId;
    this.#region = options.region;
    this.#retired = options.retired ?? 'delete';
    this.#now = options.now ?? (() => new Date());
    this.#clients = options.clients ?? new AwsClientFactory();
    this.#client = options.client;
    this.#guardWithHead = options.guardWithHead ?? false;
    this.description = `s3://${this.bucket}/${this.prefix}`;
  }

  get #s3(): S3Client {
    return this.#client ?? this.#clients.client('s3', this.#region, (c) => new S3Client(c));
  }

  /** The object key of a selector's private key. */
  keyOf(domain: string, selector: string): string {
    assertValidSelector(selector);
    if (!/^[a-z0-9.-]+$/.test(domain) || domain.startsWith('.')) {
      throw new InputError('DOMAIN_INVALID', `domain "${domain}" cannot name a key location`, {
        context: { domain },
      });
    }
    return `${this.prefix}${domain}/${selector}/${KEY_FILE}`;
  }

  uriOf(domain: string, selector: string): string {
    return `s3://${this.bucket}/${this.keyOf(domain, selector)}`;
  }

  async put(domain: string, selector: string, key: DkimPrivateKey): Promise<string> {
    const objectKey = this.keyOf(domain, selector);
    const uri = `s3://${this.bucket}/${objectKey}`;
    const exists = (): AlreadyExistsError =>
      new AlreadyExistsError(
        `a key for selector ${selector} of ${domain} already exists at ${uri}; keys are never overwritten`,
        { context: { domain, selector, path: uri } },
      );
    const target = { bucket: this.bucket, key: objectKey };
    if (this.#guardWithHead && (await this.#head(objectKey)) !== undefined) throw exists();
    const pem = key.toPem();
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: objectKey,
      Body: pem,
      ContentType: 'application/x-pem-file',
      IfNoneMatch: '*',
      ServerSideEncryption: 'aws:kms',
    };
    if (this.#kmsKeyId !== undefined) input.SSEKMSKeyId = this.#kmsKeyId;
    await awsCall({ service: SERVICE, operation: 'PutObject', region: this.#region, target }, async () => {
      try {
        await this.#s3.send(new PutObjectCommand(input));
      } catch (error) {
        // 412: the object exists. 409 ConditionalRequestConflict: another conditional write
        // to the same key is in flight; either way this selector is taken.
        const status = httpStatusOf(error);
        const name = awsErrorName(error);
        if (status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') {
          throw exists();
        }
        throw error;
      }
    });

    // Byte-equal is the normal case; a store that normalises line endings may still hold the same key.
    const back = await this.#read(objectKey, { domain, selector });
    if (
      back === undefined ||
      (back.text !== pem && !this.#parse(back.text, uri, { domain, selector }, false)?.samePair(key))
    ) {
      throw new ReadBackError(`the key written to ${uri} does not read back as the same key`, {
        context: { domain, selector, path: uri },
      });
    }
    if (back.sse !== 'aws:kms') {
      throw new ReadBackError(
        `the key written to ${uri} reads back without SSE-KMS (ServerSideEncryption: ${back.sse ?? 'none'})`,
        { context: { domain, selector, path: uri, serverSideEncryption: back.sse } },
      );
    }
    return uri;
  }

  async get(domain: string, selector: string): Promise<DkimPrivateKey | undefined> {
    const objectKey = this.keyOf(domain, selector);
    const back = await this.#read(objectKey, { domain, selector });
    if (back === undefined) return undefined;
    return this.#parse(back.text, `s3://${this.bucket}/${objectKey}`, { domain, selector });
  }

  /**
   * Reads a key by an explicit location, e.g. the seed secret's `s3_key_path`
   * (`s3://bucket/dkim-keys/<domain>/<selector>/private_key.pem`, or a bare object key in
   * this vault's bucket). Undefined if there is no such object.
   */
  async getAt(path: string): Promise<DkimPrivateKey | undefined> {
    const { bucket, key } = parseS3Location(path, this.bucket);
    const back = await this.#read(key, {}, bucket);
    if (back === undefined) return undefined;
    return this.#parse(back.text, `s3://${bucket}/${key}`, {});
  }

  async retire(domain: string, selector: string): Promise<void> {
    const objectKey = this.keyOf(domain, selector);
    const target = { bucket: this.bucket, key: objectKey };
    if (this.#retired === 'archive') {
      const stamp = this.#now().toISOString().replace(/[:.]/g, '');
      const archiveKey = `${this.prefix}.archive/${domain}/${selector}-${stamp}.pem`;
      const copy: CopyObjectCommandInput = {
        Bucket: this.bucket,
        Key: archiveKey,
        CopySource: `${this.bucket}/${encodeURIComponent(objectKey).replace(/%2F/g, '/')}`,
        ServerSideEncryption: 'aws:kms',
      };
      if (this.#kmsKeyId !== undefined) copy.SSEKMSKeyId = this.#kmsKeyId;
      const copied = await awsCall(
        {
          service: SERVICE,
          operation: 'CopyObject',
          region: this.#region,
          target: { ...target, to: archiveKey },
        },
        async () => {
          try {
            await this.#s3.send(new CopyObjectCommand(copy));
            return true;
          } catch (error) {
            if (awsErrorName(error) === 'NoSuchKey' || httpStatusOf(error) === 404) return false;
            throw error;
          }
        },
      );
      if (!copied) return; // already retired
    }
    // DeleteObject of a missing key succeeds: retiring twice is fine.
    await awsCall({ service: SERVICE, operation: 'DeleteObject', region: this.#region, target }, () =>
      this.#s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })),
    );
  }

  async list(domain: string): Promise<string[]> {
    const prefix = `${this.prefix}${domain}/`;
    const selectors: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await awsCall(
        {
          service: SERVICE,
          operation: 'ListObjectsV2',
          region: this.#region,
          target: { bucket: this.bucket, prefix },
        },
        () =>
          this.#s3.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: prefix,
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
          ),
      );
      for (const object of page.Contents ?? []) {
        const rest = object.Key?.slice(prefix.length) ?? '';
        const parts = rest.split('/');
        if (parts.length === 2 && parts[1] === KEY_FILE && parts[0]) selectors.push(parts[0]);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return selectors.sort();
  }

  async #head(objectKey: string): Promise<{ sse: string | undefined } | undefined> {
    return awsCall(
      {
        service: SERVICE,
        operation: 'HeadObject',
        region: this.#region,
        target: { bucket: this.bucket, key: objectKey },
      },
      async () => {
        try {
          const head = await this.#s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
          return { sse: head.ServerSideEncryption };
        } catch (error) {
          if (httpStatusOf(error) === 404 || awsErrorName(error) === 'NotFound') return undefined;
          throw error;
        }
      },
    );
  }

  async #read(
    objectKey: string,
    where: { domain?: string; selector?: string },
    bucket = this.bucket,
  ): Promise<{ text: string; sse: string | undefined } | undefined> {
    return awsCall(
      {
        service: SERVICE,
        operation: 'GetObject',
        region: this.#region,
        target: { bucket, key: objectKey, ...where },
      },
      async () => {
        try {
          const object = await this.#s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
          const text = (await object.Body?.transformToString('utf8')) ?? '';
          return { text, sse: object.ServerSideEncryption };
        } catch (error) {
          if (awsErrorName(error) === 'NoSuchKey' || httpStatusOf(error) === 404) return undefined;
          throw error;
        }
      },
    );
  }

  #parse(
    text: string,
    uri: string,
    where: { domain?: string; selector?: string },
    strict = true,
  ): DkimPrivateKey | undefined {
    try {
      return importPrivateKey(text, uri);
    } catch (cause) {
      if (!strict) return undefined;
      throw new CorruptDataError(`the object ${uri} is not a usable private key; it was left as it is`, {
        context: { ...where, path: uri },
        cause,
      });
    }
  }
}
