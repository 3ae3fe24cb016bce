/**
 * The SES identity operations of SPEC.md §2, independent of HTTP: each takes the account and
 * region of the request and the decoded input and returns the output, or throws a
 * `SesApiError`. v2 (JSON) and v1 (GetIdentityDkimAttributes) read the same state.
 */
import { generateKeyPair, type KeyObject, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { EmulatorClock } from '../clock.js';
import { type CheckOutcome, type DnsChecker, EASY_DKIM_ZONE } from './dns-check.js';
import { alreadyExists, badRequest, limitExceeded, notFound, SesApiError } from './errors.js';
import type { CheckFaultQueue } from './faults.js';
import {
  applyCheckOutcome,
  type DkimConfig,
  easyDkimTokens,
  type Identity,
  isCheckDue,
  newIdentity,
  restartVerification,
  signsWithDomainKey,
  verificationStatusOf,
} from './identity.js';
import {
  encodeNextToken,
  optionalObject,
  optionalString,
  parseBehaviorOnMxFailure,
  parseFilter,
  parseMailFromDomain,
  parseNextToken,
  parsePageSize,
  parseTags,
} from './inputs.js';
import type { KeyPut, KeyPutLog } from './key-puts.js';
import {
  applyMailFromOutcome,
  isMailFromCheckDue,
  type MailFromDomain,
  newMailFromDomain,
} from './mail-from.js';
import type { ResolvedOptions } from './options.js';
import { messageRejected, readSendEmail, withSesMessageId } from './send-email.js';
import { buildSampleMessage, type SampleOptions, type SignedSample, signMessage } from './signing.js';
import {
  checkPrivateKeyEncoding,
  type HeldKey,
  type KeyLength,
  parseIdentityName,
  parseKeyLength,
  readPrivateKey,
  validateSelector,
} from './validation.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** An accepted SendEmail: the message as SES signed it and what the outbox records of it. */
export interface SentMessage {
  messageId: string;
  /** Emulator clock, ISO. */
  at: string;
  from: string;
  recipients: string[];
  envelopeFrom: string;
  message: string;
  signedWithDomainKey: boolean;
  selector?: string;
}

/** v1 GetIdentityDkimAttributes: "up to 100 identities at a time". */
export const MAX_V1_IDENTITIES = 100;

type Json = Record<string, unknown>;

/** Where a request's identities live: SES state is per account and region. */
export interface Scope {
  readonly account: string;
  readonly region: string;
}

/** One entry of v1 GetIdentityDkimAttributes. */
export interface V1DkimAttributes {
  readonly identity: string;
  readonly dkimEnabled: boolean;
  readonly verificationStatus: 'Pending' | 'Success' | 'Failed' | 'TemporaryFailure' | 'NotStarted';
  /** Undefined: no DkimTokens element. */
  readonly tokens: readonly string[] | undefined;
}

const V1_STATUS = {
  PENDING: 'Pending',
  SUCCESS: 'Success',
  FAILED: 'Failed',
  TEMPORARY_FAILURE: 'TemporaryFailure',
} as const;

export class SesService {
  readonly #clock: EmulatorClock;
  readonly #options: ResolvedOptions;
  readonly #checker: DnsChecker;
  readonly #keyPuts: KeyPutLog;
  readonly #checkFaults: CheckFaultQueue;
  #scopes = new Map<string, Map<string, Identity>>();

  constructor(
    clock: EmulatorClock,
    options: ResolvedOptions,
    checker: DnsChecker,
    keyPuts: KeyPutLog,
    checkFaults: CheckFaultQueue,
  ) {
    this.#clock = clock;
    this.#options = options;
    this.#checker = checker;
    this.#keyPuts = keyPuts;
    this.#checkFaults = checkFaults;
  }

  reset(): void {
    this.#scopes = new Map();
  }

  // --- v2 operations ----------------------------------------------------------------------

  createEmailIdentity(scope: Scope, input: Json): Json {
    const name = parseIdentityName(input.EmailIdentity);
    const tags = parseTags(input.Tags);
    const configurationSetName = optionalString(input.ConfigurationSetName, 'ConfigurationSetName');
    const attributes = optionalObject(input.DkimSigningAttributes, 'DkimSigningAttributes');
    if (name.type === 'EMAIL_ADDRESS' && attributes !== undefined) {
      throw badRequest('DkimSigningAttributes can only be given for a domain identity.');
    }
    const identities = this.#identities(scope);
    if (identities.has(name.key)) {
      throw alreadyExists(`Email identity <${String(input.EmailIdentity)}> already exist.`);
    }
    const max = this.#options.maxIdentitiesPerRegion;
    if (identities.size >= max) {
      throw limitExceeded(
        `Maximum number of identities (${max}) reached in account ${scope.account}, ${scope.region}.`,
      );
    }
    const nowMs = this.#nowMs();
    const rawName = String(input.EmailIdentity);
    const dkim =
      name.type === 'DOMAIN' ? this.#dkimConfigForCreate(scope, rawName, attributes, nowMs) : undefined;
    const identity = newIdentity(
      {
        name: rawName,
        key: name.key,
        type: name.type,
        domain: name.domain,
        tags,
        configurationSetName,
        dkim,
      },
      nowMs,
      this.#options.timing,
    );
    identities.set(identity.key, identity);
    return {
      IdentityType: identity.type,
      VerifiedForSendingStatus: false,
      DkimAttributes: this.#dkimAttributes(identity, 'NOT_STARTED'),
    };
  }

  async getEmailIdentity(scope: Scope, emailIdentity: string): Promise<Json> {
    const identity = this.#require(scope, emailIdentity);
    await this.#refresh(scope, identity);
    const output: Json = {
      IdentityType: identity.type,
      FeedbackForwardingStatus: true,
      VerifiedForSendingStatus: isVerifiedForSending(identity),
      DkimAttributes: this.#dkimAttributes(identity),
      MailFromAttributes: mailFromAttributes(identity),
      Policies: {},
      Tags: identity.tags,
      VerificationStatus: verificationStatusOf(identity),
      VerificationInfo: verificationInfo(identity),
    };
    if (identity.configurationSetName !== undefined)
      output.ConfigurationSetName = identity.configurationSetName;
    return output;
  }

  async listEmailIdentities(
    scope: Scope,
    input: { PageSize?: unknown; NextToken?: unknown; Filter?: unknown },
  ): Promise<Json> {
    const pageSize = parsePageSize(input.PageSize);
    const after = parseNextToken(input.NextToken);
    const filter = parseFilter(input.Filter);
    let candidates = [...this.#identities(scope).values()]
      .filter((identity) => after === undefined || identity.key > after)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (filter.nameContains !== undefined) {
      const needle = filter.nameContains.toLowerCase();
      candidates = candidates.filter((identity) => identity.key.includes(needle));
    }
    if (filter.type !== undefined)
      candidates = candidates.filter((identity) => identity.type === filter.type);
    if (filter.status !== undefined) {
      // The status filter needs fresh state for every candidate, not just the page.
      await Promise.all(candidates.map((identity) => this.#refresh(scope, identity)));
      candidates = candidates.filter((identity) => verificationStatusOf(identity) === filter.status);
    }
    const page = candidates.slice(0, pageSize);
    await Promise.all(page.map((identity) => this.#refresh(scope, identity)));
    const output: Json = {
      EmailIdentities: page.map((identity) => ({
        IdentityType: identity.type,
        IdentityName: identity.name,
        SendingEnabled: isVerifiedForSending(identity),
        VerificationStatus: verificationStatusOf(identity),
      })),
    };
    const last = page.at(-1);
    if (candidates.length > pageSize && last !== undefined) output.NextToken = encodeNextToken(last.key);
    return output;
  }

  deleteEmailIdentity(scope: Scope, emailIdentity: string): Json {
    const identity = this.#require(scope, emailIdentity);
    this.#identities(scope).delete(identity.key);
    // A check still under way must not write into a deleted identity's successor.
    identity.generation += 1;
    return {};
  }

  putEmailIdentityDkimSigningAttributes(scope: Scope, emailIdentity: string, input: Json): Json {
    const origin = input.SigningAttributesOrigin;
    const attributes = optionalObject(input.SigningAttributes, 'SigningAttributes');
    if (attributes?.DomainSigningAttributesOrigin !== undefined) {
      throw badRequest(
        'SigningAttributes.DomainSigningAttributesOrigin is not allowed in PutEmailIdentityDkimSigningAttributes; ' +
          'use SigningAttributesOrigin instead.',
      );
    }
    const nowMs = this.#nowMs();
    const timing = this.#options.timing;
    if (origin === 'EXTERNAL') {
      if (attributes === undefined) {
        throw badRequest(
          'SigningAttributes with DomainSigningSelector and DomainSigningPrivateKey are required for SigningAttributesOrigin EXTERNAL.',
        );
      }
      if (attributes.NextSigningKeyLength !== undefined) {
        throw badRequest('NextSigningKeyLength applies to Easy DKIM (AWS_SES) only, not to EXTERNAL.');
      }
      const selector = validateSelector(attributes.DomainSigningSelector);
      const identity = this.#requireDomain(scope, emailIdentity);
      const key = this.#acceptKey(
        scope,
        emailIdentity,
        'PutEmailIdentityDkimSigningAttributes',
        selector,
        attributes.DomainSigningPrivateKey,
      );
      restartVerification(identity, { origin: 'EXTERNAL', selector, key }, nowMs, timing);
      identity.signingEnabled = true;
      return { DkimStatus: 'NOT_STARTED', DkimTokens: [selector] };
    }
    if (origin === 'AWS_SES') {
      if (
        attributes?.DomainSigningSelector !== undefined ||
        attributes?.DomainSigningPrivateKey !== undefined
      ) {
        throw badRequest(
          'DomainSigningSelector and DomainSigningPrivateKey apply to EXTERNAL only, not to AWS_SES.',
        );
      }
      const nextKeyLength = parseKeyLength(attributes?.NextSigningKeyLength);
      const identity = this.#requireDomain(scope, emailIdentity);
      const current = identity.dkim;
      if (current?.origin === 'AWS_SES') {
        if (nextKeyLength !== undefined) current.nextKeyLength = nextKeyLength;
        return { DkimStatus: identity.status, DkimTokens: [...current.tokens] };
      }
      const easy = easyDkimConfig(nextKeyLength ?? 'RSA_2048_BIT', nowMs);
      restartVerification(identity, easy, nowMs, timing);
      return { DkimStatus: 'NOT_STARTED', DkimTokens: [...easy.tokens] };
    }
    if (typeof origin === 'string' && origin.startsWith('AWS_SES_')) {
      throw badRequest(
        `SigningAttributesOrigin ${origin} (DEED replication) is not modelled by the emulator.`,
      );
    }
    throw badRequest('SigningAttributesOrigin is required and must be AWS_SES or EXTERNAL.');
  }

  putEmailIdentityDkimAttributes(scope: Scope, emailIdentity: string, input: Json): Json {
    const enabled = input.SigningEnabled;
    if (enabled !== undefined && typeof enabled !== 'boolean') {
      throw badRequest('SigningEnabled must be a boolean.');
    }
    const identity = this.#require(scope, emailIdentity);
    identity.signingEnabled = enabled === true;
    return {};
  }

  putEmailIdentityMailFromAttributes(scope: Scope, emailIdentity: string, input: Json): Json {
    const identity = this.#require(scope, emailIdentity);
    const behavior = parseBehaviorOnMxFailure(input.BehaviorOnMxFailure);
    const domainName = optionalString(input.MailFromDomain, 'MailFromDomain');
    if (domainName === undefined || domainName === '') {
      identity.mailFrom = { behavior, domain: undefined };
      return {};
    }
    const parsed = parseMailFromDomain(domainName);
    const parent = identity.domain;
    if (!parsed.endsWith(`.${parent}`)) {
      throw badRequest(
        `MailFromDomain <${domainName}> must be a subdomain of the identity's domain <${parent}>.`,
      );
    }
    identity.mailFrom = {
      behavior,
      domain: newMailFromDomain(domainName, this.#nowMs(), this.#options.timing),
    };
    return {};
  }

  // --- v1 ---------------------------------------------------------------------------------

  /** SES v1 GetIdentityDkimAttributes (SPEC.md §2.8): identities that do not exist are left out. */
  async getIdentityDkimAttributes(scope: Scope, names: readonly string[]): Promise<V1DkimAttributes[]> {
    const identities = this.#identities(scope);
    const found = new Map<string, Identity>();
    for (const name of names) {
      const identity = identities.get(name.toLowerCase());
      if (identity !== undefined) found.set(name, identity);
    }
    await Promise.all([...new Set(found.values())].map((identity) => this.#refresh(scope, identity)));
    return [...found].map(([name, identity]) => this.#v1DkimAttributes(name, identity));
  }

  // --- emulator-only ----------------------------------------------------------------------

  /** Runs every due check in every account and region. */
  async verifyPending(): Promise<void> {
    const due: Promise<void>[] = [];
    for (const [scopeKey, identities] of this.#scopes) {
      const scope = parseScopeKey(scopeKey);
      for (const identity of identities.values()) due.push(this.#refresh(scope, identity));
    }
    await Promise.all(due);
  }

  async signSample(scope: Scope, emailIdentity: string, opts: SampleOptions = {}): Promise<SignedSample> {
    const name = parseIdentityName(emailIdentity);
    const sending = await this.#sendingAs(scope, emailIdentity);
    const now = this.#clock.now();
    const sampleOpts = {
      ...opts,
      from: opts.from ?? (name.type === 'EMAIL_ADDRESS' ? emailIdentity : `sender@${name.domain}`),
      envelopeFrom: sending.envelopeFrom,
    };
    if (sending.unsigned !== undefined) {
      const note = `not signed with the key of ${name.domain}: ${sending.unsigned}`;
      return {
        message: buildSampleMessage(name.domain, now, sampleOpts, note),
        signedWithDomainKey: false,
        envelopeFrom: sending.envelopeFrom,
      };
    }
    const { message, selector } = await sending.sign(buildSampleMessage(name.domain, now, sampleOpts));
    return { message, signedWithDomainKey: true, envelopeFrom: sending.envelopeFrom, selector };
  }

  /**
   * SendEmail (SPEC.md §14): checks the sender, the recipients and MAIL FROM, takes the
   * sending quota (`takeQuota` throws when it is spent), then signs the message exactly as a
   * sample is signed at this moment.
   */
  async sendEmail(scope: Scope, input: Json, takeQuota: () => void): Promise<SentMessage> {
    const now = this.#clock.now();
    const outgoing = readSendEmail(input, now);
    if (!(await this.#isVerified(scope, outgoing.from))) {
      throw messageRejected(
        `Email address is not verified. The following identities failed the check in region ${scope.region.toUpperCase()}: ${outgoing.from}`,
      );
    }
    if (this.#options.sending.sandbox) {
      for (const recipient of outgoing.recipients) {
        if (!(await this.#isVerified(scope, recipient))) {
          throw messageRejected(
            `Email address is not verified. The following identities failed the check in region ${scope.region.toUpperCase()}: ${recipient}`,
          );
        }
      }
    }
    const sending = await this.#sendingAs(scope, outgoing.from);
    takeQuota();
    const messageId = `${now.getTime().toString(16)}-${randomUUID()}-000000`;
    const text = withSesMessageId(outgoing.text, messageId);
    const signed = sending.unsigned === undefined ? await sending.sign(text) : undefined;
    return {
      messageId,
      at: now.toISOString(),
      from: outgoing.from,
      recipients: outgoing.recipients,
      envelopeFrom: sending.envelopeFrom,
      message: signed?.message ?? text,
      signedWithDomainKey: signed !== undefined,
      ...(signed ? { selector: signed.selector } : {}),
    };
  }

  /**
   * SPEC.md §16: what another actor's EXTERNAL put with a fresh key would do, outside the
   * budget and the counters. Answers the selector and the public key (base64 SPKI).
   */
  async swapKey(
    scope: Scope,
    emailIdentity: string,
    selectorValue: unknown,
    bits: 1024 | 2048 = 2048,
  ): Promise<{ selector: string; publicKey: string }> {
    const selector = validateSelector(selectorValue);
    const identity = this.#requireDomain(scope, emailIdentity);
    const pair = await generateKeyPairAsync('rsa', { modulusLength: bits });
    const publicKeySpkiDer = pair.publicKey.export({ type: 'spki', format: 'der' });
    const nowMs = this.#nowMs();
    this.#keyPuts.record({
      at: new Date(nowMs).toISOString(),
      account: scope.account,
      region: scope.region,
      identity: emailIdentity,
      operation: 'SwapKey',
      selector,
      format: 'PKCS1',
      keyType: 'rsa',
      bits,
      outcome: 'accepted',
    });
    restartVerification(
      identity,
      { origin: 'EXTERNAL', selector, key: { privateKey: pair.privateKey, publicKeySpkiDer, bits } },
      nowMs,
      this.#options.timing,
    );
    identity.signingEnabled = true;
    return { selector, publicKey: publicKeySpkiDer.toString('base64') };
  }

  // --- internals --------------------------------------------------------------------------

  #nowMs(): number {
    return this.#clock.now().getTime();
  }

  #identities(scope: Scope): Map<string, Identity> {
    const key = scopeKey(scope);
    let identities = this.#scopes.get(key);
    if (identities === undefined) {
      identities = new Map();
      this.#scopes.set(key, identities);
    }
    return identities;
  }

  #require(scope: Scope, emailIdentity: string): Identity {
    const identity = this.#scopes.get(scopeKey(scope))?.get(emailIdentity.toLowerCase());
    if (identity === undefined) throw notFound(`Email identity <${emailIdentity}> does not exist.`);
    return identity;
  }

  #requireDomain(scope: Scope, emailIdentity: string): Identity {
    const identity = this.#require(scope, emailIdentity);
    if (identity.type !== 'DOMAIN') {
      throw badRequest(
        `DKIM signing attributes can only be set for a domain identity, not <${emailIdentity}>.`,
      );
    }
    return identity;
  }

  /**
   * How SES would send as `address` (a domain or an address) now, after the due checks: the
   * envelope sender (SPEC.md §7) and either a signer with the domain's key or why there is none.
   */
  async #sendingAs(
    scope: Scope,
    address: string,
  ): Promise<
    | { envelopeFrom: string; unsigned: string; sign?: undefined }
    | {
        envelopeFrom: string;
        unsigned?: undefined;
        sign(message: string): Promise<{ message: string; selector: string }>;
      }
  > {
    const name = parseIdentityName(address);
    const identities = this.#identities(scope);
    const requested = identities.get(name.key);
    const signer = identities.get(name.domain);
    if (requested === undefined && signer === undefined) {
      throw notFound(`Email identity <${address}> does not exist in ${scope.region}.`);
    }
    if (requested !== undefined) await this.#refresh(scope, requested);
    if (signer !== undefined && signer !== requested) await this.#refresh(scope, signer);
    // An address with its own MAIL FROM setting uses it; otherwise its domain's applies.
    const mailFromOwner = requested?.mailFrom.domain !== undefined ? requested : (signer ?? requested);
    const envelopeFrom = envelopeSender(mailFromOwner, scope.region);
    const dkim = signer?.dkim;
    if (signer === undefined || dkim === undefined || !signsWithDomainKey(signer)) {
      const unsigned =
        signer === undefined || dkim === undefined
          ? `no domain identity for ${name.domain}`
          : !signer.signingEnabled
            ? 'DKIM signing is disabled for the identity'
            : `DKIM status is ${signer.status}`;
      return { envelopeFrom, unsigned };
    }
    const now = this.#clock.now();
    return {
      envelopeFrom,
      sign: async (message: string) => {
        const material = await signingMaterial(dkim);
        if (material === undefined) throw new Error('a SUCCESS identity without a usable key');
        const signed = await signMessage(message, {
          domain: name.domain,
          selector: material.selector,
          privateKey: material.privateKey,
          now,
        });
        return { message: signed, selector: material.selector };
      },
    };
  }

  /** The address, or its domain, is an identity verified for sending (SPEC.md §14). */
  async #isVerified(scope: Scope, address: string): Promise<boolean> {
    const name = parseIdentityName(address, 'address');
    const identities = this.#identities(scope);
    for (const identity of [identities.get(name.key), identities.get(name.domain)]) {
      if (identity === undefined) continue;
      await this.#refresh(scope, identity);
      if (isVerifiedForSending(identity)) return true;
    }
    return false;
  }

  #dkimConfigForCreate(
    scope: Scope,
    identityName: string,
    attributes: Json | undefined,
    nowMs: number,
  ): DkimConfig {
    if (attributes === undefined) return easyDkimConfig('RSA_2048_BIT', nowMs);
    if (attributes.DomainSigningAttributesOrigin !== undefined) {
      throw badRequest('DomainSigningAttributesOrigin (DEED replication) is not modelled by the emulator.');
    }
    const byo =
      attributes.DomainSigningSelector !== undefined || attributes.DomainSigningPrivateKey !== undefined;
    if (!byo) return easyDkimConfig(parseKeyLength(attributes.NextSigningKeyLength) ?? 'RSA_2048_BIT', nowMs);
    if (attributes.NextSigningKeyLength !== undefined) {
      throw badRequest('NextSigningKeyLength applies to Easy DKIM only, not together with a BYODKIM key.');
    }
    const selector = validateSelector(attributes.DomainSigningSelector);
    const key = this.#acceptKey(
      scope,
      identityName,
      'CreateEmailIdentity',
      selector,
      attributes.DomainSigningPrivateKey,
    );
    return { origin: 'EXTERNAL', selector, key };
  }

  /**
   * SPEC.md §4: the API pattern always applies; a key SES cannot use is rejected or accepted
   * unusable, as `unusableKey` says. Every outcome is recorded, without key material.
   */
  #acceptKey(
    scope: Scope,
    identity: string,
    operation: KeyPut['operation'],
    selector: string,
    value: unknown,
  ): HeldKey | undefined {
    const record = (
      entry: Omit<KeyPut, 'at' | 'account' | 'region' | 'identity' | 'operation' | 'selector'>,
    ) =>
      this.#keyPuts.record({
        at: this.#clock.now().toISOString(),
        account: scope.account,
        region: scope.region,
        identity,
        operation,
        selector,
        ...entry,
      });
    let encoded: string;
    try {
      encoded = checkPrivateKeyEncoding(value);
    } catch (error) {
      if (value !== undefined && value !== null && value !== '') {
        record({ format: 'UNKNOWN', outcome: 'rejected', problem: describe(error) });
      }
      throw error;
    }
    const reading = readPrivateKey(encoded, this.#options.keyFormats);
    if (reading.usable) {
      record({
        format: reading.format,
        keyType: 'rsa',
        bits: reading.key.bits,
        outcome: 'accepted',
      });
      return reading.key;
    }
    const details = {
      format: reading.format,
      ...(reading.keyType === undefined ? {} : { keyType: reading.keyType }),
      ...(reading.bits === undefined ? {} : { bits: reading.bits }),
      problem: reading.problem,
    };
    if (this.#options.unusableKey === 'reject') {
      record({ ...details, outcome: 'rejected' });
      throw badRequest(reading.problem);
    }
    record({ ...details, outcome: 'accepted-unusable' });
    return undefined;
  }

  #dkimAttributes(identity: Identity, statusOverride?: 'NOT_STARTED'): Json {
    const dkim = identity.dkim;
    if (dkim === undefined) return { SigningEnabled: identity.signingEnabled, Status: 'NOT_STARTED' };
    const common = {
      SigningEnabled: identity.signingEnabled,
      Status: statusOverride ?? identity.status,
      SigningAttributesOrigin: dkim.origin,
    };
    if (dkim.origin === 'EXTERNAL') {
      return { ...common, Tokens: this.#options.externalTokens === 'empty' ? [] : [dkim.selector] };
    }
    return {
      ...common,
      Tokens: [...dkim.tokens],
      SigningHostedZone: EASY_DKIM_ZONE,
      CurrentSigningKeyLength: dkim.currentKeyLength,
      NextSigningKeyLength: dkim.nextKeyLength,
      LastKeyGenerationTimestamp: epochSeconds(dkim.lastKeyGenerationMs),
    };
  }

  #v1DkimAttributes(name: string, identity: Identity): V1DkimAttributes {
    const dkim = identity.dkim;
    if (dkim === undefined) {
      // The operation's own example: an address reports DkimEnabled false, NotStarted, no tokens.
      return { identity: name, dkimEnabled: false, verificationStatus: 'NotStarted', tokens: undefined };
    }
    const common = {
      identity: name,
      dkimEnabled: identity.signingEnabled,
      verificationStatus: V1_STATUS[identity.status],
    };
    if (dkim.origin === 'AWS_SES') return { ...common, tokens: [...dkim.tokens] };
    const knob = this.#options.v1ExternalDkimTokens;
    return { ...common, tokens: knob === 'omit' ? undefined : knob === 'empty' ? [] : [dkim.selector] };
  }

  /** Runs the identity's due DKIM and MAIL FROM checks; concurrent callers share them. */
  #refresh(scope: Scope, identity: Identity): Promise<void> {
    return Promise.all([this.#refreshDkim(scope, identity), this.#refreshMailFrom(scope, identity)]).then(
      () => undefined,
    );
  }

  #refreshDkim(scope: Scope, identity: Identity): Promise<void> {
    const inflight = identity.inflightCheck;
    if (inflight !== undefined && inflight.generation === identity.generation) return inflight.done;
    const nowMs = this.#nowMs();
    const dkim = identity.dkim;
    if (dkim === undefined || !isCheckDue(identity, nowMs, this.#options.timing)) return Promise.resolve();
    const generation = identity.generation;
    const done = this.#checkDkim(scope, identity, dkim)
      .then((outcome) => {
        if (identity.generation === generation) {
          applyCheckOutcome(identity, outcome, nowMs, this.#options.timing);
        }
      })
      .finally(() => {
        if (identity.inflightCheck?.done === done) identity.inflightCheck = undefined;
      });
    identity.inflightCheck = { generation, done };
    return done;
  }

  #refreshMailFrom(scope: Scope, identity: Identity): Promise<void> {
    const domain: MailFromDomain | undefined = identity.mailFrom.domain;
    if (domain === undefined) return Promise.resolve();
    if (domain.inflightCheck !== undefined) return domain.inflightCheck;
    const nowMs = this.#nowMs();
    const timing = this.#options.timing;
    if (!isMailFromCheckDue(domain, nowMs, timing)) return Promise.resolve();
    const done = this.#checker
      .checkMailFrom(domain.name.toLowerCase(), scope.region, this.#options.mailFromRequiresSpf)
      .catch((error: unknown) => ({ kind: 'temporary' as const, detail: describe(error) }))
      .then((outcome) => applyMailFromOutcome(domain, outcome, nowMs, timing))
      .finally(() => {
        domain.inflightCheck = undefined;
      });
    domain.inflightCheck = done;
    return done;
  }

  async #checkDkim(scope: Scope, identity: Identity, dkim: DkimConfig): Promise<CheckOutcome> {
    const injected = this.#checkFaults.take(scope.account, scope.region, identity.key);
    if (injected !== undefined) {
      return { ok: false, error: injected, detail: 'injected check fault (emulator)' };
    }
    try {
      return dkim.origin === 'EXTERNAL'
        ? await this.#checker.checkKeyRecord(identity.domain, dkim.selector, dkim.key?.publicKeySpkiDer)
        : await this.#checker.checkEasyDkimCnames(identity.domain, dkim.tokens);
    } catch (error) {
      // Not a DNS answer: something inside "SES" went wrong.
      return { ok: false, error: 'SERVICE_ERROR', detail: describe(error) };
    }
  }
}

// --- shaping and parsing helpers --------------------------------------------------------------

function scopeKey(scope: Scope): string {
  return `${scope.account}/${scope.region}`;
}

function parseScopeKey(key: string): Scope {
  const slash = key.indexOf('/');
  return { account: key.slice(0, slash), region: key.slice(slash + 1) };
}

function easyDkimConfig(length: KeyLength, nowMs: number): Extract<DkimConfig, { origin: 'AWS_SES' }> {
  return {
    origin: 'AWS_SES',
    tokens: easyDkimTokens(),
    currentKeyLength: length,
    nextKeyLength: length,
    lastKeyGenerationMs: nowMs,
  };
}

async function signingMaterial(
  dkim: DkimConfig,
): Promise<{ selector: string; privateKey: KeyObject } | undefined> {
  if (dkim.origin === 'EXTERNAL') {
    return dkim.key === undefined ? undefined : { selector: dkim.selector, privateKey: dkim.key.privateKey };
  }
  dkim.signingKey ??= generateKeyPairAsync('rsa', {
    modulusLength: dkim.currentKeyLength === 'RSA_1024_BIT' ? 1024 : 2048,
  }).then((pair) => pair.privateKey);
  return { selector: dkim.tokens[0], privateKey: await dkim.signingKey };
}

/** SPEC.md §7: the custom MAIL FROM only when SUCCESS; otherwise as BehaviorOnMxFailure says. */
function envelopeSender(identity: Identity | undefined, region: string): string {
  const setting = identity?.mailFrom;
  const domain = setting?.domain;
  if (domain?.status === 'SUCCESS') return `bounce@${domain.name.toLowerCase()}`;
  if (domain !== undefined && setting?.behavior === 'REJECT_MESSAGE') {
    throw new SesApiError(
      'MailFromDomainNotVerifiedException',
      400,
      `The MAIL FROM domain ${domain.name} is ${domain.status}, and BehaviorOnMxFailure is REJECT_MESSAGE.`,
    );
  }
  return `bounce@${region}.amazonses.com`;
}

function isVerifiedForSending(identity: Identity): boolean {
  return verificationStatusOf(identity) === 'SUCCESS';
}

const epochSeconds = (ms: number): number => ms / 1000;

function mailFromAttributes(identity: Identity): Json {
  const { behavior, domain } = identity.mailFrom;
  if (domain === undefined) return { BehaviorOnMxFailure: behavior };
  return { MailFromDomain: domain.name, MailFromDomainStatus: domain.status, BehaviorOnMxFailure: behavior };
}

function verificationInfo(identity: Identity): Json {
  const info: Json = {};
  if (identity.lastCheckedMs !== undefined) info.LastCheckedTimestamp = epochSeconds(identity.lastCheckedMs);
  if (identity.lastSuccessMs !== undefined) info.LastSuccessTimestamp = epochSeconds(identity.lastSuccessMs);
  if (identity.lastError !== undefined && identity.status !== 'SUCCESS') info.ErrorType = identity.lastError;
  return info;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
