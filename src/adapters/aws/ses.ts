/**
 * Amazon SES v2 as byodkim's SigningService. The private key goes from memory into the
 * request body (`key.toSesBase64()`), never to disk; the SDK's own logging redacts
 * `DomainSigningPrivateKey` (a sensitive member in the SES model), and every failure is a
 * ServiceError whose message and context name identity, region and operation but never
 * carry request content.
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
import type { SesDkimStatus, SesDkimView, SigningService } from '../../ports.js';
import { AwsClientFactory } from './clients.js';
import { awsCall, awsErrorName } from './errors.js';
import { PacerPerKey, type PacerTimer } from './pacing.js';

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
  /** Client-side pacing: at most this many SES calls per second per region (config `aws.sesRequestsPerSecond`). Off when omitted. */
  requestsPerSecond?: number;
  /** The pacer's time: the wall clock unless a virtual world brings its own. */
  pacerTimer?: PacerTimer;
}

const SERVICE = 'SES';

export class SesSigningService implements SigningService {
  readonly #pacer: PacerPerKey | undefined;
  readonly #clients: AwsClientFactory;
  readonly #client: SesSigningServiceOptions['client'];
  readonly #pageSize: number;

  constructor(options: SesSigningServiceOptions = {}) {
    this.#pacer =
      options.requestsPerSecond === undefined
        ? undefined
        : new PacerPerKey(options.requestsPerSecond, 1, options.pacerTimer);
    this.#clients = options.clients ?? new AwsClientFactory();
    this.#client = options.client;
    this.#pageSize = options.pageSize ?? 1000;
  }

  async #clientFor(region: string): Promise<SESv2Client> {
    // Every SES call gets its client here first: the place to wait for the region's pace.
    await this.#pacer?.take(region);
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

  async describe(identity: string, region: string): Promise<SesDkimView> {
    const call = { service: SERVICE, operation: 'GetEmailIdentity', region, target: { identity } };
    const output = await awsCall(call, async () => {
      const client = await this.#clientFor(region);
      try {
        return await client.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
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
        new PutEmailIdentityDkimSigningAttributesCommand({
          EmailIdentity: identity,
          SigningAttributesOrigin: 'EXTERNAL',
          SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: key.toSesBase64() },
        }),
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
        new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: identity, SigningEnabled: enabled }),
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
      const client = await this.#clientFor(region);
      const input: CreateEmailIdentityCommandInput = { EmailIdentity: identity };
      if (signing) {
        input.DkimSigningAttributes = {
          DomainSigningSelector: signing.selector,
          DomainSigningPrivateKey: signing.key.toSesBase64(),
        };
      }
      try {
        await client.send(new CreateEmailIdentityCommand(input));
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
          new ListEmailIdentitiesCommand(
            nextToken === undefined
              ? { PageSize: this.#pageSize }
              : { PageSize: this.#pageSize, NextToken: nextToken },
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
  return view;
}
