import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../support/cli.js';

/**
 * `byodkim sandbox` as a new user runs it (the real CLI in a child process), checked from
 * its output: every domain onboarded and rotated once, SES SUCCESS in both regions, a
 * verified signature, mail verified at every moment, every switch's gap measured both from
 * SES's answers and from canary mail, and no private key in the output. Then a key swapped
 * behind byodkim's back in one region raises the canary alarm on the very next canary there.
 */

const DOMAINS = ['auto.example.com', 'handoff.example.net', 'adopted.example.org'];
const REGIONS = ['us-east-1', 'ap-northeast-1'];
/** Where the sandbox swaps the key behind byodkim's back, after the rotations. */
const SWAPPED = { domain: 'auto.example.com', region: 'us-east-1' };
const swapped = (domain: string, region: string) => domain === SWAPPED.domain && region === SWAPPED.region;
/** The sandbox's SES detects a new key 10 minutes after a put (issue 19's acceptance). */
const DETECTION_DELAY_S = 600;

interface JsonSummary {
  ok: boolean;
  problems: string[];
  mailChecks: number;
  mailFailures: Array<{ inGap: boolean; afterSwap: boolean; domain: string; region: string }>;
  keySwap: {
    domain: string;
    region: string;
    swappedAt: string;
    firstCanaryAfter: { id: string; sentAt: string } | null;
    alarm: { code: string; canaryId: string; canarySentAt: string; raisedAt: string } | null;
    needsPerson: string | null;
    sesWritesAfter: number;
  } | null;
  gaps: Array<{
    domain: string;
    region: string;
    putAt: string;
    gapSeconds: number | null;
    sesVerifiedAt?: string;
    canaryGapSeconds?: number;
  }>;
  sesCalls: { byRegion: Record<string, number>; throttled: number };
  workDir: string | null;
  config: string | null;
  domains: Array<{
    domain: string;
    setup: string;
    ses: Record<string, string>;
    activeSelector: string | null;
    rotations: number;
    previousSelectors: string[];
    retiredSelectors: string[];
    verified: boolean;
    canary: Record<
      string,
      {
        sent: number;
        judged: number;
        passed: number;
        inGap: number;
        lastSigned: { selector: string; sentAt: string } | null;
      }
    >;
    samples: Record<
      string,
      { selector: string | null; verified: boolean; nameservers: Record<string, boolean>; headers: string }
    >;
  }>;
}

/** Every private key file under `dir` (the vault keeps the active keys; retired ones are destroyed). */
async function pemFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === 'private_key.pem') found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

/** Fails if any piece of any private key (or the TSIG secret) of the kept work dir shows in `text`. */
async function expectNoSecrets(workDir: string, text: string): Promise<number> {
  expect(text).not.toMatch(/PRIVATE KEY/);
  const files = await pemFiles(join(workDir, 'keys'));
  for (const file of files) {
    const pem = await readFile(file, 'utf8');
    const lines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const der = lines.join('');
    // The whole key as SES takes it, and every 64-character line of the PEM body.
    expect(text.includes(der), `${file}: key material in the output`).toBe(false);
    for (const line of lines.filter((l) => l.length >= 40))
      expect(text.includes(line), `${file}: a PEM line in the output`).toBe(false);
  }
  const tsig = (await readFile(join(workDir, 'tsig.key'), 'utf8')).trim();
  expect(tsig.length).toBeGreaterThan(20);
  expect(text.includes(tsig), 'the TSIG secret in the output').toBe(false);
  return files.length;
}

describe('byodkim sandbox', () => {
  let cwd: string;
  const kept: string[] = [];
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'byodkim-sandbox-test-'));
  });
  afterAll(async () => {
    for (const dir of kept) await rm(dir, { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
  });

  function sandbox(...args: string[]): Promise<CliResult> {
    return runCli(['sandbox', '--now', '2026-03-01T00:00:00Z', ...args], { cwd });
  }

  it('--output json: every domain SUCCESS in both regions, verified, rotated once; no key in the output', async () => {
    const result = await sandbox('--keep', '--output', 'json');
    const summary = JSON.parse(result.stdout) as JsonSummary;
    if (summary.workDir) kept.push(summary.workDir);
    expect(result.code, `${result.stderr}\n${summary.problems.join('\n')}`).toBe(0);
    expect(summary.ok).toBe(true);
    // Mail fails only inside a measured switch gap, and every gap ended: 2 onboardings and 3
    // rotations, each in both regions (the adopted domain was onboarded by the seed system).
    expect(summary.mailFailures.filter((f) => !f.inGap && !f.afterSwap)).toEqual([]);
    const afterSwap = summary.mailFailures.filter((f) => f.afterSwap && !f.inGap);
    expect(afterSwap.length).toBeGreaterThan(0);
    expect(afterSwap.every((f) => swapped(f.domain, f.region))).toBe(true);
    expect(summary.gaps).toHaveLength(10);
    for (const gap of summary.gaps) expect(gap.gapSeconds, `${gap.domain} ${gap.region}`).toBeGreaterThan(0);
    // The signing canary measured every switch's gap from real mail too, and agrees with the
    // emulator's truth (SES signs from its first successful check, LastSuccessTimestamp)
    // within one canary interval (switchIntervalMinutes, default 5).
    for (const gap of summary.gaps) {
      const where = `${gap.domain} ${gap.region} ${gap.putAt}`;
      const truth = (Date.parse(gap.sesVerifiedAt ?? '') - Date.parse(gap.putAt)) / 1000;
      // SES's first check comes 10 minutes after the put, never sooner.
      expect(truth, where).toBeGreaterThanOrEqual(DETECTION_DELAY_S);
      expect(gap.canaryGapSeconds, where).toBeGreaterThanOrEqual(Math.round(truth));
      expect(gap.canaryGapSeconds, where).toBeLessThanOrEqual(Math.round(truth) + 300);
    }
    // SES's budget: byodkim paced its calls, so SES throttled none.
    expect(summary.sesCalls.throttled).toBe(0);
    expect(summary.mailChecks).toBeGreaterThan(50);
    expect(summary.domains.map((d) => d.domain)).toEqual(DOMAINS);
    expect(summary.domains.map((d) => d.setup)).toEqual(['dns-automatic', 'dns-hand-off', 'adopted']);
    for (const d of summary.domains) {
      // SUCCESS everywhere but where someone else's key, with no record in DNS, waits for SES.
      expect(d.ses, d.domain).toEqual(
        Object.fromEntries(REGIONS.map((r) => [r, swapped(d.domain, r) ? 'PENDING on intruder' : 'SUCCESS'])),
      );
      expect(d.verified, d.domain).toBe(true);
      expect(d.rotations, d.domain).toBeGreaterThanOrEqual(1);
      expect(d.retiredSelectors, d.domain).toEqual(d.previousSelectors);
      expect(d.activeSelector).not.toBeNull();
      for (const region of REGIONS) {
        // Canaries were sent and judged in both regions; real mail ends signed with the active key.
        const canary = d.canary[region];
        expect(canary?.judged, `${d.domain} ${region}`).toBeGreaterThan(1);
        expect(canary?.sent).toBeGreaterThanOrEqual(canary?.judged ?? Number.POSITIVE_INFINITY);
        expect(canary?.passed).toBeGreaterThan(0);
        expect(canary?.lastSigned?.selector).toBe(d.activeSelector);
        const sample = d.samples[region];
        if (swapped(d.domain, region)) {
          expect(sample?.verified, `${d.domain} ${region}`).toBe(false);
          continue;
        }
        expect(sample?.verified, `${d.domain} ${region}`).toBe(true);
        expect(sample?.selector).toBe(d.activeSelector);
        expect(sample?.nameservers).toEqual({ ns1: true, ns2: true });
        expect(sample?.headers).toMatch(
          new RegExp(`DKIM-Signature: [^]*d=${d.domain.replace(/\./g, '\\.')}`),
        );
      }
    }
    // The key swapped behind byodkim's back: the very next canary from there raised the alarm,
    // byodkim asked a person and wrote nothing to SES over a key it did not set.
    const swap = summary.keySwap;
    expect(swap).toMatchObject({ ...SWAPPED, sesWritesAfter: 0 });
    expect(swap?.needsPerson).toMatch(/uses selector intruder, which byodkim did not set/);
    expect(Date.parse(swap?.firstCanaryAfter?.sentAt ?? '')).toBeGreaterThan(
      Date.parse(swap?.swappedAt ?? ''),
    );
    expect(swap?.alarm).toMatchObject({
      code: 'CanaryUnsigned',
      canaryId: swap?.firstCanaryAfter?.id,
      canarySentAt: swap?.firstCanaryAfter?.sentAt,
    });

    // The adopted domain kept the seed system's selector naming.
    expect(summary.domains[2]?.previousSelectors[0]).toMatch(/^gooid-21-pro-\d{8}-1$/);

    const workDir = summary.workDir as string;
    expect(summary.config).toBe(join(workDir, 'byodkim.config.yaml'));
    // Retired keys are destroyed; each domain keeps exactly its active key.
    expect(await expectNoSecrets(workDir, result.stdout + result.stderr)).toBe(DOMAINS.length);
    for (const d of summary.domains)
      for (const selector of d.retiredSelectors)
        await expect(stat(join(workDir, 'keys', d.domain, selector, 'private_key.pem'))).rejects.toThrow(
          /ENOENT/,
        );
    // The DNS team received its requests as files, with the real key (never the console placeholder).
    const requests = await readdir(join(workDir, 'dns-requests'));
    expect(requests.filter((f) => f.endsWith('.csv')).length).toBeGreaterThanOrEqual(2);
    const csv = await readFile(
      join(workDir, 'dns-requests', requests.find((f) => f.endsWith('.csv')) ?? ''),
      'utf8',
    );
    expect(csv).toMatch(/p=MII/);
    expect(csv).not.toMatch(/customerProvidedPublicKey/);
  });

  it('table output: live phases per domain, the status table, signed samples that verify', async () => {
    const result = await sandbox('--keep');
    const workDir = /Kept the work directory: (\S+)/.exec(result.stdout)?.[1];
    if (workDir) kept.push(workDir);
    expect(result.code, result.stderr + result.stdout.slice(-3000)).toBe(0);
    const out = result.stdout;
    const line = (pattern: RegExp) => out.split('\n').filter((l) => pattern.test(l));
    for (const domain of DOMAINS) {
      const name = domain.replace(/\./g, '\\.');
      // Progress names the domain and its phase on every line.
      for (const phase of [
        'phase 3 generate',
        'phase 5 verify DNS',
        'phase 6 switch SES',
        'phase 7 signing',
        'phase 8 retire',
      ])
        expect(line(new RegExp(`${name}\\s+${phase}`)).length, `${domain}: ${phase}`).toBeGreaterThan(0);
      // The status table: SUCCESS in both regions (but where the key was swapped behind byodkim's back).
      const us = domain === SWAPPED.domain ? 'PENDING on intruder' : 'SUCCESS';
      expect(
        line(new RegExp(`^${name}\\s+\\S+\\s+us-east-1:${us} ap-northeast-1:SUCCESS\\s`)),
        domain,
      ).toHaveLength(1);
      // The verdicts for a message SES sends now, in both regions, on both nameservers.
      for (const region of REGIONS.filter((r) => !swapped(domain, r)))
        expect(
          line(new RegExp(`SES ${region}\\s+dkim=pass\\s+d=${name} s=\\S+\\s+\\(ns1 pass, ns2 pass\\)`)),
          `${domain} ${region}`,
        ).toHaveLength(1);
    }
    expect(line(/handoff\.example\.net\s+DNS team\s+✓ added TXT/).length).toBeGreaterThanOrEqual(2);
    expect(line(/adopted\.example\.org\s+adopt\s+✓ adopted selector gooid-21-pro-/)).toHaveLength(1);
    expect(out).toMatch(/DKIM-Signature: v=1; a=rsa-sha256/);
    expect(out).toMatch(/it verified every time outside the measured gaps .*, and every gap ended/);
    expect(out).toMatch(/Signing gaps: each SES put/);
    // Both figures per region switch: SES read and canary.
    const gapLines = line(/^ {3}\S+\s+\S+\s+(us-east-1|ap-northeast-1)\s+put \d{4}-/);
    expect(gapLines).toHaveLength(10);
    for (const l of gapLines)
      expect(l).toMatch(/SES read ≤ \d+ s\s+canary ≤ \d+ s\s+SES verified \d+ s after the put/);
    for (const domain of DOMAINS)
      for (const region of REGIONS)
        expect(
          line(
            new RegExp(
              `^ {3}${domain.replace(/\./g, '\\.')}\\s+${region}\\s+sent +\\d+, judged +\\d+: \\d+ signed and DMARC pass`,
            ),
          ),
          `${domain} ${region}`,
        ).toHaveLength(1);
    // A canary inside a switch gap is logged as expected, never as a failure.
    expect(
      line(
        /canary\s+· canary c-\S+ from SES \S+: not signed by the domain, DMARC fail — inside the switch gap/,
      ).length,
    ).toBeGreaterThan(0);
    // The swapped key: unsigned mail from there now, and the alarm from the first canary after the swap.
    expect(line(/SES us-east-1\s+dkim=FAIL\s+d=auto\.example\.com s=-/)).toHaveLength(1);
    expect(
      line(/auto\.example\.com\s+someone else\s+! SES us-east-1: PutEmailIdentityDkimSigningAttributes/),
    ).toHaveLength(1);
    expect(
      line(
        /auto\.example\.com\s+canary\s+! canary c-\S+ from SES us-east-1: not signed by the domain, DMARC fail — outside any switch/,
      ).length,
    ).toBeGreaterThan(0);
    expect(out).toMatch(/alarm: CanaryUnsigned raised .* by canary c-\S+ \(that first canary\)/);
    expect(out).not.toMatch(/no signing gap/);
    expect(out).not.toMatch(/would NOT verify/);
    expect(line(/^\d{4}-\d\d-\d\d \d\d:\d\d .* ✗ /)).toEqual([]);
    expect(out).toMatch(/sandbox OK/);
    expect(out).toMatch(/cannot reach them now/);
    expect(workDir).toBeDefined();
    await expectNoSecrets(workDir as string, out + result.stderr);
  });

  it('notices mail that would not verify: the check is real (in-process, DNS broken on purpose)', async () => {
    const { runSandbox } = await import('../../src/sandbox/run.js');
    const lines: string[] = [];
    let broken: string | undefined;
    const result = await runSandbox(
      {
        start: new Date('2026-03-01T00:00:00Z'),
        keyBits: 1024,
        dnsTeamDelayHours: 4,
        keep: false,
        // Once auto.example.com signs, someone deletes its record by hand on both servers.
        afterPass: (world) => {
          const name = 'auto-20260301-1._domainkey.auto.example.com';
          const signing = lines.some((l) => /auto\.example\.com\s+mail\s+✓/.test(l));
          if (broken || !signing || world.zones.getTxt(name).length === 0) return;
          broken = name;
          world.zones.removeTxt(name);
          world.syncSecondary();
        },
      },
      { line: (text) => lines.push(text), panel: () => undefined, close: () => undefined },
    );
    expect(broken).toBeDefined();
    expect(result.ok).toBe(false);
    const outside = result.mailFailures.filter((f) => !f.inGap && !f.afterSwap);
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.every((f) => f.domain === 'auto.example.com')).toBe(true);
    expect(result.problems.join('\n')).toMatch(/would not have verified/);
    expect(
      lines.some((l) => /auto\.example\.com\s+mail\s+✗ SES us-east-1: mail would NOT verify/.test(l)),
    ).toBe(true);
    // byodkim itself saw the drift and published the record again; the other domains were unaffected.
    expect(lines.some((l) => /ActiveRecordDrift/.test(l))).toBe(true);
    expect(result.domains.every((d) => d.verified && d.rotations >= 1)).toBe(true);
  });

  it('refuses a key size SES does not take: exit 2', async () => {
    const result = await sandbox('--bits', '4096');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/4096/);
  });
});
