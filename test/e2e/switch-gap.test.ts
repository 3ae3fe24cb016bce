import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainState } from '../../src/domain/state.js';
import { E2eWorld } from '../support/e2e-world.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The switch gap through the real CLI, against SES's check clock: SES looks at DNS only some
 * minutes after a put, so a switch has a gap. byodkim follows a switch closely (as
 * `apply --watch` does: it wakes at each `follow-up`), measures the gap per region, and rolls
 * back long before SES would fail the identity.
 */
describe('the switch gap', () => {
  let world: E2eWorld;
  afterEach(async () => {
    await world?.stop();
  });

  const state = async (): Promise<DomainState> => {
    const file = join(world.dir, '.byodkim', 'state', 'example.com.json');
    return (JSON.parse(await readFile(file, 'utf8')) as { state: DomainState }).state;
  };

  /** One pass, then the clock moves to the pass's follow-up when it asked for one (else an hour). */
  async function step(): Promise<void> {
    const applied = await world.cli('apply', '--output', 'json');
    expect([0, 3], applied.stderr).toContain(applied.code);
    const next = (JSON.parse(applied.stdout) as Array<{ next?: { kind: string; at: string } }>)[0]?.next;
    const now = world.clock.now().getTime();
    if (next?.kind === 'follow-up' && Date.parse(next.at) > now) world.clock.set(next.at);
    else world.clock.advance(HOUR);
  }

  async function until(done: (s: DomainState) => boolean, max = 40): Promise<void> {
    for (let i = 0; i < max; i++) {
      const s = await state().catch(() => undefined);
      if (s && done(s)) return;
      await step();
    }
    throw new Error(
      `not reached: ${JSON.stringify((await state()).keys.map((k) => [k.selector, k.status]))}`,
    );
  }

  const active = (s: DomainState) => s.keys.find((k) => k.status === 'active')?.selector;

  it('SES checks 10 minutes after a put: the gap is measured per region, ≥ 600 s and at most one follow-up more', async () => {
    world = await E2eWorld.start({
      policy: { keyBits: 1024 },
      ses: { verificationDelayMs: 10 * MINUTE, pendingCheckIntervalMs: 5 * MINUTE },
    });
    await until((s) => active(s) !== undefined);
    const first = active(await state());
    expect((await world.cli('rotate', '--domain', 'example.com')).code).toBe(3);
    await until(
      (s) => active(s) !== first && s.keys.some((k) => k.selector === first && k.status === 'retiring'),
    );

    const status = await world.cli('status', '--output', 'json');
    const row = (
      JSON.parse(status.stdout) as Array<{
        lastSwitch: {
          selector: string;
          regions: Record<string, { gapSeconds: number | null; successSeenAt: string | null }>;
        };
      }>
    )[0];
    expect(row?.lastSwitch.selector).toBe(active(await state()));
    const followUpSeconds = 5 * 60;
    for (const region of world.options.regions) {
      const gap = row?.lastSwitch.regions[region]?.gapSeconds;
      expect(gap, region).toBeGreaterThanOrEqual(600);
      expect(gap, region).toBeLessThanOrEqual(600 + followUpSeconds);
    }
    // The history has it too.
    expect((await state()).history.filter((h) => h.reason === 'SigningSeen').length).toBeGreaterThanOrEqual(
      4,
    );
    // What SES received is PKCS #1, the format every version of the SES docs accepts.
    const formats = new Set(world.ses.keyPuts().map((p) => p.format));
    expect([...formats]).toEqual(['PKCS1']);
  });

  it('a selector SES never verifies is rolled back within the window, with a notification; SES never reaches FAILED', async () => {
    world = await E2eWorld.start({
      policy: { keyBits: 1024 },
      ses: { verificationDelayMs: 5 * MINUTE, pendingCheckIntervalMs: 5 * MINUTE },
    });
    await until((s) => active(s) !== undefined);
    const first = active(await state()) as string;
    expect((await world.cli('rotate', '--domain', 'example.com')).code).toBe(3);
    await until((s) => s.lastSwitch !== undefined && s.lastSwitch.selector !== first);
    const putAt = Date.parse(Object.values((await state()).lastSwitch?.regions ?? {})[0]?.putAt ?? '');
    // From now on SES's checks find the wrong value: it would stay PENDING, then FAIL at 72 h.
    world.ses.injectCheckFault({ count: 100_000, errorType: 'INVALID_VALUE' });

    const seen = new Set<string>();
    const client = (region: string) =>
      new SESv2Client({
        region,
        endpoint: world.ses.endpoint,
        credentials: { accessKeyId: 'AKIDE2E', secretAccessKey: 'x' },
      });
    let rolledBackAt: number | undefined;
    for (let i = 0; i < 60 && rolledBackAt === undefined; i++) {
      await step();
      for (const region of world.options.regions) {
        const ses = client(region);
        const view = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.com' }));
        ses.destroy();
        seen.add(view.DkimAttributes?.Status ?? 'unknown');
      }
      const failed = (await state()).history.find((h) => h.reason === 'VerificationWindowExpired');
      if (failed) rolledBackAt = Date.parse(failed.at);
    }
    expect(rolledBackAt).toBeDefined();
    const hours = ((rolledBackAt as number) - putAt) / HOUR;
    expect(hours).toBeGreaterThanOrEqual(6);
    expect(hours).toBeLessThan(8); // the 6-hour window plus at most one hourly read; SES fails at 72
    expect(seen.has('FAILED')).toBe(false);
    const notices = await readFile(join(world.dir, 'notifications.jsonl'), 'utf8');
    expect(notices).toContain('VerificationWindowExpired');

    // The fault passes: SES verifies the restored key, and the rotation starts over later.
    world.ses.clearCheckFaults();
    await until(
      (s) =>
        active(s) === first &&
        s.lastSwitch?.selector === first &&
        Object.values(s.lastSwitch.regions).every((r) => r.successSeenAt),
    );
  });
});
