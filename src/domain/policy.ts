import { z } from 'zod';
import { DEFAULT_KEY_BITS, KEY_SIZES } from './key.js';
import { assertTemplateRenders, assertValidTemplate, DEFAULT_SELECTOR_TEMPLATE } from './selector.js';
import { switchWindowSchema } from './switch-window.js';

/** Upper bounds that keep every date byodkim computes representable and every wait human-sized. */
export const MAX_GRACE_DAYS = 365;
export const MAX_RENEW_BEFORE_DAYS = 3649;
export const MAX_VERIFY_INTERVAL_MINUTES = 1440;
/** Secondaries pick up a change at their next NOTIFY or SOA refresh, typically minutes apart. */
export const DEFAULT_VERIFY_INTERVAL_MINUTES = 10;

/**
 * How keys live: validity, when to renew, how long an old selector stays published after
 * SES stopped using it, key size and selector naming. Defaults follow the seed system
 * (365-day validity, renewal 30 days before expiry).
 */
export const policySchema = z
  .object({
    validityDays: z
      .number()
      .int()
      .min(2)
      .max(3650)
      .default(365)
      .describe("How long a key is used before it must be replaced (the seeds' CertificateValidityDays)."),
    renewBeforeDays: z
      .number()
      .int()
      .min(1)
      .max(MAX_RENEW_BEFORE_DAYS)
      .default(30)
      .describe('Rotation starts this many days before a key reaches the end of its validity.'),
    graceDays: z
      .number()
      .min(0)
      .max(MAX_GRACE_DAYS)
      .default(7)
      .describe(
        'After SES stops signing with a selector, its record stays published this long so mail in flight still verifies.',
      ),
    keyBits: z
      .union(KEY_SIZES.map((bits) => z.literal(bits)) as [z.ZodLiteral<1024>, z.ZodLiteral<2048>])
      .default(DEFAULT_KEY_BITS)
      .describe('RSA key size; SES accepts only 1024 or 2048.'),
    selectorTemplate: z
      .string()
      .default(DEFAULT_SELECTOR_TEMPLATE)
      .superRefine((template, ctx) => {
        try {
          assertValidTemplate(template, 'selectorTemplate');
          assertTemplateRenders(template, 'mail', 'selectorTemplate');
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            message: `"${template}" ${(error as Error).message.replace(/^[^:]*: "[^"]*" /, '')}`,
          });
        }
      })
      .describe(
        'Selector names; tokens {prefix} {yyyymmdd} {yyyy} {mm} {dd} {n}. {n} counts up within a day.',
      ),
    verifyChecks: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(2)
      .describe(
        'Consecutive passes on which every authoritative nameserver must serve the key before SES is switched.',
      ),
    verifyIntervalMinutes: z
      .number()
      .int()
      .min(0)
      .max(MAX_VERIFY_INTERVAL_MINUTES)
      .default(DEFAULT_VERIFY_INTERVAL_MINUTES)
      .describe(
        'Minimum time between two checks that count towards verifyChecks, so secondaries that lag by minutes are seen lagging (0: no minimum).',
      ),
    verificationWindowHours: z
      .number()
      .min(1)
      .max(48)
      .default(6)
      .describe(
        'How long SES may take to report SUCCESS after a switch before byodkim rolls back. SES finds a record that is already published within minutes, and fails the identity (no sending at all) after 72 hours, so byodkim decides in hours: a switch that has not verified in 6 hours will not, and a rollback is itself a new put with its own gap.',
      ),
    followUpMinutes: z
      .number()
      .min(1)
      .max(60)
      .default(5)
      .describe(
        'After an SES put, how soon byodkim reads SES again to see the switch through (doubling with the time since the put, up to an hour): SUCCESS, or trouble, is seen in minutes, within the API budget.',
      ),
    renewalSpreadDays: z
      .number()
      .min(0)
      .optional()
      .describe(
        'Each domain renews at a stable offset of up to this many days into its renewal window (derived from its name), so a fleet onboarded on one day does not renew on one day. Default: 7, or half of renewBeforeDays when that is less; at most half of renewBeforeDays.',
      ),
    sesHealthCheckHours: z
      .number()
      .min(1)
      .max(168)
      .default(24)
      .describe(
        'How often SES is read for a domain that is idle and was healthy at its last read (SES allows about one request per second per region). In-flight work, due steps and anomalies the DNS probe sees are read at once.',
      ),
    switchWindow: switchWindowSchema
      .optional()
      .describe(
        'Quiet hours for switches: a routine rotation puts the new key in SES only inside this window (the signing gap of a switch then falls when little mail is sent). Onboarding, emergencies and rollbacks never wait.',
      ),
    standby: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(0)
      .describe(
        'Future keys kept generated, published and verified ahead of need. Standbys age from creation, so with K standbys each key is active for (validityDays - renewBeforeDays) / (K + 1) days.',
      ),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.renewBeforeDays >= policy.validityDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['renewBeforeDays'],
        message: `"${policy.renewBeforeDays}" must be less than validityDays (${policy.validityDays})`,
      });
    }
    if (policy.renewalSpreadDays !== undefined && policy.renewalSpreadDays > policy.renewBeforeDays / 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['renewalSpreadDays'],
        message: `"${policy.renewalSpreadDays}" must be at most half of renewBeforeDays (${policy.renewBeforeDays}), so every key is renewed well before it expires`,
      });
    }
  });

export type Policy = z.output<typeof policySchema>;

/** The per-domain override: any subset of the policy. */
export const policyOverrideSchema = z
  .object({
    validityDays: z.number().int().min(2).max(3650),
    renewBeforeDays: z.number().int().min(1).max(MAX_RENEW_BEFORE_DAYS),
    graceDays: z.number().min(0).max(MAX_GRACE_DAYS),
    keyBits: z.union([z.literal(1024), z.literal(2048)]),
    selectorTemplate: z.string(),
    verifyChecks: z.number().int().min(1).max(20),
    verifyIntervalMinutes: z.number().int().min(0).max(MAX_VERIFY_INTERVAL_MINUTES),
    verificationWindowHours: z.number().min(1).max(48),
    followUpMinutes: z.number().min(1).max(60),
    renewalSpreadDays: z.number().min(0),
    sesHealthCheckHours: z.number().min(1).max(168),
    switchWindow: switchWindowSchema,
    standby: z.number().int().min(0).max(5),
  })
  .partial()
  .strict();

export type PolicyOverride = z.output<typeof policyOverrideSchema>;

export const DAY_MS = 86_400_000;

/** The renewal spread in effect: the configured one, else 7 days or half the renewal window. */
export function renewalSpreadDays(policy: Policy): number {
  return policy.renewalSpreadDays ?? Math.min(7, policy.renewBeforeDays / 2);
}
export const HOUR_MS = 3_600_000;
