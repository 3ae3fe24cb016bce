/**
 * `byodkim`: the library API for scripting byodkim from TypeScript or JavaScript: load a
 * config, build the engine, then plan or apply one reconcile pass per domain, as the CLI's
 * `plan` and `apply` do. Everything in `byodkim/core` is re-exported here.
 *
 * Importing this module loads no AWS SDK either: `buildEngine` loads the SDK clients a
 * config asks for (S3, Secrets Manager, DynamoDB, Route 53, SES, SNS) when it runs.
 *
 * @example
 * ```ts
 * import { applyDomain, buildEngine, forEachDomain, loadConfig } from 'byodkim';
 *
 * const loaded = await loadConfig('byodkim.config.yaml');
 * const engine = await buildEngine(loaded);
 * const { results } = await forEachDomain(loaded.domains, (domain) => applyDomain(domain, engine));
 * for (const r of results) console.log(r.domain, r.outcome, r.errors);
 * ```
 *
 * @packageDocumentation
 */

export { buildEngine, type EngineOptions } from './config/engine.js';
export * from './core.js';
export type { StepResult } from './engine/execute.js';
export {
  applyDomain,
  type DomainOutcome,
  type DomainResult,
  type EngineDeps,
  type FleetOptions,
  forEachDomain,
  planDomain,
} from './engine/reconcile.js';
export type {
  Clock,
  DnsProbe,
  DnsPublisher,
  DnsRecordChange,
  EngineEvent,
  KeyVault,
  Lease,
  NameserverAnswer,
  NameserverOutcome,
  Notification,
  Notifier,
  Output,
  ProbeResult,
  PublishOutcome,
  SesDkimStatus,
  SesDkimView,
  SigningService,
  StateStore,
  Versioned,
} from './ports.js';
