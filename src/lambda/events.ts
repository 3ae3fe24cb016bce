/**
 * What the function is asked to do, read from the event Lambda hands it. Pure: no config,
 * no I/O, so a bad event is refused before anything is loaded or changed.
 *
 * Three kinds of event reach the function:
 *
 * - an EventBridge schedule (`detail-type: "Scheduled Event"`): one pass over every domain;
 * - a CloudFormation stack status change (`source: aws.cloudformation`): CREATE_COMPLETE and
 *   UPDATE_COMPLETE start a pass, as the seeds' `DKIMPhaseManagerRule` did; other statuses
 *   are acknowledged and ignored;
 * - a direct invocation (also what the rules send as their fixed input):
 *   `{ "action": "phase_manager" | "rotate" | "rollback" | "status", "domain"?, "account"?, "emergency"?, "revokeNow"? }`;
 *   `account` (phase_manager, status) limits the run to one account's domains (an
 *   `accounts[].name`, or `own`): the per-account schedules of the AWS deployment send it.
 */
import { InputError } from '../errors.js';

export type Trigger = 'schedule' | 'cloudformation' | 'direct';

export const ACTIONS = ['phase_manager', 'rotate', 'rollback', 'status'] as const;
export type Action = (typeof ACTIONS)[number];

/** Stack statuses that start a pass: the DKIM stacks (or their updates) are in place. */
export const STACK_STATUSES_THAT_RUN = ['CREATE_COMPLETE', 'UPDATE_COMPLETE'] as const;

export type Invocation =
  | {
      action: 'phase_manager';
      trigger: Trigger;
      domain?: string;
      account?: string;
      stackId?: string;
      stackStatus?: string;
    }
  | { action: 'rotate'; trigger: 'direct'; domain: string; emergency: boolean; revokeNow: boolean }
  | { action: 'rollback'; trigger: 'direct'; domain: string }
  | { action: 'status'; trigger: 'direct'; domain?: string; account?: string }
  | { action: 'ignore'; trigger: 'cloudformation'; reason: string; stackId?: string; stackStatus?: string };

const DIRECT_KEYS = ['action', 'domain', 'account', 'emergency', 'revokeNow'] as const;
const MAX_SHOWN = 120;
const WITHHELD = '[value withheld: it looks like a private key]';

/** A short, printable rendering of an offending value (never more than MAX_SHOWN characters). */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (/PRIVATE KEY/.test(text)) return WITHHELD;
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/** The offending value for an error's context: a string as is, anything else as JSON; both cut short. */
function contextValue(value: unknown): string {
  if (typeof value !== 'string') return showValue(value);
  if (/PRIVATE KEY/.test(value)) return WITHHELD;
  return value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 1)}…` : value;
}

function invalid(field: string, value: unknown, message: string, code = 'EVENT_INVALID'): InputError {
  return new InputError(code, `${field}: ${showValue(value)} ${message}`, {
    context: { field, value: contextValue(value) },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an event into an Invocation.
 *
 * @throws {@link InputError} (`EVENT_INVALID`, `EVENT_UNRECOGNIZED`) naming the offending
 *   field and value.
 * @example
 * ```ts
 * parseEvent({ action: 'rotate', domain: 'example.com', emergency: true });
 * // { action: 'rotate', trigger: 'direct', domain: 'example.com', emergency: true, revokeNow: false }
 * ```
 */
export function parseEvent(event: unknown): Invocation {
  if (!isRecord(event)) {
    throw invalid(
      'event',
      event,
      'is not an object: expected a scheduled event, a CloudFormation stack event or {"action": ...}',
    );
  }
  const detailType = event['detail-type'];
  if (detailType !== undefined || (typeof event.source === 'string' && event.source.startsWith('aws.'))) {
    return parseEventBridge(event, detailType);
  }
  return parseDirect(event);
}

function parseEventBridge(event: Record<string, unknown>, detailType: unknown): Invocation {
  if (detailType === 'Scheduled Event') return { action: 'phase_manager', trigger: 'schedule' };
  if (detailType === 'CloudFormation Stack Status Change' || event.source === 'aws.cloudformation') {
    if (event.source !== 'aws.cloudformation') {
      throw invalid('source', event.source, 'is not "aws.cloudformation" for a stack status change');
    }
    const detail = isRecord(event.detail) ? event.detail : {};
    const statusDetails = isRecord(detail['status-details']) ? detail['status-details'] : {};
    const status = statusDetails.status;
    const stackId = typeof detail['stack-id'] === 'string' ? detail['stack-id'] : undefined;
    if (typeof status !== 'string') {
      throw invalid('detail.status-details.status', status, 'is missing: not a stack status change event');
    }
    const where = { ...(stackId === undefined ? {} : { stackId }), stackStatus: status };
    if ((STACK_STATUSES_THAT_RUN as readonly string[]).includes(status)) {
      return { action: 'phase_manager', trigger: 'cloudformation', ...where };
    }
    return {
      action: 'ignore',
      trigger: 'cloudformation',
      reason: `stack status ${status} does not start a pass (only ${STACK_STATUSES_THAT_RUN.join(', ')})`,
      ...where,
    };
  }
  throw invalid(
    'detail-type',
    detailType,
    `is not handled (source ${showValue(event.source)}): expected "Scheduled Event" or "CloudFormation Stack Status Change"`,
    'EVENT_UNRECOGNIZED',
  );
}

function parseDirect(event: Record<string, unknown>): Invocation {
  for (const key of Object.keys(event)) {
    if (!(DIRECT_KEYS as readonly string[]).includes(key)) {
      throw invalid(
        key,
        event[key],
        `is not a field of a direct invocation (known: ${DIRECT_KEYS.join(', ')})`,
      );
    }
  }
  const { action, domain, account, emergency, revokeNow } = event;
  if (action === undefined) {
    throw invalid('action', action, `is required: one of ${ACTIONS.join(', ')}`);
  }
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw invalid('action', action, `is not an action: one of ${ACTIONS.join(', ')}`);
  }
  if (
    domain !== undefined &&
    (typeof domain !== 'string' || domain.trim() === '' || /\s/.test(domain) || domain.length > 255)
  ) {
    throw invalid('domain', domain, 'is not a domain name');
  }
  if (account !== undefined) {
    if (typeof account !== 'string' || !/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(account))
      throw invalid(
        'account',
        account,
        'is not an account name (an accounts[].name of the config, or "own")',
      );
    if (action !== 'phase_manager' && action !== 'status')
      throw invalid('account', account, `applies only to "phase_manager" and "status", not "${action}"`);
  }
  const ofAccount = account === undefined ? {} : { account: account as string };
  for (const [field, value] of [
    ['emergency', emergency],
    ['revokeNow', revokeNow],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw invalid(field, value, 'must be true or false');
    if (action !== 'rotate') throw invalid(field, value, `applies only to "rotate", not "${action}"`);
  }
  switch (action as Action) {
    case 'phase_manager':
      return {
        action: 'phase_manager',
        trigger: 'direct',
        ...(domain === undefined ? {} : { domain }),
        ...ofAccount,
      };
    case 'status':
      return {
        action: 'status',
        trigger: 'direct',
        ...(domain === undefined ? {} : { domain }),
        ...ofAccount,
      };
    case 'rotate':
    case 'rollback': {
      if (domain === undefined) throw invalid('domain', domain, `is required for "${action}"`);
      if (action === 'rollback') return { action, trigger: 'direct', domain: domain as string };
      if (revokeNow === true && emergency !== true) {
        throw invalid('revokeNow', revokeNow, 'is only allowed with "emergency": true');
      }
      return {
        action: 'rotate',
        trigger: 'direct',
        domain: domain as string,
        emergency: emergency === true,
        revokeNow: revokeNow === true,
      };
    }
  }
}
