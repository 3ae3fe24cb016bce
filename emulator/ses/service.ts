/**
 * The SES v2 identity operations of SPEC.md §2, independent of HTTP: each takes a region and
 * the decoded JSON input and returns the JSON output, or throws a `SesApiError`.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { EmulatorClock } from '../clock.js';
import { type DnsChecker, EASY_DKIM_ZONE } from './dns-check.js';
import { alreadyExists, badRequest, limitExceeded, notFound } from './errors.js';
import {
  applyCheckOutcome,
  type DkimConfig,
  easyDkimTokens,
  type Identity,
  isCheckDue,
  newIdentity,
  restartVerification,
  signsWithDomainKey,
  type Tag,
  type Timing,
  verificationStatusOf,
} from './identity.js';
import { buildSampleMessage, type SampleOptions, type SignedSample, signMessage } from './signing.js';
import {
  type KeyLength,
  parseIdentityName,
  parseKeyLength,
  parsePrivateKey,
  validateSelector,
} from './validation.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Documented quota: 10,000 identities per region (Quotas page). */
export const MAX_IDENTITIES_PER_REGION = 10_000;
export const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const NEXT_TOKEN_PREFIX = 'emu1.';

type Json = Record<string, unknown>;

export class SesService {
  readonly #clock: EmulatorClock;
  readonly #timing: Timing;
  readonly #checker: DnsChecker;
  #regions = new Map<string, Map<string, Identity>>();

  constructor(clock: EmulatorClock, timing: Timing, checker: DnsChecker) {
    this.#clock = clock;
    this.#timing = timing;
    this.#checker = checker;
  }

  reset(): void {
    this.#regions = new Map();
  }

  // --- operations -------------------------------------------------------------------------

  createEmailIdentity(region: string, input: Json): Json {
    const name = parseIdentityName(input.EmailIdentity);
    const tags = parseTags(input.Tags);
    const configurationSetName = optionalString(input.ConfigurationSetName, 'ConfigurationSetName');
    const attributes = optionalObject(input.DkimSigningAttributes, 'DkimSigningAttributes');
    if (name.type === 'EMAIL_ADDRESS' && attributes !== undefined) {
      throw badRequest('DkimSigningAttributes can only be given for a domain identity.');
    }
    const nowMs = this.#nowMs();
    const dkim = name.type === 'DOMAIN' ? dkimConfigForCreate(attributes, nowMs) : undefined;
    const identities = this.#identities(region);
    if (identities.has(name.key)) {
      throw alreadyExists(`Email identity <${String(input.EmailIdentity)}> already exist.`);
    }
    if (identities.size >= MAX_IDENTITIES_PER_REGION) {
      throw limitExceeded(
        `Maximum number of identities (${MAX_IDENTITIES_PER_REGION}) reached in ${region}.`,
      );
    }
    const identity = newIdentity(
      {
        name: String(input.EmailIdentity),
        key: name.key,
        type: name.type,
        domain: name.domain,
        tags,
        configurationSetName,
        dkim,
      },
      nowMs,
      this.#timing,
    );
    identities.set(identity.key, identity);
    return {
      IdentityType: identity.type,
      VerifiedForSendingStatus: false,
      DkimAttributes: dkimAttributes(identity, 'NOT_STARTED'),
    };
  }

  async getEmailIdentity(region: string, emailIdentity: string): Promise<Json> {
    const identity = this.#require(region, emailIdentity);
    await this.#refresh(identity);
    const output: Json = {
      IdentityType: identity.type,
      FeedbackForwardingStatus: true,
      VerifiedForSendingStatus: isVerifiedForSending(identity),
      DkimAttributes: dkimAttributes(identity),
      MailFromAttributes: { BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
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
    region: string,
    input: { PageSize?: unknown; NextToken?: unknown; Filter?: unknown },
  ): Promise<Json> {
    const pageSize = parsePageSize(input.PageSize);
    const after = parseNextToken(input.NextToken);
    const filter = parseFilter(input.Filter);
    let candidates = [...this.#identities(region).values()]
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
      await Promise.all(candidates.map((identity) => this.#refresh(identity)));
      candidates = candidates.filter((identity) => verificationStatusOf(identity) === filter.status);
    }
    const page = candidates.slice(0, pageSize);
    await Promise.all(page.map((identity) => this.#refresh(identity)));
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

  deleteEmailIdentity(region: string, emailIdentity: string): Json {
    const identity = this.#require(region, emailIdentity);
    this.#identities(region).delete(identity.key);
    // A check still under way must not write into a deleted identity's successor.
    identity.generation += 1;
    return {};
  }

  putEmailIdentityDkimSigningAttributes(region: string, emailIdentity: string, input: Json): Json {
    const origin = input.SigningAttributesOrigin;
    const attributes = optionalObject(input.SigningAttributes, 'SigningAttributes');
    if (attributes?.DomainSigningAttributesOrigin !== undefined) {
      throw badRequest(
        'SigningAttributes.DomainSigningAttributesOrigin is not allowed in PutEmailIdentityDkimSigningAttributes; ' +
          'use SigningAttributesOrigin instead.',
      );
    }
    const nowMs = this.#nowMs();
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
      const key = parsePrivateKey(attributes.DomainSigningPrivateKey);
      const identity = this.#requireDomain(region, emailIdentity);
      restartVerification(identity, { origin: 'EXTERNAL', selector, key }, nowMs, this.#timing);
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
      const identity = this.#requireDomain(region, emailIdentity);
      const current = identity.dkim;
      if (current?.origin === 'AWS_SES') {
        if (nextKeyLength !== undefined) current.nextKeyLength = nextKeyLength;
        return { DkimStatus: identity.status, DkimTokens: [...current.tokens] };
      }
      const easy = easyDkimConfig(nextKeyLength ?? 'RSA_2048_BIT', nowMs);
      restartVerification(identity, easy, nowMs, this.#timing);
      return { DkimStatus: 'NOT_STARTED', DkimTokens: [...easy.tokens] };
    }
    if (typeof origin === 'string' && origin.startsWith('AWS_SES_')) {
      throw badRequest(
        `SigningAttributesOrigin ${origin} (DEED replication) is not modelled by the emulator.`,
      );
    }
    throw badRequest('SigningAttributesOrigin is required and must be AWS_SES or EXTERNAL.');
  }

  putEmailIdentityDkimAttributes(region: string, emailIdentity: string, input: Json): Json {
    const enabled = input.SigningEnabled;
    if (enabled !== undefined && typeof enabled !== 'boolean') {
      throw badRequest('SigningEnabled must be a boolean.');
    }
    const identity = this.#require(region, emailIdentity);
    identity.signingEnabled = enabled === true;
    return {};
  }

  // --- emulator-only ----------------------------------------------------------------------

  /** Runs every due check in every region. */
  async verifyPending(): Promise<void> {
    const all = [...this.#regions.values()].flatMap((identities) => [...identities.values()]);
    await Promise.all(all.map((identity) => this.#refresh(identity)));
  }

  async signSample(region: string, emailIdentity: string, opts: SampleOptions = {}): Promise<SignedSample> {
    const name = parseIdentityName(emailIdentity);
    const identities = this.#identities(region);
    const requested = identities.get(name.key);
    const signer = identities.get(name.domain);
    if (requested === undefined && signer === undefined) {
      throw notFound(`Email identity <${emailIdentity}> does not exist in ${region}.`);
    }
    if (signer !== undefined) await this.#refresh(signer);
    const now = this.#clock.now();
    const sampleOpts: SampleOptions = {
      ...opts,
      from: opts.from ?? (name.type === 'EMAIL_ADDRESS' ? emailIdentity : `sender@${name.domain}`),
    };
    const dkim = signer?.dkim;
    if (signer === undefined || dkim === undefined || !signsWithDomainKey(signer)) {
      const reason =
        signer === undefined || dkim === undefined
          ? `no domain identity for ${name.domain}`
          : !signer.signingEnabled
            ? 'DKIM signing is disabled for the identity'
            : `DKIM status is ${signer.status}`;
      const note = `not signed with the key of ${name.domain}: ${reason}`;
      return { message: buildSampleMessage(name.domain, now, sampleOpts, note), signedWithDomainKey: false };
    }
    const { selector, privateKey } = await signingMaterial(dkim);
    const message = await signMessage(buildSampleMessage(name.domain, now, sampleOpts), {
      domain: name.domain,
      selector,
      privateKey,
      now,
    });
    return { message, signedWithDomainKey: true, selector };
  }

  // --- internals --------------------------------------------------------------------------

  #nowMs(): number {
    return this.#clock.now().getTime();
  }

  #identities(region: string): Map<string, Identity> {
    let identities = this.#regions.get(region);
    if (identities === undefined) {
      identities = new Map();
      this.#regions.set(region, identities);
    }
    return identities;
  }

  #require(region: string, emailIdentity: string): Identity {
    const key = emailIdentity.toLowerCase();
    const identity = this.#regions.get(region)?.get(key);
    if (identity === undefined) throw notFound(`Email identity <${emailIdentity}> does not exist.`);
    return identity;
  }

  #requireDomain(region: string, emailIdentity: string): Identity {
    const identity = this.#require(region, emailIdentity);
    if (identity.type !== 'DOMAIN') {
      throw badRequest(
        `DKIM signing attributes can only be set for a domain identity, not <${emailIdentity}>.`,
      );
    }
    return identity;
  }

  /** Runs the identity's DNS check if one is due; concurrent callers share it. */
  #refresh(identity: Identity): Promise<void> {
    const inflight = identity.inflightCheck;
    if (inflight !== undefined && inflight.generation === identity.generation) return inflight.done;
    const nowMs = this.#nowMs();
    const dkim = identity.dkim;
    if (dkim === undefined || !isCheckDue(identity, nowMs, this.#timing)) return Promise.resolve();
    const generation = identity.generation;
    const done = this.#check(identity.domain, dkim)
      .then((outcome) => {
        if (identity.generation === generation) applyCheckOutcome(identity, outcome, nowMs, this.#timing);
      })
      .finally(() => {
        if (identity.inflightCheck?.done === done) identity.inflightCheck = undefined;
      });
    identity.inflightCheck = { generation, done };
    return done;
  }

  async #check(domain: string, dkim: DkimConfig) {
    try {
      return dkim.origin === 'EXTERNAL'
        ? await this.#checker.checkKeyRecord(domain, dkim.selector, dkim.key.publicKeySpkiDer)
        : await this.#checker.checkEasyDkimCnames(domain, dkim.tokens);
    } catch (error) {
      return {
        ok: false as const,
        error: 'DNS_SERVER_ERROR' as const,
        detail: error instanceof Error ? error.message : String(error),
      };
    }
  }
}

// --- shaping and parsing helpers --------------------------------------------------------------

function dkimConfigForCreate(attributes: Json | undefined, nowMs: number): DkimConfig {
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
  const key = parsePrivateKey(attributes.DomainSigningPrivateKey);
  return { origin: 'EXTERNAL', selector, key };
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

async function signingMaterial(dkim: DkimConfig): Promise<{ selector: string; privateKey: KeyObject }> {
  if (dkim.origin === 'EXTERNAL') return { selector: dkim.selector, privateKey: dkim.key.privateKey };
  dkim.signingKey ??= generateKeyPairAsync('rsa', {
    modulusLength: dkim.currentKeyLength === 'RSA_1024_BIT' ? 1024 : 2048,
  }).then((pair) => pair.privateKey);
  return { selector: dkim.tokens[0], privateKey: await dkim.signingKey };
}

function isVerifiedForSending(identity: Identity): boolean {
  return verificationStatusOf(identity) === 'SUCCESS';
}

const epochSeconds = (ms: number): number => ms / 1000;

function dkimAttributes(identity: Identity, statusOverride?: 'NOT_STARTED'): Json {
  const dkim = identity.dkim;
  if (dkim === undefined) return { SigningEnabled: identity.signingEnabled, Status: 'NOT_STARTED' };
  const common = {
    SigningEnabled: identity.signingEnabled,
    Status: statusOverride ?? identity.status,
    SigningAttributesOrigin: dkim.origin,
  };
  if (dkim.origin === 'EXTERNAL') return { ...common, Tokens: [dkim.selector] };
  return {
    ...common,
    Tokens: [...dkim.tokens],
    SigningHostedZone: EASY_DKIM_ZONE,
    CurrentSigningKeyLength: dkim.currentKeyLength,
    NextSigningKeyLength: dkim.nextKeyLength,
    LastKeyGenerationTimestamp: epochSeconds(dkim.lastKeyGenerationMs),
  };
}

function verificationInfo(identity: Identity): Json {
  const info: Json = {};
  if (identity.lastCheckedMs !== undefined) info.LastCheckedTimestamp = epochSeconds(identity.lastCheckedMs);
  if (identity.lastSuccessMs !== undefined) info.LastSuccessTimestamp = epochSeconds(identity.lastSuccessMs);
  if (identity.lastError !== undefined && identity.status !== 'SUCCESS') info.ErrorType = identity.lastError;
  return info;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string.`);
  return value;
}

function optionalObject(value: unknown, field: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${field} must be an object.`);
  return value as Json;
}

function parseTags(value: unknown): Tag[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('Tags must be a list.');
  return value.map((tag: unknown) => {
    const object = optionalObject(tag, 'Tags[]');
    const key = object?.Key;
    const tagValue = object?.Value;
    if (typeof key !== 'string' || key.length === 0 || typeof tagValue !== 'string') {
      throw badRequest('Each tag needs a non-empty Key and a Value.');
    }
    return { Key: key, Value: tagValue };
  });
}

function parsePageSize(value: unknown): number {
  if (value === undefined || value === null || value === '') return DEFAULT_PAGE_SIZE;
  const size = typeof value === 'string' ? Number(value) : value;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badRequest(`PageSize must be an integer from 0 to ${MAX_PAGE_SIZE}.`);
  }
  return size === 0 ? DEFAULT_PAGE_SIZE : size;
}

function encodeNextToken(lastKey: string): string {
  return NEXT_TOKEN_PREFIX + Buffer.from(lastKey, 'utf8').toString('base64url');
}

function parseNextToken(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !value.startsWith(NEXT_TOKEN_PREFIX)) {
    throw badRequest('NextToken is not valid.');
  }
  const key = Buffer.from(value.slice(NEXT_TOKEN_PREFIX.length), 'base64url').toString('utf8');
  if (key.length === 0) throw badRequest('NextToken is not valid.');
  return key;
}

function parseFilter(value: unknown): { nameContains?: string; type?: string; status?: string } {
  const filter = optionalObject(value, 'Filter');
  if (filter === undefined) return {};
  const out: { nameContains?: string; type?: string; status?: string } = {};
  for (const [key, raw] of Object.entries(filter)) {
    const text = optionalString(raw, `Filter.${key}`);
    if (text === undefined) continue;
    if (key === 'IDENTITY_NAME_CONTAINS') out.nameContains = text;
    else if (key === 'IDENTITY_TYPE') out.type = text;
    else if (key === 'VERIFICATION_STATUS') out.status = text;
    else
      throw badRequest(
        `Filter key ${key} is not one of IDENTITY_NAME_CONTAINS, IDENTITY_TYPE, VERIFICATION_STATUS.`,
      );
  }
  return out;
}
