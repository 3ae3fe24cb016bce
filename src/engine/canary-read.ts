/**
 * gather's reading of the canary inbox: every canary of the domain found there, judged as a
 * receiver judges it. An inbox that cannot be read becomes part of the observation (decide
 * warns and waits); a message that cannot be judged is judged as failing, never dropped.
 */
import { type CanaryObservation, type CanaryReading, canaryTagOf } from '../domain/canary.js';
import { describeError } from '../errors.js';
import type { CanaryPorts, InboxMessage } from '../ports.js';

export async function readCanaries(
  domain: string,
  ports: CanaryPorts,
  now: Date,
): Promise<CanaryObservation> {
  let messages: InboxMessage[];
  try {
    messages = await ports.inbox.collect(domain);
  } catch (error) {
    return { ok: false, error: `${ports.inbox.description}: ${describeError(error)}` };
  }
  const readings: CanaryReading[] = [];
  for (const message of messages) {
    const tag = canaryTagOf(message.raw);
    if (!tag || tag.domain !== domain) continue;
    const arrivedAt = receivedAt(message.raw) ?? message.storedAt;
    const verdict = await ports.judge.judge(message.raw, domain, now).catch((error: unknown) => ({
      pass: false,
      signed: false,
      dmarc: { result: 'temperror', alignedBy: [] },
      spf: { result: 'temperror' },
      signatures: [],
      checks: [
        { check: 'dkim-domain' as const, ok: false, detail: `could not judge: ${describeError(error)}` },
      ],
      failing: 'dkim-domain' as const,
    }));
    readings.push({ tag, ref: message.ref, ...(arrivedAt ? { arrivedAt } : {}), verdict });
  }
  return { ok: true, readings };
}

/** The date of the topmost Received header: the receiving server's stamp of arrival. */
export function receivedAt(raw: string): string | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => /^received:/i.test(l));
  const date = line?.slice(line.lastIndexOf(';') + 1).trim();
  const ms = date ? Date.parse(date) : Number.NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
