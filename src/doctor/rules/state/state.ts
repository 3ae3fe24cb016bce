import type { Rule } from '../../finding.js';
import { describeTime } from '../../fix.js';
import type { StateContext } from '../context.js';

/** The state record could not be read: byodkim's own view of the domain is unknown. */
export const stateReadFailed: Rule<StateContext> = {
  id: 'state-read-failed',
  codes: [
    {
      code: 'STATE_READ_FAILED',
      severity: 'error',
      summary: 'The state store could not be read for the domain.',
    },
  ],
  check(c) {
    if (c.readError === undefined) return [];
    return [
      {
        code: 'STATE_READ_FAILED',
        severity: 'error',
        seen: `reading the state of ${c.domain} from ${c.storeDescription} failed: ${c.readError}`,
        fix: 'check access to the state store (config state:, credentials); the doctor checks DNS only for the selectors SES holds until it can be read',
      },
    ];
  },
};

/** byodkim has never run for the domain (or its state is elsewhere). */
export const stateMissing: Rule<StateContext> = {
  id: 'state-missing',
  codes: [
    {
      code: 'STATE_MISSING',
      severity: 'warning',
      summary: 'byodkim has no keys for the domain: never onboarded, or the state store is another one.',
    },
  ],
  check(c) {
    if (c.readError !== undefined || (c.state !== undefined && c.state.keys.length > 0)) return [];
    const held = [...new Set(Object.values(c.sesSelectors))];
    return [
      {
        code: 'STATE_MISSING',
        severity: 'warning',
        seen: `${c.storeDescription} has no keys for ${c.domain}${held.length > 0 ? `; SES signs with ${held.join(', ')}` : ''}`,
        fix:
          held.length > 0
            ? `run "byodkim adopt --domain ${c.domain}" to take over ${held.join(', ')} (with --key-file or --seed-secret to bring its private key)`
            : `run "byodkim apply --domain ${c.domain}" to onboard it (phase 3 onwards)`,
      },
    ];
  },
};

/** Keys exist, but none is active yet: onboarding (or a recovery) is under way. */
export const stateNoActiveKey: Rule<StateContext> = {
  id: 'state-no-active-key',
  codes: [
    {
      code: 'STATE_NO_ACTIVE_KEY',
      severity: 'info',
      summary: 'Keys exist but none is active yet (onboarding under way).',
    },
  ],
  check(c) {
    const keys = c.state?.keys ?? [];
    if (keys.length === 0 || keys.some((k) => k.status === 'active')) return [];
    return [
      {
        code: 'STATE_NO_ACTIVE_KEY',
        severity: 'info',
        seen: `no active key yet: ${keys.map((k) => `${k.selector} ${k.status}`).join(', ')}`,
        fix: `run "byodkim apply --domain ${c.domain}" (or wait for the scheduled pass) to carry on; "byodkim plan --domain ${c.domain}" says what it waits for`,
      },
    ];
  },
};

/** Records were handed to a DNS team and DNS does not show them yet. */
export const stateHandOffPending: Rule<StateContext> = {
  id: 'state-hand-off-pending',
  codes: [
    {
      code: 'STATE_HAND_OFF_PENDING',
      severity: 'info',
      summary: 'A DNS hand-off (manual publisher) is waiting for the DNS team.',
    },
  ],
  check(c) {
    const handOff = c.state?.handOff;
    if (handOff === undefined) return [];
    const names = [
      ...handOff.add.map((r) => `add ${r.name}`),
      ...handOff.remove.map((r) => `remove ${r.name}`),
    ];
    return [
      {
        code: 'STATE_HAND_OFF_PENDING',
        severity: 'info',
        seen: `DNS changes handed off ${describeTime(handOff.sentAt, c.now)} and not yet seen on every nameserver: ${names.join(', ')}`,
        fix: `make sure the DNS team got the request ("byodkim dns-records --domain ${c.domain}" prints it again); the DNS findings show what each nameserver serves`,
      },
    ];
  },
};
