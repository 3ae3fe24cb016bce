/** Small builders for the doctor's rule contexts (changesets-style fake data). */

import { analyzeAnswer } from '../../../src/doctor/dkim-value.js';
import type {
  ExpectedRecord,
  LookupAnswer,
  MailFromUse,
  MxLookupAnswer,
  TxtRecordSeen,
} from '../../../src/doctor/observation.js';
import type {
  DmarcContext,
  MailFromMxContext,
  MailFromSpfContext,
  RecordContext,
  SesContext,
  StateContext,
  StrayNameContext,
} from '../../../src/doctor/rules/context.js';
import { buildDkimRecordValue, dkimRecordName, splitTxtValue } from '../../../src/domain/record.js';
import type { DomainState, KeyEntry, KeyStatus } from '../../../src/domain/state.js';
import type { SesDkimView } from '../../../src/ports.js';

export const DOMAIN = 'example.com';
export const NS1 = 'ns1.example.com (192.0.2.1)';
export const NOW = new Date('2026-03-01T00:00:00Z');

export function txt(value: string | readonly string[], ttl = 300): TxtRecordSeen {
  return { strings: typeof value === 'string' ? splitTxtValue(value) : [...value], ttl };
}

export function dkimTxt(publicKey: string, ttl = 300): TxtRecordSeen {
  return txt(buildDkimRecordValue(publicKey), ttl);
}

export function expected(
  selector: string,
  publicKey: string | undefined,
  overrides: Partial<ExpectedRecord> = {},
): ExpectedRecord {
  return {
    selector,
    name: dkimRecordName(selector, DOMAIN),
    role: 'active',
    ...(publicKey === undefined ? {} : { publicKey }),
    sesRegions: ['us-east-1'],
    ...overrides,
  };
}

export function answer(name: string, overrides: Partial<LookupAnswer> = {}): LookupAnswer {
  const txtRecords = overrides.txt ?? [];
  return {
    nameserver: NS1,
    name,
    outcome: txtRecords.length > 0 || (overrides.cnames ?? []).length > 0 ? 'answer' : 'nodata',
    txt: txtRecords,
    cnames: [],
    ...overrides,
  };
}

export function recordContext(
  record: ExpectedRecord,
  served: Partial<LookupAnswer>,
  overrides: Partial<Omit<RecordContext, 'analysis' | 'answer' | 'record'>> = {},
): RecordContext {
  const ans = answer(record.name, served);
  return {
    domain: DOMAIN,
    record,
    answer: ans,
    analysis: analyzeAnswer(ans, record.publicKey),
    graceDays: 7,
    ttl: 300,
    delegatedTo: undefined,
    ...overrides,
  };
}

export function strayContext(
  record: ExpectedRecord,
  kind: StrayNameContext['kind'],
  served: Partial<LookupAnswer>,
  rightNameServed = false,
): StrayNameContext {
  const name = kind === 'doubled' ? `${record.name}.${DOMAIN}` : `${record.selector}.${DOMAIN}`;
  return { domain: DOMAIN, record, kind, answer: answer(name, served), rightNameServed, ttl: 300 };
}

export function sesView(overrides: Partial<SesDkimView> = {}): SesDkimView {
  return {
    identity: DOMAIN,
    region: 'us-east-1',
    exists: true,
    origin: 'EXTERNAL',
    status: 'SUCCESS',
    signingEnabled: true,
    tokens: ['sel-1'],
    verifiedForSending: true,
    verificationStatus: 'SUCCESS',
    lastCheckedAt: '2026-02-28T23:00:00.000Z',
    lastSuccessAt: '2026-02-28T23:00:00.000Z',
    ...overrides,
  };
}

export function sesContext(view: Partial<SesDkimView> = {}, overrides: Partial<SesContext> = {}): SesContext {
  return {
    domain: DOMAIN,
    region: 'us-east-1',
    read: { ok: true, view: sesView(view) },
    activeSelector: 'sel-1',
    switchingSelectors: [],
    stateKnown: true,
    createIdentity: false,
    easyDkimTakeover: false,
    now: NOW,
    ...overrides,
  };
}

export function dmarcContext(
  records: readonly string[],
  inherited?: readonly string[],
  outcome?: LookupAnswer['outcome'],
  mailFrom: readonly MailFromUse[] = [],
): DmarcContext {
  return {
    domain: DOMAIN,
    answer: answer(`_dmarc.${DOMAIN}`, {
      txt: records.map((r) => txt(r)),
      ...(outcome === undefined ? {} : { outcome }),
    }),
    inherited:
      inherited === undefined
        ? undefined
        : answer('_dmarc.example.net', { txt: inherited.map((r) => txt(r)) }),
    ttl: 3600,
    mailFrom,
  };
}

export function keyEntry(
  selector: string,
  publicKey: string,
  status: KeyStatus,
  extra: Partial<KeyEntry> = {},
): KeyEntry {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    selector,
    bits: 2048,
    publicKey,
    vaultRef: `file:${selector}`,
    origin: 'generated',
    createdAt: at,
    notAfter: '2027-01-01T00:00:00.000Z',
    status,
    statusSince: at,
    ...extra,
  };
}

export function domainState(keys: KeyEntry[], extra: Partial<DomainState> = {}): DomainState {
  return { schema: 1, domain: DOMAIN, keys, history: [], ...extra };
}

export function stateContext(
  state: DomainState | undefined,
  overrides: Partial<StateContext> = {},
): StateContext {
  return {
    domain: DOMAIN,
    state,
    readError: undefined,
    storeDescription: 'file:/tmp/state',
    sesSelectors: {},
    now: NOW,
    ...overrides,
  };
}

export const MAIL_FROM = `bounce.${DOMAIN}`;

/** A region's MAIL FROM as SES would report it: set, verified, SES signing with the domain's key. */
export function mailFromUse(overrides: Partial<MailFromUse> = {}): MailFromUse {
  return {
    region: 'us-east-1',
    mailFromDomain: MAIL_FROM,
    status: 'SUCCESS',
    behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    dkimAlignedNow: true,
    ...overrides,
  };
}

export function mxAnswer(
  exchanges: readonly string[],
  overrides: Partial<MxLookupAnswer> = {},
): MxLookupAnswer {
  return {
    nameserver: NS1,
    name: MAIL_FROM,
    outcome: exchanges.length > 0 ? 'answer' : 'nodata',
    mx: exchanges.map((exchange) => ({ preference: 10, exchange, ttl: 3600 })),
    cnames: [],
    ...overrides,
  };
}

export function mailFromMxContext(
  exchanges: readonly string[],
  use: Partial<MailFromUse> = {},
  answerOverrides: Partial<MxLookupAnswer> = {},
): MailFromMxContext {
  return {
    domain: DOMAIN,
    use: { ...mailFromUse(use), mailFromDomain: MAIL_FROM },
    answer: mxAnswer(exchanges, answerOverrides),
  };
}

export function mailFromSpfContext(
  records: ReadonlyArray<string | readonly string[]>,
  users: readonly MailFromUse[] = [mailFromUse()],
): MailFromSpfContext {
  return {
    domain: DOMAIN,
    mailFromDomain: MAIL_FROM,
    users,
    answer: answer(MAIL_FROM, { txt: records.map((r) => txt(r)) }),
  };
}
