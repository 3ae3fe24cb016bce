/**
 * The words byodkim speaks in: reason codes, step kinds, phases and what comes next. Every
 * front end (CLI, Lambda, sandbox) and every rule uses these constants, so a reason is
 * spelled in one place and a typo is a type error, not a silently unmatched string
 * (aws-cdk toolkit-lib keeps its message codes the same way).
 */

/**
 * Why a step is taken, a wait reported or a history entry written (cert-manager style:
 * stable, machine-readable, CamelCase). Scripts and dashboards match on these.
 */
export const Reason = {
  // Why a new key is made (phase 3).
  Onboarding: 'Onboarding',
  RenewalDue: 'RenewalDue',
  RotationRequested: 'RotationRequested',
  EmergencyRotation: 'EmergencyRotation',
  EmergencyRotationRequested: 'EmergencyRotationRequested',
  StandbyBelowTarget: 'StandbyBelowTarget',
  StandbyAgedOut: 'StandbyAgedOut',
  ActiveKeyUnusable: 'ActiveKeyUnusable',
  KeygenCommand: 'KeygenCommand',
  // Phase 4: DNS.
  Publish: 'Publish',
  Published: 'Published',
  HandOff: 'HandOff',
  HandedOff: 'HandedOff',
  HandOffApplied: 'HandOffApplied',
  DnsHandOffPending: 'DnsHandOffPending',
  RecordWrong: 'RecordWrong',
  ActiveRecordDrift: 'ActiveRecordDrift',
  // Phase 5: propagation.
  RecordSeen: 'RecordSeen',
  RecordNotSeen: 'RecordNotSeen',
  PropagationVerified: 'PropagationVerified',
  VerifiedRecordLost: 'VerifiedRecordLost',
  DnsPropagationPending: 'DnsPropagationPending',
  VerifyIntervalPending: 'VerifyIntervalPending',
  DelegationCnameMissing: 'DelegationCnameMissing',
  // Phases 6–7: SES.
  SwitchSelector: 'SwitchSelector',
  CreateIdentity: 'CreateIdentity',
  EnableSigning: 'EnableSigning',
  SigningVerified: 'SigningVerified',
  SesVerificationPending: 'SesVerificationPending',
  SesVerificationFailed: 'SesVerificationFailed',
  VerificationWindowExpired: 'VerificationWindowExpired',
  SesUnavailable: 'SesUnavailable',
  SesDrift: 'SesDrift',
  SigningDisabled: 'SigningDisabled',
  SesFailedRetry: 'SesFailedRetry',
  SesStatusDegraded: 'SesStatusDegraded',
  IdentityMissing: 'IdentityMissing',
  EasyDkimInUse: 'EasyDkimInUse',
  UnknownSelectorInSes: 'UnknownSelectorInSes',
  NextKeyNotReady: 'NextKeyNotReady',
  RotationComplete: 'RotationComplete',
  SigningSeen: 'SigningSeen',
  SesRead: 'SesRead',
  SwitchWindowClosed: 'SwitchWindowClosed',
  DmarcUncoveredDuringGap: 'DmarcUncoveredDuringGap',
  SesTemporaryFailure: 'SesTemporaryFailure',
  SwitchPendingLong: 'SwitchPendingLong',
  AlarmCleared: 'AlarmCleared',
  // The signing canary: real mail through SES, read back and judged.
  CanarySend: 'CanarySend',
  CanaryJudged: 'CanaryJudged',
  CanaryGapMeasured: 'CanaryGapMeasured',
  CanaryLost: 'CanaryLost',
  CanaryDiscarded: 'CanaryDiscarded',
  CanaryInboxUnavailable: 'CanaryInboxUnavailable',
  CanaryUnexpectedSelector: 'CanaryUnexpectedSelector',
  CanaryUnsigned: 'CanaryUnsigned',
  // Rollback.
  Rollback: 'Rollback',
  RollbackRequested: 'RollbackRequested',
  NothingToRollBackTo: 'NothingToRollBackTo',
  // Phase 8: retirement.
  Superseded: 'Superseded',
  EmergencyRevocation: 'EmergencyRevocation',
  StillInUse: 'StillInUse',
  GraceOver: 'GraceOver',
  RemovalRequested: 'RemovalRequested',
  RecordRemovalPending: 'RecordRemovalPending',
  Retired: 'Retired',
  // Runs.
  LeaseLost: 'LeaseLost',
  // Key supply and custody.
  SelectorRingBusy: 'SelectorRingBusy',
  VaultUnavailable: 'VaultUnavailable',
  FailureBackoff: 'FailureBackoff',
  KeyMismatch: 'KeyMismatch',
  KeyMissing: 'KeyMissing',
  OrphanKeyTakenIn: 'OrphanKeyTakenIn',
  OrphanKeyUnreadable: 'OrphanKeyUnreadable',
  InterruptedKeyCompleted: 'InterruptedKeyCompleted',
  PassInterrupted: 'PassInterrupted',
  // Operator commands.
  Adopted: 'Adopted',
  AdoptedEasyDkim: 'AdoptedEasyDkim',
  RequestRecorded: 'RequestRecorded',
  DeadlineReached: 'DeadlineReached',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** The history reason of a step that failed: `<reason>Failed`. */
export function failedReason(reason: string): string {
  return `${reason}Failed`;
}

/** The history reason of a step the API budget deferred to the next pass: `<reason>Deferred`. */
export function deferredReason(reason: string): string {
  return `${reason}Deferred`;
}

/**
 * Step kinds and what each does to the world. `sideEffect`: the step calls a port (vault,
 * DNS, SES, notifier). `creates`: the side effect makes something that must be named by
 * the state before it exists (a key in the vault, a record in DNS, SES pointed at a
 * selector), so the interpreter writes the intent to the state store first.
 */
export const STEP_KINDS = {
  'generate-key': { sideEffect: true, creates: true },
  'take-in-key': { sideEffect: false, creates: false },
  publish: { sideEffect: true, creates: true },
  'set-streak': { sideEffect: false, creates: false },
  transition: { sideEffect: false, creates: false },
  'ses-put': { sideEffect: true, creates: true },
  'ses-create': { sideEffect: true, creates: true },
  'ses-enable': { sideEffect: true, creates: false },
  'signing-seen': { sideEffect: false, creates: false },
  // Bookkeeping, not an action: left out of reports (what SES said is in the observation).
  'ses-seen': { sideEffect: false, creates: false, reported: false },
  'raise-alarm': { sideEffect: true, creates: false },
  'clear-alarm': { sideEffect: false, creates: false },
  'destroy-key': { sideEffect: true, creates: false },
  'send-canary': { sideEffect: true, creates: false },
  'canary-judged': { sideEffect: false, creates: false },
  'canary-lost': { sideEffect: false, creates: false },
  // Housekeeping of the inbox, not an action worth reporting.
  'discard-canary': { sideEffect: true, creates: false, reported: false },
  'hand-off-done': { sideEffect: false, creates: false },
  'clear-request': { sideEffect: false, creates: false },
  'clear-intent': { sideEffect: false, creates: false },
  notify: { sideEffect: true, creates: false },
  request: { sideEffect: false, creates: false },
  adopt: { sideEffect: true, creates: true },
} as const satisfies Record<string, { sideEffect: boolean; creates: boolean; reported?: boolean }>;
export type StepKind = keyof typeof STEP_KINDS;

/** Whether a step kind is an action worth reporting (CLI, Lambda, sandbox). */
export function isReported(kind: StepKind): boolean {
  const meta = STEP_KINDS[kind];
  return !('reported' in meta) || meta.reported !== false;
}

export function hasSideEffect(kind: StepKind): boolean {
  return STEP_KINDS[kind].sideEffect;
}

/** The lifecycle's phases, numbered as the seed system numbered them (PRODUCT.md). */
export const PHASES = {
  3: 'generate',
  4: 'publish',
  5: 'verify DNS',
  6: 'switch SES',
  7: 'signing',
  8: 'retire',
} as const;
export type Phase = keyof typeof PHASES;

/** What a domain waits for next when nothing is due now (`status`, `plan`, the sandbox's clock). */
export type NextEvent =
  | { kind: 'rotate'; at: string; selector: string; what: string }
  | { kind: 'retire'; at: string; selector: string; what: string }
  /** Read SES again soon after a put, to see the switch through (policy.followUpMinutes). */
  | { kind: 'follow-up'; at: string; selector: string; what: string }
  /** A due switch waits for policy.switchWindow to open. */
  | { kind: 'switch-window'; at: string; selector: string; what: string }
  /** A canary to judge, or the next canary while a switch is open (config canary). */
  | { kind: 'canary'; at: string; selector: string; what: string };

/** Why the moment of a next event is what it is, as the front ends explain it. */
export function explainNextEvent(next: Pick<NextEvent, 'kind' | 'selector'>): string {
  switch (next.kind) {
    case 'rotate':
      return `rotate ${next.selector} is due (notAfter − renewBefore)`;
    case 'retire':
      return `retire ${next.selector}: its grace period ends`;
    case 'follow-up':
      return `SES read again to see the switch to ${next.selector} through`;
    case 'switch-window':
      return `the switch window opens for ${next.selector}`;
    case 'canary':
      return `a canary to send or judge while SES switches to ${next.selector}`;
  }
}
