import type { ResolvedDomain } from '../config/load.js';
import { publishedRecordName } from '../domain/delegation.js';
import type { Plan, Step } from '../domain/lifecycle.js';
import { buildDkimRecordValue } from '../domain/record.js';
import {
  type Actor,
  type DomainState,
  HISTORY_LIMIT,
  type HistoryEntry,
  type KeyEntry,
} from '../domain/state.js';
import { describeError, ServiceError } from '../errors.js';
import type { DnsPublisher, DnsRecordChange, KeyVault, Notifier, Output, SigningService } from '../ports.js';
import { stageNewKey } from './stage-key.js';

export interface ExecutePorts {
  vault: KeyVault;
  signing: SigningService;
  publisher: DnsPublisher;
  notifier: Notifier;
  output: Output;
}

export interface ExecuteResult {
  state: DomainState;
  /** Steps that failed, with why. A failed region step does not stop other regions. */
  failures: Array<{ step: Step; error: string }>;
  /** Whether the state changed and must be saved. */
  changed: boolean;
}

/**
 * act: runs the plan's steps in order through the ports. Each side effect is idempotent or
 * re-derivable from the world, so a crash between any two steps leaves a state from which
 * the next pass converges. State changes are applied to a copy only after the side effect
 * they describe succeeded; the caller saves the copy once, with a version check.
 */
export async function execute(
  plan: Plan,
  initial: DomainState,
  domain: ResolvedDomain,
  ports: ExecutePorts,
  context: { now: Date; actor: Actor },
): Promise<ExecuteResult> {
  let state: DomainState = structuredClone(initial);
  const failures: ExecuteResult['failures'] = [];
  const blockedRegions = new Set<string>();
  const generated: KeyEntry[] = [];
  const at = context.now.toISOString();
  let changed = false;

  const record = (entry: Omit<HistoryEntry, 'at' | 'actor'>) => {
    state.history = [...state.history, { at, actor: context.actor, ...entry }].slice(-HISTORY_LIMIT);
  };
  const updateKey = (selector: string, update: (key: KeyEntry) => void) => {
    state.keys = state.keys.map((k) => {
      if (k.selector !== selector) return k;
      const copy = { ...k };
      update(copy);
      return copy;
    });
  };

  for (const step of plan.steps) {
    const region = 'region' in step ? step.region : undefined;
    if (region && blockedRegions.has(region)) {
      ports.output.event({
        type: 'step',
        domain: domain.domain,
        step: step.kind,
        phase: step.phase,
        status: 'skipped',
        message: `${step.message} (skipped: ${region} failed earlier in this pass)`,
      });
      continue;
    }
    const hasSideEffect = !['set-streak', 'transition', 'hand-off-done', 'clear-request'].includes(step.kind);
    if (hasSideEffect)
      ports.output.event({
        type: 'step',
        domain: domain.domain,
        step: step.kind,
        phase: step.phase,
        status: 'start',
        message: step.message,
      });
    try {
      switch (step.kind) {
        case 'generate-key': {
          const result = await stageNewKey({
            domain,
            state,
            vault: ports.vault,
            now: context.now,
            actor: context.actor,
            reason: step.reason,
          });
          state = result.state;
          generated.push(result.key);
          break;
        }
        case 'publish': {
          // Keys generated in this pass join the batch: decide could not know their public keys.
          const changes: DnsRecordChange[] = [
            ...step.changes,
            ...generated.map((key) => ({
              action: 'upsert' as const,
              name: publishedRecordName(domain, key.selector),
              value: buildDkimRecordValue(key.publicKey),
              ttl: domain.dns.ttl,
              selector: key.selector,
              reason: 'Publish',
            })),
          ];
          const outcome = await ports.publisher.apply(domain.domain, changes);
          applyPublished(state, changes, outcome, at, updateKey, record);
          generated.length = 0;
          break;
        }
        case 'set-streak':
          updateKey(step.selector, (k) => {
            k.verifyStreak = step.streak;
            if (step.seenAt !== undefined) k.lastSeenAt = step.seenAt;
            else delete k.lastSeenAt;
          });
          break;
        case 'transition': {
          const before = state.keys.find((k) => k.selector === step.selector);
          if (!before) break;
          updateKey(step.selector, (k) => {
            Object.assign(k, step.set ?? {});
            if (k.status !== step.to) {
              k.status = step.to;
              k.statusSince = at;
            }
          });
          record({
            selector: step.selector,
            from: before.status,
            to: step.to,
            reason: step.reason,
            message: step.message,
          });
          break;
        }
        case 'ses-put':
        case 'ses-create': {
          const key = await ports.vault.get(domain.domain, step.selector);
          if (!key) {
            throw new ServiceError(
              'KEY_MISSING',
              `the private key of ${step.selector} is not in ${ports.vault.description}`,
              {
                context: { domain: domain.domain, selector: step.selector },
              },
            );
          }
          if (step.kind === 'ses-put')
            await ports.signing.putExternalKey(domain.domain, step.region, step.selector, key);
          else
            await ports.signing.createIdentity(domain.domain, step.region, { selector: step.selector, key });
          record({ selector: step.selector, reason: step.reason, message: step.message });
          break;
        }
        case 'ses-enable':
          await ports.signing.setSigningEnabled(domain.domain, step.region, true);
          record({ reason: step.reason, message: step.message });
          break;
        case 'destroy-key':
          await ports.vault.retire(domain.domain, step.selector);
          updateKey(step.selector, (k) => {
            k.destroyedAt = at;
          });
          break;
        case 'hand-off-done':
          delete state.handOff;
          record({ reason: step.reason, message: step.message });
          break;
        case 'clear-request':
          if (step.which === 'rotation') delete state.rotation;
          else delete state.rollback;
          break;
        case 'notify':
          await ports.notifier.notify(
            step.notification === 'rotated'
              ? {
                  kind: 'rotated',
                  domain: domain.domain,
                  selector: state.keys.find((k) => k.status === 'active')?.selector ?? '',
                  message: step.message,
                }
              : { kind: 'failure', domain: domain.domain, reason: step.reason, message: step.message },
          );
          break;
      }
      changed ||= step.kind !== 'notify';
      ports.output.event({
        type: 'step',
        domain: domain.domain,
        step: step.kind,
        phase: step.phase,
        status: 'done',
        message: step.message,
      });
    } catch (error) {
      const message = describeError(error);
      failures.push({ step, error: message });
      ports.output.event({
        type: 'step',
        domain: domain.domain,
        step: step.kind,
        phase: step.phase,
        status: 'failed',
        message: `${step.message}: ${message}`,
      });
      record({
        ...('selector' in step ? { selector: step.selector } : {}),
        reason: `${step.reason}Failed`,
        message: `${step.message}: ${message}`,
      });
      changed = true;
      if (region) {
        blockedRegions.add(region);
        continue;
      }
      break; // later steps may depend on this one
    }
  }
  // A key generated but never published (publish failed or was not planned) stays staged.
  return { state, failures, changed };
}

function applyPublished(
  state: DomainState,
  changes: readonly DnsRecordChange[],
  outcome: 'applied' | 'handed-off',
  at: string,
  updateKey: (selector: string, update: (key: KeyEntry) => void) => void,
  record: (entry: Omit<HistoryEntry, 'at' | 'actor'>) => void,
): void {
  for (const change of changes) {
    const key = state.keys.find((k) => k.selector === change.selector);
    if (!key) continue;
    if (change.action === 'delete') {
      updateKey(change.selector, (k) => {
        k.removalRequestedAt = at;
      });
      record({
        selector: change.selector,
        reason: 'RemovalRequested',
        message: `${outcome === 'applied' ? 'removed' : 'asked the DNS team to remove'} ${change.name}${change.notBefore ? ` (not before ${change.notBefore})` : ''}`,
      });
    } else if (change.reason === 'EmergencyRevocation') {
      updateKey(change.selector, (k) => {
        k.revokedAt = at;
      });
      record({
        selector: change.selector,
        reason: 'EmergencyRevocation',
        message: `revoked ${change.name} (empty p=)`,
      });
    } else if (key.status !== 'staged') {
      updateKey(change.selector, (k) => {
        k.lastPublishedAt = at;
      });
      record({
        selector: change.selector,
        reason: change.reason,
        message: `published ${change.name} again (${change.reason})`,
      });
    } else {
      updateKey(change.selector, (k) => {
        k.status = 'published';
        k.statusSince = at;
        k.lastPublishedAt = at;
        k.verifyStreak = 0;
      });
      record({
        selector: change.selector,
        from: 'staged',
        to: 'published',
        reason: outcome === 'applied' ? 'Published' : 'HandedOff',
        message: `${outcome === 'applied' ? 'published' : 'handed to the DNS team'}: ${change.name}`,
      });
    }
  }
  // Only additions block the next hand-off: removals are dated and tracked per key.
  if (outcome === 'handed-off' && changes.some((c) => c.action === 'upsert')) {
    state.handOff = {
      sentAt: at,
      add: changes.filter((c) => c.action === 'upsert').map((c) => ({ name: c.name, value: c.value })),
      remove: changes.filter((c) => c.action === 'delete').map((c) => ({ name: c.name, value: c.value })),
    };
  }
}
