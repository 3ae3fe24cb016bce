import { z } from 'zod';
import { CorruptDataError } from '../errors.js';
import { type DomainState, KEY_STATUSES } from './state.js';
import { Reason } from './vocabulary.js';
import { formatZodIssues } from './zod-issues.js';

/** Validates stored state on load, so a damaged record is reported, not half-used. */
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO time');
const actor = z.object({
  kind: z.enum(['cli', 'lambda', 'sandbox', 'library', 'test']),
  user: z.string().optional(),
});
const status = z.enum(KEY_STATUSES as [string, ...string[]]);

const keyEntry = z.object({
  selector: z.string().min(1),
  bits: z.union([z.literal(1024), z.literal(2048)]),
  publicKey: z.string().min(1),
  vaultRef: z.string(),
  origin: z.enum(['generated', 'adopted']),
  createdAt: isoTime,
  notAfter: isoTime,
  status,
  statusSince: isoTime,
  verifyStreak: z.number().int().nonnegative().optional(),
  lastSeenAt: isoTime.optional(),
  switchedAt: isoTime.optional(),
  retiringSince: isoTime.optional(),
  lastPublishedAt: isoTime.optional(),
  removalRequestedAt: isoTime.optional(),
  revokedAt: isoTime.optional(),
  destroyedAt: isoTime.optional(),
  keyProblem: z.object({ code: z.enum([Reason.KeyMismatch, Reason.KeyMissing]), at: isoTime }).optional(),
});

const record = z.object({ name: z.string(), value: z.string() });

export const domainStateSchema = z.object({
  schema: z.literal(1),
  domain: z.string().min(1),
  keys: z.array(keyEntry),
  intent: z
    .object({
      kind: z.enum(['generate-key', 'publish', 'ses-put', 'ses-create', 'adopt']),
      at: isoTime,
      selectors: z.array(z.string()),
      region: z.string().optional(),
    })
    .optional(),
  lastSwitch: z
    .object({
      selector: z.string().min(1),
      regions: z.record(
        z.string(),
        z.object({
          putAt: isoTime,
          successSeenAt: isoTime.optional(),
          sesVerifiedAt: isoTime.optional(),
          canarySignedAt: isoTime.optional(),
        }),
      ),
    })
    .optional(),
  alarms: z.record(z.string(), isoTime).optional(),
  canary: z
    .object({
      regions: z.record(
        z.string(),
        z.object({
          lastSentAt: isoTime.optional(),
          pending: z.array(z.object({ id: z.string(), sentAt: isoTime })).optional(),
          lastSigned: z.object({ selector: z.string(), sentAt: isoTime }).optional(),
          lastJudged: z
            .object({
              id: z.string(),
              sentAt: isoTime,
              arrivedAt: isoTime.optional(),
              signed: z.boolean(),
              selector: z.string().optional(),
              dmarcPass: z.boolean(),
              pass: z.boolean(),
              failing: z.string().optional(),
              expectation: z.enum(['expected', 'gap', 'unexpected-selector', 'unsigned']),
            })
            .optional(),
        }),
      ),
      judged: z.array(z.string()).optional(),
    })
    .optional(),
  sesSeen: z
    .object({
      at: isoTime,
      regions: z.record(
        z.string(),
        z.object({
          status: z.string().optional(),
          selector: z.string().optional(),
          signingEnabled: z.boolean().optional(),
          exists: z.boolean(),
        }),
      ),
    })
    .optional(),
  rotation: z
    .object({
      kind: z.enum(['manual', 'emergency']),
      requestedAt: isoTime,
      revokeNow: z.boolean().optional(),
      actor,
    })
    .optional(),
  rollback: z.object({ requestedAt: isoTime, actor }).optional(),
  easyDkimTakeover: z.boolean().optional(),
  handOff: z.object({ sentAt: isoTime, add: z.array(record), remove: z.array(record) }).optional(),
  history: z.array(
    z.object({
      at: isoTime,
      selector: z.string().optional(),
      from: status.optional(),
      to: status.optional(),
      reason: z.string(),
      message: z.string(),
      actor,
    }),
  ),
});

export function parseDomainState(raw: unknown, where: string): DomainState {
  const result = domainStateSchema.safeParse(raw);
  if (!result.success) {
    throw new CorruptDataError(`${where}: ${formatZodIssues(result.error.issues, raw)}`, {
      context: { where },
    });
  }
  return result.data as DomainState;
}
