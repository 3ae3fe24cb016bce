/**
 * Amazon SES v2 as byodkim's SigningService. The private key goes from memory into the
 * request body (`key.toSesBase64()`), never to disk; the SDK's own logging redacts
 * `DomainSigningPrivateKey` (a sensitive member in the SES model), and every failure is a
 * ServiceError whose message and context name identity, region and operation but never
 * carry request content.
 *
 * Every call, every attempt of it, waits for its turn in the process's SES budget
 * (pacing.ts): one request per second per account and region by default, writes first,
 * health reads last, slower after a throttled answer. The scheduled health reads of every
 * domain in flight are batched per region into SES v1 `GetIdentityDkimAttributes` calls of up
 * to 100 identities (health.ts).
 *
 * @example
 * const ses = new SesSigningService({ clients: new AwsClientFactory() });
 * const view = await ses.describe('example.com', 'eu-west-1');
 */
import {
  CreateEmailIdentityCommand,
  type CreateEmailIdentityCommandInput,
  GetEmailIdentityCommand,
  type GetEmailIdentityCommandOutput,
  ListEmailIdentitiesCommand,
  type ListEmailIdentitiesCommandOutput,
  PutEmailIdentityDkimAttributesCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import type { DkimPrivateKey } from '../../domain/key.js';
import { AlreadyExistsError, InputError } from '../../errors.js';
import type {
  SesCallPriority,
  SesDkimStatus,
  SesDkimView,
  SesHealthView,
  SesReadOptions,
  SigningService,
} from '../../ports.js';
import { AwsClientFactory } from './clients.js';
import { awsCall, awsErrorName } from './errors.js';
import { HealthBatcher } from './health.js';
import { SesBudget, withBudget } from './pacing.js';

export interface SesSigningServiceOptions {
  /** Where clients come from (one per region, cached). A default factory when omitted. */
  clients?: AwsClientFactory;
  /**
   * An injected client: a function giving the client for a region, or one client, which is
   * then used only for the region it is configured for (a call for another region fails
   * rather than silently changing the wrong region).
   */
  client?: SESv2Client | ((region: string) => SESv2Client);
  /** Page size of ListEmailIdentities (SES allows up to 1000). Default 1000. */
  pageSize?: number;
  /**
   * The process's SES budget (shared by every domain and client). Default: a budget of its
   * own at SES's documented 1 request/s per region, burst 1.
   */
  budget?: SesBudget;
  /**
   * Batch the scheduled health reads into SES v1 GetIdentityDkimAttributes (config
   * `aws.sesBatchedHealthReads`). Default true.
   */
  batchedHealthReads?: boolean;
  /**
   * The account the clients act in, by its config name (`accounts[].name`): its calls take
   * from that account's budget. Default the caller's own.
   */
  account?: string;
}

const SERVICE = 'SES';

export class SesSigningService implements SigningService {
  readonly budget: SesBudget;
  /** Whose SES this is: an `accounts[].name`, or undefined for the caller's own account. */
  readonly account: string | undefined;
  readonly #clients: AwsClientFactory;
  readonly #client: SesSigningServiceOptions['client'];
  readonly #pageSize: number;
  readonly #health: HealthBatcher | undefined;

  constructor(options: SesSigningServiceOptions = {}) {
    this.budget = options.budget ?? new SesBudget();
    this.account = options.account;
    this.#clients = options.clients ?? new AwsClientFactory();
    this.#client = options.client;
    this.#pageSize = options.pageSize ?? 1000;
    // An injected v2 client says nothing of where v1 is: batching needs the factory's endpoints.
    if ((options.batchedHealthReads ?? true) && options.client === undefined) {
      this.#health = new HealthBatcher({
        clients: this.#clients,
        budget: this.budget,
        ...(this.account === undefined ? {} : { account: this.account }),
      });
      this.readHealth = (identity, region) => (this.#health as HealthBatcher).read(identity, region);
    }
  }

  readHealth?: (identity: string, region: string) => Promise<SesHealthView>;

  /** The command, made to wait for its turn in the account's and region's budget at `priority` (every attempt does). */
  #paced<C extends { readonly middlewareStack: object }>(
    command: C,
    region: string,
    priority: SesCallPriority,
  ): C {
    return withBudget(command, this.budget, region, priority, {
      ...(this.account === undefined ? {} : { account: this.account }),
    });
  }

  async #clientFor(region: string): Promise<SESv2Client> {
    const injected = this.#client;
    if (injected === undefined) return this.#clients.client('sesv2', region, (c) => new SESv2Client(c));
    if (typeof injected === 'function') return injected(region);
    const own = await injected.config.region();
    if (own !== region) {
      throw new InputError(
        'SES_CLIENT_REGION',
        `the injected SES client is for ${own}, not ${region}; inject a function giving a client per region`,
        { context: { region, clientRegion: own } },
      );
    }
    return injected;
  }

  async describe(identity: string, region: string, options: SesReadOptions = {}): Promise<SesDkimView> {
    const call = { service: SERVICE, operation: 'GetEmailIdentity', region, target: { identity } };
    const output = await awsCall(call, async () => {
      try {
        const client = await this.#clientFor(region);
        return await client.send(
          this.#paced(
            new GetEmailIdentityCommand({ EmailIdentity: identity }),
            region,
            options.priority ?? 'transition',
          ),
        );
      } catch (error) {
        if (awsErrorName(error) === 'NotFoundException') return undefined;
        throw error;
      }
    });
    if (output === undefined) return { identity, region, exists: false, tokens: [] };
    return toView(identity, region, output);
  }

  async putExternalKey(
    identity: string,
    region: string,
    selector: string,
    key: DkimPrivateKey,
  ): Promise<void> {
    const call = {
      service: SERVICE,
      operation: 'PutEmailIdentityDkimSigningAttributes',
      region,
      target: { identity, selector },
    };
    await awsCall(call, async () => {
      const client = await this.#clientFor(region);
      await client.send(
        this.#paced(
          new PutEmailIdentityDkimSigningAttributesCommand({
            EmailIdentity: identity,
            SigningAttributesOrigin: 'EXTERNAL',
            SigningAttributes: {
              DomainSigningSelector: selector,
              DomainSigningPrivateKey: key.toSesBase64(),
            },
          }),
          region,
          'change',
        ),
      );
    });
  }

  async setSigningEnabled(identity: string, region: string, enabled: boolean): Promise<void> {
    const call = {
      service: SERVICE,
      operation: 'PutEmailIdentityDkimAttributes',
      region,
      target: { identity },
    };
    await awsCall(call, async () => {
      const client = await this.#clientFor(region);
      await client.send(
        this.#paced(
          new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: identity, SigningEnabled: enabled }),
          region,
          'change',
        ),
      );
    });
  }

  async createIdentity(
    identity: string,
    region: string,
    signing?: { selector: string; key: DkimPrivateKey },
  ): Promise<void> {
    const target: Record<string, string> = { identity };
    if (signing) target.selector = signing.selector;
    const call = { service: SERVICE, operation: 'CreateEmailIdentity', region, target };
    await awsCall(call, async () => {
      const input: CreateEmailIdentityCommandInput = { EmailIdentity: identity };
      if (signing) {
        input.DkimSigningAttributes = {
          DomainSigningSelector: signing.selector,
          DomainSigningPrivateKey: signing.key.toSesBase64(),
        };
      }
      try {
        const client = await this.#clientFor(region);
        await client.send(this.#paced(new CreateEmailIdentityCommand(input), region, 'change'));
      } catch (error) {
        if (awsErrorName(error) === 'AlreadyExistsException') {
          throw new AlreadyExistsError(`SES identity ${identity} already exists in ${region}`, {
            context: { service: SERVICE, operation: 'CreateEmailIdentity', region, identity },
          });
        }
        throw error;
      }
    });
  }

  /**
   * Domain identities in a region, every page. Email-address identities are left out: they
   * cannot have DKIM keys of their own.
   */
  async listIdentities(region: string): Promise<string[]> {
    const identities: string[] = [];
    let nextToken: string | undefined;
    do {
      const call = { service: SERVICE, operation: 'ListEmailIdentities', region, target: { region } };
      const page: ListEmailIdentitiesCommandOutput = await awsCall(call, async () => {
        const client = await this.#clientFor(region);
        return client.send(
          this.#paced(
            new ListEmailIdentitiesCommand(
              nextToken === undefined
                ? { PageSize: this.#pageSize }
                : { PageSize: this.#pageSize, NextToken: nextToken },
            ),
            region,
            'transition',
          ),
        );
      });
      for (const info of page.EmailIdentities ?? []) {
        if (info.IdentityName !== undefined && (info.IdentityType ?? 'DOMAIN') === 'DOMAIN') {
          identities.push(info.IdentityName);
        }
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    return identities;
  }
}

function toView(identity: string, region: string, output: GetEmailIdentityCommandOutput): SesDkimView {
  const dkim = output.DkimAttributes;
  const view: SesDkimView = { identity, region, exists: true, tokens: dkim?.Tokens ?? [] };
  if (dkim?.SigningAttributesOrigin !== undefined) view.origin = dkim.SigningAttributesOrigin;
  if (dkim?.Status !== undefined) view.status = dkim.Status as SesDkimStatus;
  if (dkim?.SigningEnabled !== undefined) view.signingEnabled = dkim.SigningEnabled;
  if (output.VerifiedForSendingStatus !== undefined)
    view.verifiedForSending = output.VerifiedForSendingStatus;
  if (output.VerificationStatus !== undefined) view.verificationStatus = output.VerificationStatus;
  const info = output.VerificationInfo;
  if (info?.ErrorType !== undefined) view.verificationError = info.ErrorType;
  if (info?.LastCheckedTimestamp !== undefined) view.lastCheckedAt = info.LastCheckedTimestamp.toISOString();
  if (info?.LastSuccessTimestamp !== undefined) view.lastSuccessAt = info.LastSuccessTimestamp.toISOString();
  const mailFrom = output.MailFromAttributes;
  if (mailFrom?.MailFromDomain) view.mailFromDomain = mailFrom.MailFromDomain;
  if (mailFrom?.MailFromDomainStatus !== undefined) view.mailFromStatus = mailFrom.MailFromDomainStatus;
  if (mailFrom?.BehaviorOnMxFailure !== undefined)
    view.mailFromBehaviorOnMxFailure = mailFrom.BehaviorOnMxFailure;
  return view;
}
