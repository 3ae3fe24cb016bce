import { describe, expect, it } from 'vitest';
import { applyStep, type StepOf } from '../../../src/domain/lifecycle/index.js';
import type { DomainState } from '../../../src/domain/state.js';
import { requestRollback, requestRotation } from '../../../src/engine/requests.js';
import { ModelWorld } from '../../support/model-world.js';

const HOUR = 3_600_000;

/** Passes an hour apart until `done`, failing loudly if it never happens. */
async function until(world: ModelWorld, done: () => boolean, maxPasses = 20, stepMs = HOUR): Promise<number> {
  for (let i = 0; i < maxPasses; i++) {
    if (done()) return i;
    await world.pass();
    world.advance(stepMs);
  }
  if (!done())
    throw new Error(
      `not reached after ${maxPasses} passes: ${JSON.stringify(world.keys.map((k) => [k.selector, k.status]))}`,
    );
  return maxPasses;
}

/** Records an operator request as the engine does: the request step applied to the stored state. */
function request(world: ModelWorld, make: (state: DomainState) => StepOf<'request'>) {
  const stored = world.stored;
  if (!stored) throw new Error('no state');
  const step = make(stored.value);
  world.stored = {
    value: applyStep(stored.value, step, { at: world.now.toISOString(), actor: { kind: 'test' } }),
    version: stored.version,
  };
}

describe('lifecycle in a model world', () => {
  it('onboards in two regions: generate, publish, verify twice, switch, SUCCESS', async () => {
    const world = new ModelWorld();
    const first = await world.pass();
    expect(first.plan?.steps.map((s) => s.kind)).toEqual(['ses-seen', 'generate-key', 'publish']);
    expect(world.keys[0]?.status).toBe('published');
    await until(world, () => world.converged());
    const active = world.active();
    expect(active?.selector).toBe('mail-20260101-1');
    expect(world.violations).toEqual([]);
    // Steady state: SES is not read while the domain is idle and was healthy at its last
    // read; the daily health read is one read per region.
    world.sesCalls = 0;
    world.advance(HOUR);
    const idle = await world.pass();
    expect(idle.plan?.steps).toEqual([]);
    expect(world.sesCalls).toBe(0);
    expect(idle.plan?.next?.what).toBe(`rotate ${active?.selector}`);
    world.advance(24 * HOUR);
    const health = await world.pass();
    expect(health.plan?.steps.map((s) => s.kind)).toEqual(['ses-seen']);
    expect(world.sesCalls).toBe(2);
  });

  it('rotates when due, keeps the old record through the grace period, then retires it', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const old = world.active()?.selector;
    world.advanceDays(336); // 365 − 30 + 1
    await until(world, () => world.converged() && world.active()?.selector !== old);
    const retiring = world.keys.find((k) => k.selector === old);
    expect(retiring?.status).toBe('retiring');
    const name = `${old}._domainkey.example.com`;
    expect(world.served('ns1', name)).toHaveLength(1);
    world.advanceDays(8);
    await until(world, () => world.keys.find((k) => k.selector === old)?.status === 'retired');
    expect(world.served('ns1', name)).toEqual([]);
    expect(world.served('ns2', name)).toEqual([]);
    expect(world.vaultKeys.has(`example.com/${old}`)).toBe(false);
    expect(world.violations).toEqual([]);
  });

  it('never switches SES while a nameserver lags, and switches once it catches up', async () => {
    const world = new ModelWorld();
    world.laggingNs = 'ns2';
    for (let i = 0; i < 6; i++) {
      await world.pass();
      world.advance(HOUR);
    }
    expect([...world.ses.values()].every((r) => r.selector === undefined)).toBe(true);
    const result = await world.pass();
    expect(result.outcome).toBe('waiting');
    expect(result.plan?.waits.map((w) => w.message).join(' ')).toContain('ns2: missing');
    world.catchUp();
    await until(world, () => world.converged());
  });

  it('rolls back to the previous selector when SES reports FAILED', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const old = world.active()?.selector;
    request(world, (s) =>
      requestRotation(s, {
        emergency: false,
        revokeNow: false,
        now: world.now,
        actor: { kind: 'test' },
        policy: world.domain.policy,
      }),
    );
    await until(world, () => world.keys.some((k) => k.switchedAt && k.status === 'verified'));
    world.sesFailNext.add('ap-northeast-1');
    await until(world, () => world.keys.some((k) => k.status === 'failed'));
    await until(world, () => world.converged());
    expect(world.active()?.selector).toBe(old);
    expect(world.violations).toEqual([]);
  });

  it('emergency rotation retires the old selector right after the switch, with no grace', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const old = world.active()?.selector ?? '';
    world.emergency = true;
    request(world, (s) =>
      requestRotation(s, {
        emergency: true,
        revokeNow: false,
        now: world.now,
        actor: { kind: 'test' },
        policy: world.domain.policy,
      }),
    );
    await until(world, () => world.converged() && world.active()?.selector !== old);
    await until(world, () => world.keys.find((k) => k.selector === old)?.status === 'retired', 3);
    expect(world.vaultKeys.has(`example.com/${old}`)).toBe(false);
  });

  it('--revoke-now revokes the old record at once, before the new key is active', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const old = world.active()?.selector ?? '';
    world.emergency = true;
    request(world, (s) =>
      requestRotation(s, {
        emergency: true,
        revokeNow: true,
        now: world.now,
        actor: { kind: 'test' },
        policy: world.domain.policy,
      }),
    );
    await world.pass();
    expect(world.served('ns1', `${old}._domainkey.example.com`)).toEqual(['v=DKIM1; k=rsa; p=']);
    expect(world.active()?.selector).toBe(old);
    await until(world, () => world.converged() && world.active()?.selector !== old);
    await world.pass();
    expect(world.keys.find((k) => k.selector === old)?.status).toBe('revoked');
    expect(world.vaultKeys.has(`example.com/${old}`)).toBe(false);
  });

  it('manual DNS: waits on the hand-off (outside), resumes once the DNS team applied it', async () => {
    const world = new ModelWorld({ dnsMode: 'manual' });
    const first = await world.pass();
    expect(first.outcome).toBe('waiting');
    expect(world.handOffs).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      world.advance(HOUR);
      const again = await world.pass();
      expect(again.outcome).toBe('waiting');
      expect(again.plan?.waits[0]?.reason).toBe('DnsHandOffPending');
    }
    expect(world.handOffs).toHaveLength(1);
    world.applyHandOff();
    await until(world, () => world.converged());
  });

  it('standby keys: onboarding hands off three records at once, later rotations switch in one pass', async () => {
    const world = new ModelWorld({ dnsMode: 'manual', policy: { standby: 2 } });
    await world.pass();
    expect(world.handOffs).toHaveLength(1);
    expect(world.handOffs[0]?.filter((c) => c.action === 'upsert')).toHaveLength(3);
    world.applyHandOff();
    await until(world, () => world.converged());
    for (let rotation = 0; rotation < 2; rotation++) {
      const old = world.active()?.selector;
      world.applyHandOff();
      world.advanceDays(112);
      const handOffsBefore = world.handOffs.length;
      const switchPass = await world.pass();
      expect(switchPass.plan?.steps.filter((s) => s.kind === 'ses-put')).toHaveLength(2);
      expect(world.handOffs.length).toBe(handOffsBefore);
      await until(world, () => world.converged() && world.active()?.selector !== old);
      expect(world.violations).toEqual([]);
    }
  });

  it('refuses a rotation during a rotation and a rollback with nothing to roll back to', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const state = world.stored?.value;
    if (!state) throw new Error('no state');
    expect(() => requestRollback(state, { now: world.now, actor: { kind: 'test' } })).toThrow(
      /nothing to roll back to/,
    );
    const rotating = applyStep(
      state,
      requestRotation(state, {
        emergency: false,
        revokeNow: false,
        now: world.now,
        actor: { kind: 'test' },
        policy: world.domain.policy,
      }),
      { at: world.now.toISOString(), actor: { kind: 'test' } },
    );
    expect(() =>
      requestRotation(rotating, {
        emergency: false,
        revokeNow: false,
        now: world.now,
        actor: { kind: 'test' },
        policy: world.domain.policy,
      }),
    ).toThrow(/already in progress/);
  });

  it('rollback after a completed rotation returns to the previous key while it is still published', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const first = world.active()?.selector;
    request(world, (s) =>
      requestRotation(s, {
        emergency: false,
        revokeNow: false,
        now: world.now,
        actor: { kind: 'test' },
        policy: world.domain.policy,
      }),
    );
    await until(world, () => world.converged() && world.active()?.selector !== first);
    request(world, (s) => requestRollback(s, { now: world.now, actor: { kind: 'test' } }));
    await until(world, () => world.converged() && world.active()?.selector === first);
    expect(world.violations).toEqual([]);
  });

  it('reports drift at the next SES read: SES moved to a selector byodkim did not set is left alone and named', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    world.setExternal(
      'us-east-1',
      'someone-else-1',
      (await import('../../support/keys.js').then((m) => m.testKey('drift', 1024))).publicKey,
    );
    world.advance(24 * HOUR); // the daily health read
    const result = await world.pass();
    expect(result.plan?.warnings.map((w) => w.code)).toContain('UnknownSelectorInSes');
    expect(result.plan?.steps.filter((s) => 'region' in s && s.region === 'us-east-1')).toEqual([]);
    expect(world.ses.get('us-east-1')?.selector).toBe('someone-else-1');
  });

  it('reports drift: an active record deleted from DNS is named and published again', async () => {
    const world = new ModelWorld();
    await until(world, () => world.converged());
    const active = world.active()?.selector ?? '';
    for (const zone of world.zones.values()) zone.delete(`${active}._domainkey.example.com`);
    const result = await world.pass();
    expect(result.plan?.warnings.map((w) => w.code)).toContain('ActiveRecordDrift');
    expect(world.served('ns1', `${active}._domainkey.example.com`)).toHaveLength(1);
    expect(world.served('ns2', `${active}._domainkey.example.com`)).toHaveLength(1);
  });

  it('emergency rotation with a verified standby switches SES in the same pass; without one it takes the normal path', async () => {
    const withStandby = new ModelWorld({ policy: { standby: 1 } });
    await until(
      withStandby,
      () => withStandby.converged() && withStandby.keys.some((k) => k.status === 'verified'),
    );
    withStandby.emergency = true;
    request(withStandby, (s) =>
      requestRotation(s, {
        emergency: true,
        revokeNow: false,
        now: withStandby.now,
        actor: { kind: 'test' },
        policy: withStandby.domain.policy,
      }),
    );
    const pass = await withStandby.pass();
    expect(pass.plan?.steps.filter((s) => s.kind === 'ses-put')).toHaveLength(2);
    expect(pass.plan?.steps.some((s) => s.kind === 'generate-key')).toBe(false);

    const without = new ModelWorld();
    await until(without, () => without.converged());
    without.emergency = true;
    request(without, (s) =>
      requestRotation(s, {
        emergency: true,
        revokeNow: false,
        now: without.now,
        actor: { kind: 'test' },
        policy: without.domain.policy,
      }),
    );
    const first = await without.pass();
    expect(first.plan?.steps.map((s) => s.kind)).toEqual(['ses-seen', 'generate-key', 'publish']);
    const old = without.active()?.selector;
    await until(without, () => without.converged() && without.active()?.selector !== old);
  });
});
