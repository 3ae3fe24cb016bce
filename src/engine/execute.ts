import { canaryMessage } from '../domain/canary.js';
import { type DkimPrivateKey, generateDkimKey } from '../domain/key.js';
import {
  applyStep,
  type DomainSpec,
  type Plan,
  recordDeferral,
  recordFailure,
  resolveDnsChanges,
  type Step,
  type StepOf,
  type StepOutcome,
  withIntent,
} from '../domain/lifecycle/index.js';
import type { Actor, DomainState } from '../domain/state.js';
import { hasSideEffect, STEP_KINDS } from '../domain/vocabulary.js';
import { describeError, isByodkimError, isOverBudget, KeyMismatchError, KeyMissingError } from '../errors.js';
import type {
  CanaryPorts,
  Clock,
  DnsPublisher,
  KeyVault,
  Notifier,
  Output,
  SigningService,
} from '../ports.js';

export interface ExecutePorts {
  vault: KeyVault;
  signing: SigningService;
  publisher: DnsPublisher;
  notifier: Notifier;
  output: Output;
  /** `adopt`: the private key found outside the vault (key file, seed system), to store. */
  keySource?: (selector: string) => Promise<DkimPrivateKey | undefined>;
  /** The signing canary's sender and inbox, when the config has a canary. */
  canary?: CanaryPorts;
}

/** What happened to one step of the plan. */
export interface StepResult {
  step: Step;
  /**
   * done: its side effect happened and the state records it; failed: it was tried and threw;
   * deferred: the service's API budget had no room (throttled, or past the run's deadline):
   * due again at the next pass, not a failure;
   * skipped: not tried because an earlier step for the same region or key failed or was deferred;
   * not-run: not tried because an earlier step the rest may depend on failed or was deferred.
   */
  status: 'done' | 'failed' | 'deferred' | 'skipped' | 'not-run';
  /** failed/skipped: why. */
  error?: string;
  /** failed: the error's stable code, when it has one. */
  code?: string;
  /** generate-key, done: the new key (its public half stays in the state). */
  generated?: { selector: string; bits: number };
}

export interface ExecuteResult {
  state: DomainState;
  steps: StepResult[];
  /** Whether the state changed and must be saved. */
  changed: boolean;
}

export interface ExecuteContext {
  /** When the pass began; a step is dated when it happened (`clock`), since pacing can spread a pass out. */
  now: Date;
  clock?: Clock;
  actor: Actor;
  /**
   * Saves the state durably (compare-and-swap) before a side effect that creates
   * something, so a crash right after it leaves the intent for the next pass to find.
   */
  checkpoint(state: DomainState): Promise<void>;
}

/**
 * act: an interpreter of the plan. For each step it writes the intent first where the
 * step creates something, runs the step's handler through the ports, then applies the
 * step to the state with the domain's one `applyStep` — it decides nothing itself. A failed
 * region step stops that region's later steps, a failed key step that key's, any other
 * failure the rest of the pass.
 */
export async function execute(
  plan: Plan,
  initial: DomainState,
  spec: Pick<DomainSpec, 'domain' | 'canary'>,
  ports: ExecutePorts,
  context: ExecuteContext,
): Promise<ExecuteResult> {
  let state: DomainState = initial;
  const results: StepResult[] = [];
  const blockedRegions = new Set<string>();
  const blockedKeys = new Set<string>();
  let stopped = false;
  const stepTime = () => (context.clock ?? { now: () => context.now }).now().toISOString();
  const emit = (step: Step, status: 'start' | 'done' | 'failed' | 'deferred' | 'skipped', message: string) =>
    ports.output.event({
      type: 'step',
      domain: spec.domain,
      step: step.kind,
      phase: step.phase,
      status,
      message,
    });

  for (const step of plan.steps) {
    const region = 'region' in step ? step.region : undefined;
    const selector = 'selector' in step ? step.selector : undefined;
    if (stopped) {
      results.push({ step, status: 'not-run' });
      continue;
    }
    const blockedBy =
      region && blockedRegions.has(region)
        ? `${region} failed or was deferred earlier in this pass`
        : selector && blockedKeys.has(selector) && hasSideEffect(step.kind)
          ? `${selector} failed or was deferred earlier in this pass`
          : undefined;
    if (blockedBy) {
      results.push({ step, status: 'skipped', error: blockedBy });
      emit(step, 'skipped', `${step.message} (skipped: ${blockedBy})`);
      continue;
    }
    if (hasSideEffect(step.kind)) emit(step, 'start', step.message);
    if (STEP_KINDS[step.kind].creates) {
      state = withIntent(state, step, stepTime());
      await context.checkpoint(state);
    }
    try {
      // A canary's header carries the moment it was handed to SES.
      const outcome = await run(step, state, spec, ports, stepTime());
      state = applyStep(state, step, { at: stepTime(), actor: context.actor, outcome });
      results.push({
        step,
        status: 'done',
        ...(step.kind === 'generate-key' && outcome.generated
          ? { generated: { selector: step.selector, bits: outcome.generated.bits } }
          : {}),
      });
      emit(step, 'done', step.message);
    } catch (error) {
      const message = describeError(error);
      const code = isByodkimError(error) ? error.code : undefined;
      const deferred = isOverBudget(error);
      const record = deferred ? recordDeferral : recordFailure;
      state = record(
        state,
        step,
        { message, ...(code ? { code } : {}) },
        { at: stepTime(), actor: context.actor },
      );
      const status = deferred ? 'deferred' : 'failed';
      results.push({ step, status, error: message, ...(code ? { code } : {}) });
      emit(step, status, `${step.message}: ${message}`);
      if (region) blockedRegions.add(region);
      // A key SES refused stays out of every region this pass; a deferred put says nothing of the key.
      if (!deferred && selector && (step.kind === 'ses-put' || step.kind === 'ses-create'))
        blockedKeys.add(selector);
      if (!region) stopped = true; // later steps may depend on this one
    }
  }
  return { state, steps: results, changed: state !== initial };
}

/** Runs one step's side effect; returns what the state needs to know of it. */
async function run(
  step: Step,
  state: DomainState,
  spec: Pick<DomainSpec, 'domain' | 'canary'>,
  ports: ExecutePorts,
  at: string,
): Promise<StepOutcome> {
  const domain = spec.domain;
  switch (step.kind) {
    case 'send-canary': {
      const canary = requireCanary(ports, spec);
      const tag = { id: step.id, domain, region: step.region, sentAt: at };
      await canary.ports.sender.send(step.region, canaryMessage(tag, canary.spec));
      return {};
    }
    case 'discard-canary':
      await requireCanary(ports, spec).ports.inbox.discard(step.ref);
      return {};
    case 'generate-key': {
      const key = await generateDkimKey(step.bits);
      const vaultRef = await ports.vault.put(domain, step.selector, key);
      return { generated: { publicKey: key.publicKey, bits: key.bits, vaultRef } };
    }
    case 'publish':
      return { published: await ports.publisher.apply(domain, resolveDnsChanges(state, step.changes)) };
    case 'ses-put':
    case 'ses-create':
      await putKey(step, state, domain, ports);
      return {};
    case 'ses-enable':
      await ports.signing.setSigningEnabled(domain, step.region, true);
      return {};
    case 'destroy-key':
      await ports.vault.retire(domain, step.selector);
      return {};
    case 'adopt':
      return storeAdoptedKey(step, domain, ports);
    case 'raise-alarm':
      await ports.notifier.notify({ kind: 'failure', domain, reason: step.code, message: step.message });
      return {};
    case 'notify':
      await ports.notifier.notify(
        step.notification === 'rotated'
          ? { kind: 'rotated', domain, selector: step.selector ?? '', message: step.message }
          : { kind: 'failure', domain, reason: step.reason, message: step.message },
      );
      return {};
    default:
      return {};
  }
}

function requireCanary(
  ports: ExecutePorts,
  spec: Pick<DomainSpec, 'domain' | 'canary'>,
): { ports: CanaryPorts; spec: NonNullable<DomainSpec['canary']> } {
  if (!ports.canary || !spec.canary) throw new Error(`no canary is configured for ${spec.domain}`);
  return { ports: ports.canary, spec: spec.canary };
}

/** `adopt` of a key found outside the vault: stored (and read back) before the state names it. */
async function storeAdoptedKey(
  step: StepOf<'adopt'>,
  domain: string,
  ports: ExecutePorts,
): Promise<StepOutcome> {
  const wanted = step.key;
  if (!wanted || (wanted.source !== 'key-file' && wanted.source !== 'seed')) return {};
  const key = await ports.keySource?.(wanted.selector);
  if (!key) throw new KeyMissingError(domain, wanted.selector, `the ${wanted.source}`);
  if (key.publicKey !== wanted.publicKey)
    throw new KeyMismatchError(domain, wanted.selector, `the ${wanted.source}`);
  const vaultRef = await ports.vault.put(domain, wanted.selector, key);
  return { generated: { publicKey: key.publicKey, bits: key.bits, vaultRef } };
}

/**
 * The key SES gets is the key DNS serves: the vault's key must be there and its public half
 * must be the one the state recorded (and the record was verified against), or no put.
 */
async function putKey(
  step: StepOf<'ses-put'> | StepOf<'ses-create'>,
  state: DomainState,
  domain: string,
  ports: ExecutePorts,
): Promise<void> {
  const key = await ports.vault.get(domain, step.selector);
  if (!key) throw new KeyMissingError(domain, step.selector, ports.vault.description);
  const recorded = state.keys.find((k) => k.selector === step.selector)?.publicKey;
  if (key.publicKey !== recorded) throw new KeyMismatchError(domain, step.selector, ports.vault.description);
  if (step.kind === 'ses-put') await ports.signing.putExternalKey(domain, step.region, step.selector, key);
  else await ports.signing.createIdentity(domain, step.region, { selector: step.selector, key });
}
