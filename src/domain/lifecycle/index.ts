/**
 * decide: the pure heart of byodkim. From what byodkim remembers (DomainState), what the
 * world looks like right now (Observation: SES per region, DNS per nameserver, the vault)
 * and the domain's spec, it returns the steps of this pass, each with a reason code and a
 * message, plus what it is waiting for. No I/O, no clock: `observation.now` is the only time.
 *
 * Phases (PRODUCT.md):
 *
 *   3 generate ─▶ 4 publish ─▶ 5 verify on every NS (N passes) ─▶ 6 SES put, every region
 *        ▲                                                            │
 *        │ due: notAfter − renewBefore, rotate, emergency             ▼
 *   8 retire old: grace, remove record, destroy key ◀── 7 SUCCESS everywhere: promote
 *
 * The rules run in the order of RULES, each a small function over a shared working copy
 * that every chosen step advances (with the same applyStep the interpreter uses), so one
 * pass chains what the same observation justifies (verified → SES put in every region).
 * The safety invariants are enforced where steps are chosen:
 *  1. `ses-put`/`ses-create` only for a `verified` key every authoritative nameserver
 *     serves in this very observation (switch.ts).
 *  2. a record is removed only for a `retiring`/`failed` key no region's SES uses, after
 *     its grace period (retirement.ts; emergency revocation, by explicit request, excepted).
 *  3. `destroy-key` only after the record is seen gone everywhere (retirement.ts).
 */
import type { Observation } from '../observation.js';
import type { DomainState } from '../state.js';
import { nextEvent, standbySchedule } from './calendar.js';
import { judgeCanaries, sendCanaries, watchCanaryAlarms } from './canary.js';
import { flushDnsChanges, publishStaged } from './dns-batch.js';
import { measureSwitch, watchAlarms } from './gap.js';
import { retireAgedStandbys, supplyKeys } from './key-supply.js';
import type { DomainSpec, Plan } from './plan.js';
import { trackHandOff, trackPropagation, watchActiveRecord } from './propagation.js';
import { recoverInterruptedPass, retireUnusableKeys, sweepOrphans } from './recovery.js';
import { checkRegions, recordSesRead } from './regions.js';
import { handleRevokeNow, noteKeysStillInUse, retireOldKeys } from './retirement.js';
import { driveSes, keepSesOnActive } from './switch.js';
import { Working } from './working.js';

export interface Rule {
  /** Shown in tests and docs; the order below is the order they run in. */
  name: string;
  run(w: Working): void;
}

/** The policy chain (cert-manager style): each rule sees what the ones before it chose. */
export const RULES: readonly Rule[] = [
  { name: 'recover an interrupted pass', run: recoverInterruptedPass },
  { name: 'take in orphan keys', run: sweepOrphans },
  { name: 'check regions', run: checkRegions },
  { name: 'remember what SES said', run: recordSesRead },
  { name: 'note keys SES still holds', run: noteKeysStillInUse },
  { name: 'measure the switch', run: measureSwitch },
  { name: 'judge canaries', run: judgeCanaries },
  { name: 'watch canary alarms', run: watchCanaryAlarms },
  { name: 'retire keys the vault cannot supply', run: retireUnusableKeys },
  { name: 'track the DNS hand-off', run: trackHandOff },
  { name: 'track propagation', run: trackPropagation },
  { name: 'revoke now (emergency)', run: handleRevokeNow },
  { name: 'drive the SES switch', run: driveSes },
  { name: 'keep SES on the active key', run: keepSesOnActive },
  { name: 'send canaries', run: sendCanaries },
  { name: 'watch the active record', run: watchActiveRecord },
  { name: 'watch alarms', run: watchAlarms },
  { name: 'retire old keys', run: retireOldKeys },
  { name: 'retire aged standbys', run: retireAgedStandbys },
  { name: 'supply keys', run: supplyKeys },
  { name: 'publish staged keys', run: publishStaged },
  { name: 'send the DNS batch', run: flushDnsChanges },
];

/** Decides one pass for one domain. Pure: same inputs, same plan. */
export function decide(state: DomainState, obs: Observation, spec: DomainSpec): Plan {
  const w = new Working(state, obs, spec);
  for (const rule of RULES) rule.run(w);
  const plan: Plan = { domain: spec.domain, steps: w.steps, waits: w.waits, warnings: w.warnings };
  const next = nextEvent(w);
  if (next) plan.next = next;
  const schedule = standbySchedule(w);
  if (schedule.length > 0) plan.schedule = schedule;
  return plan;
}

export {
  applyStep,
  recordDeferral,
  recordFailure,
  resolveDnsChanges,
  type StepOutcome,
  withIntent,
} from './apply-step.js';
export { renewalDueAt, rotationDueAt } from './calendar.js';
export { FAILURE_BACKOFF_MS, generateOneKey } from './key-supply.js';
export type {
  DomainSpec,
  Finding,
  Plan,
  PlannedDnsChange,
  ScheduledUse,
  Step,
  StepOf,
  Wait,
} from './plan.js';
export {
  healthReadDue,
  healthyAtHealthRead,
  type SesReadDecision,
  type SesReadOptions,
  sesReadDue,
} from './reads.js';
export { previousKeys, rollbackCandidate } from './rollback.js';
export { FUTURE, Working } from './working.js';
