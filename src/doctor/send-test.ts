/**
 * `byodkim doctor --send-test`: one canary per region, sent through SES, fetched back from
 * the canary inbox and judged as a receiver judges it — the way mail engineers use
 * check-auth mailbox services, but against the domain's own authoritative nameservers and
 * the selector byodkim expects. Changes no state; the message is deleted once judged.
 */
import { type CanarySpec, canaryMessage, type MailVerdict } from '../domain/canary.js';
import { describeError } from '../errors.js';
import type { CanaryPorts } from '../ports.js';
import { judgeMessage } from './mail-judge.js';
import type { MailResolver } from './mail-resolver.js';

export interface SendTestResult {
  domain: string;
  region: string;
  id: string;
  sentAt: string;
  arrivedAt?: string;
  verdict: MailVerdict;
}

export interface SendTestOptions {
  canary: CanarySpec;
  ports: Pick<CanaryPorts, 'sender' | 'inbox'>;
  resolver: MailResolver;
  /** The selector SES should sign with (the state's active key), when known. */
  expectedSelector?: string;
  /** How long to wait for the message, wall clock. */
  waitMs: number;
  pollMs?: number;
  now: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export async function sendTest(
  domain: string,
  region: string,
  options: SendTestOptions,
): Promise<SendTestResult> {
  const sentAt = options.now();
  const id = `t-${sentAt.getTime().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${region}`;
  const tag = { id, domain, region, sentAt: sentAt.toISOString() };
  const base = { domain, region, id, sentAt: tag.sentAt };
  try {
    await options.ports.sender.send(region, canaryMessage(tag, options.canary));
  } catch (error) {
    return {
      ...base,
      verdict: failed('delivered', `SES ${region} did not accept the canary: ${describeError(error)}`),
    };
  }
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const found = (await options.ports.inbox.collect(domain)).find((m) => m.raw.includes(`id=${id};`));
    if (found) {
      const verdict = await judgeMessage(found.raw, domain, options.now(), {
        resolver: options.resolver,
        ...(options.expectedSelector ? { expectedSelector: options.expectedSelector } : {}),
      });
      await options.ports.inbox.discard(found.ref);
      return { ...base, ...(found.storedAt ? { arrivedAt: found.storedAt } : {}), verdict };
    }
    if (Date.now() >= deadline)
      return {
        ...base,
        verdict: failed(
          'delivered',
          `the canary did not reach ${options.ports.inbox.description} within ${Math.round(options.waitMs / 1000)} s`,
        ),
      };
    await sleep(options.pollMs ?? 1_000);
  }
}

function failed(check: 'delivered', detail: string): MailVerdict {
  return {
    pass: false,
    signed: false,
    dmarc: { result: 'none', alignedBy: [] },
    spf: { result: 'none' },
    signatures: [],
    checks: [{ check, ok: false, detail }],
    failing: check,
  };
}
