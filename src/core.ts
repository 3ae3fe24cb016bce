/**
 * `byodkim/core`: the parts of byodkim that need no AWS SDK and no network: reading and
 * checking a config, the DKIM record and selector rules, key generation, the domain state
 * and plan types, and the errors. Importing it loads no `@aws-sdk/*` module (a release test
 * measures this on the packed package), so a CDK app or a script that only reads configs
 * or builds records pays nothing for the engine.
 *
 * The full API, with the engine, is the package root (`byodkim`), which re-exports all of this.
 *
 * @example
 * ```ts
 * import { buildDkimRecordValue, dkimRecordName, generateDkimKey, loadConfig } from 'byodkim/core';
 *
 * const loaded = await loadConfig('byodkim.config.yaml');
 * const key = await generateDkimKey(2048);
 * console.log(dkimRecordName('mail-20260101-1', loaded.domains[0].domain), buildDkimRecordValue(key.publicKey));
 * ```
 *
 * @packageDocumentation
 */
export {
  accountDomains,
  DEFAULT_CONFIG_FILE,
  findDomain,
  type LoadedConfig,
  loadConfig,
  parseConfig,
  type ResolvedDomain,
} from './config/load.js';
export type { AccountConfig, Config, ConfigInput, DnsProviderConfig } from './config/schema.js';
export { OWN_ACCOUNT } from './domain/account.js';
export { DkimPrivateKey, generateDkimKey, importPrivateKey, KEY_SIZES, type KeyBits } from './domain/key.js';
export type { DomainSpec, Finding, Plan, Step, Wait } from './domain/lifecycle/index.js';
export type { Observation } from './domain/observation.js';
export type { Policy } from './domain/policy.js';
export {
  buildDkimRecordValue,
  type DkimRecordParse,
  dkimRecordName,
  matchRecord,
  type ParsedDkimRecord,
  parseDkimRecord,
  REVOKED_RECORD_VALUE,
  type RecordMatch,
} from './domain/record.js';
export { isValidSelector, nextSelector } from './domain/selector.js';
export type { Actor, DomainState, HistoryEntry, KeyEntry, KeyStatus } from './domain/state.js';
export type { Phase } from './domain/vocabulary.js';
export {
  AlreadyExistsError,
  ByodkimError,
  ConflictError,
  CorruptDataError,
  describeError,
  type ErrorContext,
  ExitCode,
  InputError,
  isByodkimError,
  KeyMismatchError,
  KeyMissingError,
  LockedError,
  ReadBackError,
  ServiceError,
} from './errors.js';
