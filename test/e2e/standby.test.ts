import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eWorld } from '../support/e2e-world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface HandOffRecord {
  action: 'add' | 'remove';
  name: string;
  value: string;
  notBefore?: string;
}

describe('standby selectors with a manual DNS hand-off (standby: 2)', () => {
  let world: E2eWorld;
  const applied = new Set<string>();
  const removals: HandOffRecord[] = [];
  beforeAll(async () => {
    world = await E2eWorld.start({ dns: 'manual', policy: { standby: 2 } });
  });
  afterAll(async () => {
    await world?.stop();
  });

  function handOffFiles(): string[] {
    return readdirSync(join(world.dir, 'dns-requests'))
      .filter((f) => f.endsWith('.json'))
      .sort();
  }

  /** The DNS team applies every hand-off: additions at once, removals not before their date. */
  async function dnsTeam(): Promise<void> {
    for (const file of handOffFiles()) {
      if (applied.has(file)) continue;
      applied.add(file);
      const records = JSON.parse(
        await readFile(join(world.dir, 'dns-requests', file), 'utf8'),
      ) as HandOffRecord[];
      for (const r of records) if (r.action === 'add') world.dns.store.setTxt(r.name, r.value);
      removals.push(...records.filter((r) => r.action === 'remove'));
    }
    for (const r of removals.splice(0)) {
      if (Date.parse(r.notBefore ?? '') <= world.clock.now().getTime()) world.dns.store.removeTxt(r.name);
      else removals.push(r);
    }
  }

  async function expectVerifies(label: string): Promise<void> {
    for (const [region, verdict] of Object.entries(await world.samples()))
      expect(verdict.pass, `${label}: ${region}`).toBe(true);
  }

  async function activeSelector(): Promise<string | undefined> {
    const rows = JSON.parse((await world.cli('status', '--output', 'json')).stdout) as Array<{
      active?: string;
    }>;
    return rows[0]?.active;
  }

  it('onboarding hands the DNS team one request with three records', async () => {
    const first = await world.cli('apply');
    expect(first.code).toBe(3);
    expect(handOffFiles()).toHaveLength(1);
    const records = JSON.parse(
      await readFile(join(world.dir, 'dns-requests', handOffFiles()[0] ?? ''), 'utf8'),
    ) as HandOffRecord[];
    expect(records.filter((r) => r.action === 'add')).toHaveLength(3);
    await dnsTeam();
    for (let i = 0; i < 6 && (await world.cli('apply')).code !== 0; i++) world.clock.advance(HOUR);
    expect(await activeSelector()).toBe('mail-20260101-1');
    await expectVerifies('after onboarding');
    const plan = await world.cli('plan');
    expect(plan.stdout).toContain('switch SES to mail-20260101-2');
    expect(plan.stdout).toContain('switch SES to mail-20260101-3');
  });

  it('rotates twice, each time switching SES in one pass with no new hand-off first', async () => {
    for (const rotation of [1, 2]) {
      const old = await activeSelector();
      world.clock.advance(112 * DAY); // one turn: (365 − 30) / 3 days
      const before = handOffFiles().length;
      const switchPass = await world.cli('apply', '--output', 'json');
      const steps =
        (JSON.parse(switchPass.stdout) as Array<{ steps: Array<{ kind: string }> }>)[0]?.steps ?? [];
      expect(
        steps.filter((s) => s.kind === 'ses-put'),
        `rotation ${rotation}`,
      ).toHaveLength(2);
      expect(handOffFiles().length, 'no hand-off needed before the switch').toBe(before);
      await expectVerifies(`rotation ${rotation}, right after the switch`);
      for (let i = 0; i < 6; i++) {
        world.clock.advance(HOUR);
        await world.cli('apply');
        await expectVerifies(`rotation ${rotation}, pass ${i}`);
        await dnsTeam();
      }
      expect(await activeSelector()).not.toBe(old);
      // One hand-off per cycle: the next standby and the old key's dated removal together.
      const newFiles = handOffFiles().slice(before);
      expect(newFiles).toHaveLength(1);
      const records = JSON.parse(
        await readFile(join(world.dir, 'dns-requests', newFiles[0] ?? ''), 'utf8'),
      ) as HandOffRecord[];
      expect(records.map((r) => r.action).sort()).toEqual(['add', 'remove']);
    }
  });
});
