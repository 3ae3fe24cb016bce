/**
 * `byodkim sandbox`: the whole lifecycle on the embedded default, in one process, on a
 * virtual clock. Three domains in two regions — one with DNS published over RFC 2136 +
 * TSIG, one handed to a (simulated) DNS team, one adopted from an existing BYODKIM set-up —
 * are onboarded and rotated once: rotation due (notAfter − renewBefore), new key
 * generated, published, verified on both nameservers, SES switched in both regions,
 * SUCCESS, grace, old record removed, old key destroyed.
 *
 * The engine is the real one (`buildEngineDeps` from the loaded config, `applyDomain` per
 * pass); only SES and DNS are emulated. After every change of the world and after every
 * pass, a message SES would send from each domain is verified with mailauth against both
 * nameservers. SES holds one key per identity and re-verifies after every put, so a switch
 * has a gap (SES-REALITY.md §2): the emulator runs on SES's realistic clock, every gap is
 * measured, and the sandbox checks that mail never failed outside a measured gap and that
 * every gap ended.
 *
 * Every domain also has the signing canary: byodkim sends real mail through the emulator's
 * SES v2 SendEmail, reads it back from the emulator's mailbox and judges it with mailauth on
 * ns1 and ns2, so each switch's gap is measured twice — from SES's answers (the first pass
 * that saw SES signing with the new selector) and from real mail (the first canary signed
 * with it) — and the sandbox checks that both agree with the emulator's own record of when
 * it first signed with the new key.
 *
 * Once every domain has rotated, someone else swaps a domain's key in one SES region behind
 * byodkim's back (the emulator's control): the next canary from there must raise the alarm.
 * byodkim does not fight a selector it did not set (it asks a person to look, and leaves SES
 * alone there), so the run ends with that alarm holding, and only there.
 */
import { performance } from 'node:perf_hooks';
import { AwsClientFactory } from '../adapters/aws/clients.js';
import { type StatusRow, statusRows } from '../cli/status-rows.js';
import { buildEngineDeps } from '../config/engine.js';
import { findDomain, type LoadedConfig, loadConfig, type ResolvedDomain } from '../config/load.js';
import type { Plan } from '../domain/lifecycle/index.js';
import { DAY_MS, HOUR_MS } from '../domain/policy.js';
import type { Actor, DomainState } from '../domain/state.js';
import { explainNextEvent, Reason } from '../domain/vocabulary.js';
import { adoptNow } from '../engine/adopt.js';
import {
  applyDomain,
  type DomainResult,
  type EngineDeps,
  forEachDomain,
  planDomain,
} from '../engine/reconcile.js';
import { lastSwitchReport, soonestFollowUp } from '../engine/report.js';
import { describeError } from '../errors.js';
import { DnsTeam } from './dns-team.js';
import { createExistingSetup, EMULATOR_CREDENTIALS, type ExistingSetup } from './existing-setup.js';
import { EmulatorMailboxInbox } from './mailbox-inbox.js';
import { clockText, phaseLabel, phaseOf, type Reporter } from './progress.js';
import {
  type RegionSample,
  SANDBOX_CANARY_ADDRESS,
  SANDBOX_DOMAINS,
  SANDBOX_REGIONS,
  SandboxWorld,
} from './world.js';

export interface SandboxOptions {
  /** Virtual time at which the run starts. */
  start: Date;
  keyBits: 1024 | 2048;
  /** Virtual hours the DNS team takes to apply a hand-off. */
  dnsTeamDelayHours: number;
  /** Leave the work directory in place. */
  keep: boolean;
  /** Safety stop. Default 400 passes. */
  maxPasses?: number;
  /** Tests: change the world after a pass (e.g. break DNS) to check that the sandbox notices. */
  afterPass?: (world: SandboxWorld, pass: number) => void | Promise<void>;
}

export type DomainRole = 'dns-automatic' | 'dns-hand-off' | 'adopted';

export interface MailFailure {
  at: string;
  domain: string;
  region: string;
  why: string;
  /** Inside a measured switch gap (SES re-verifying after a put), where unsigned mail is expected. */
  inGap: boolean;
  /** After the key was swapped behind byodkim's back and before a canary showed it restored. */
  afterSwap: boolean;
}

/** The key swapped behind byodkim's back, and what the canary made of it. */
export interface KeySwapRecord {
  domain: string;
  region: string;
  /** The other actor's selector (no record for it in DNS). */
  selector: string;
  swappedAt: string;
  /** The first canary byodkim sent from that domain through that region after the swap. */
  firstCanaryAfter: { id: string; sentAt: string } | null;
  /** The canary alarm raised there, and the canary that raised it. */
  alarm: { code: string; canaryId: string; canarySentAt: string; raisedAt: string } | null;
  /** What byodkim asked of a person when it read SES holding a selector it did not set. */
  needsPerson: string | null;
  /** SES writes byodkim made there after the swap (it must make none: the key is not its own). */
  sesWritesAfter: number;
}

/** One region of one switch: the put, and the first pass that saw SES signing with the selector. */
export interface SwitchGapRecord {
  domain: string;
  selector: string;
  region: string;
  putAt: string;
  successSeenAt: string | null;
  /** Upper bound: byodkim knows only when it looked. */
  gapSeconds: number | null;
  /** SES's own LastSuccessTimestamp, when it gave one after the put. */
  sesVerifiedAt?: string;
  /** Sending time of the first canary signed with the new selector (real mail's view of the gap's end). */
  canarySignedAt?: string;
  /** From the put to that canary: the gap as real mail saw it, within one canary interval. */
  canaryGapSeconds?: number;
}

/** The signing canary of one domain in one region, over the run. */
export interface CanarySummary {
  /** Canaries sent through SES (the emulator's outbox). */
  sent: number;
  /** Canaries judged by byodkim (read back from the inbox). */
  judged: number;
  /** Judged canaries that verified with the domain's signature and passed DMARC. */
  passed: number;
  /** Judged inside a switch gap: not signed by the domain, as expected there. */
  inGap: number;
  /** The selector real mail was last signed with, and when the canary was sent. */
  lastSigned: { selector: string; sentAt: string } | null;
}

export interface DomainSummary {
  domain: string;
  role: DomainRole;
  ses: Record<string, string>;
  activeSelector: string | null;
  /** Selectors SES signed with before the current one, in order. */
  previousSelectors: string[];
  rotations: number;
  /** Previous selectors whose record is gone from DNS and whose key is destroyed. */
  retiredSelectors: string[];
  verified: boolean;
  samples: RegionSample[];
  /** Per region. */
  canary: Record<string, CanarySummary>;
}

export interface SandboxResult {
  ok: boolean;
  problems: string[];
  workDir: string;
  kept: boolean;
  configPath: string;
  virtualStart: string;
  virtualEnd: string;
  passes: number;
  mailChecks: number;
  mailFailures: MailFailure[];
  /** Every switch's gap per region, in order. */
  gaps: SwitchGapRecord[];
  /** The key swapped behind byodkim's back after the rotations (null if the run never got there). */
  keySwap: KeySwapRecord | null;
  /** SES API calls the run made, per region and operation, and how many SES throttled. */
  sesCalls: { byRegion: Record<string, number>; byOperation: Record<string, number>; throttled: number };
  wallMs: number;
  domains: DomainSummary[];
  status: StatusRow[];
  adopted?: ExistingSetup;
}

const ROLES: Record<string, DomainRole> = {
  [SANDBOX_DOMAINS.automatic]: 'dns-automatic',
  [SANDBOX_DOMAINS.handOff]: 'dns-hand-off',
  [SANDBOX_DOMAINS.adopted]: 'adopted',
};
/**
 * The canary's routine steps: they neither mean the lifecycle is moving (so the virtual clock
 * may still jump to the next event) nor are worth a line of the log each.
 */
const CANARY_ROUTINE = new Set<string>(['send-canary', 'canary-judged', 'discard-canary']);

/** Where the key is swapped behind byodkim's back, and the other actor's selector. */
const SWAP = {
  domain: SANDBOX_DOMAINS.automatic,
  region: SANDBOX_REGIONS[0] as string,
  selector: 'intruder',
};
/** Hourly passes after the swap: the daily canary is due within a day. */
const SWAP_MAX_PASSES = 30;

/** The existing set-up's key is this much older than the start, as if made by the seed system. */
const ADOPTED_KEY_AGE_DAYS = 30;

export async function runSandbox(options: SandboxOptions, reporter: Reporter): Promise<SandboxResult> {
  const wallStart = performance.now();
  const world = await SandboxWorld.start({ start: options.start, keyBits: options.keyBits });
  const cleanUpOnSignal = () => {
    reporter.close();
    void world.stop({ keep: options.keep }).finally(() => process.exit(130));
  };
  process.once('SIGINT', cleanUpOnSignal);
  try {
    return await new SandboxRun(world, options, reporter).run(wallStart);
  } finally {
    process.off('SIGINT', cleanUpOnSignal);
    reporter.close();
    await world.stop({ keep: options.keep });
  }
}

class SandboxRun {
  readonly #states = new Map<string, DomainState>();
  readonly #waits = new Map<string, Set<string>>();
  readonly #warnings = new Map<string, Set<string>>();
  readonly #signingWith = new Map<string, string>();
  readonly #plans = new Map<string, Plan>();
  readonly #mailFailures: MailFailure[] = [];
  readonly #gaps = new Map<string, SwitchGapRecord>();
  /** `domain|region` → canaries judged, passed, and judged inside a gap. */
  readonly #canaries = new Map<string, { judged: number; passed: number; inGap: number }>();
  #swap: KeySwapRecord | null = null;
  #mailChecks = 0;
  #passes = 0;
  #loaded!: LoadedConfig;
  #deps!: EngineDeps;
  #team!: DnsTeam;
  #adopted: ExistingSetup | undefined;
  readonly #actor: Actor = { kind: 'sandbox' };

  constructor(
    private readonly world: SandboxWorld,
    private readonly options: SandboxOptions,
    private readonly reporter: Reporter,
  ) {}

  get #clock() {
    return this.world.clock;
  }

  async run(wallStart: number): Promise<SandboxResult> {
    this.#loaded = await loadConfig(this.world.configPath);
    const awsClients = new AwsClientFactory({
      ...(this.#loaded.config.aws?.endpoints ? { endpoints: this.#loaded.config.aws.endpoints } : {}),
      credentials: EMULATOR_CREDENTIALS,
      maxAttempts: this.#loaded.config.aws?.maxAttempts ?? 2,
    });
    this.#deps = await buildEngineDeps(this.#loaded, {
      clock: this.#clock,
      actor: this.#actor,
      // The log is drawn from each pass's step results (#report), not from progress events.
      output: { event: () => undefined },
      awsClients,
      sesPacerTimer: this.world.sesPacerTimer,
      // The embedded servers check TSIG times against the virtual clock, so sign with it too.
      publisher: { tsigClock: this.#clock },
      // The product's canary (SES SendEmail, the mailauth judge), reading the emulator's mailbox.
      canary: { inbox: new EmulatorMailboxInbox(this.world.ses, SANDBOX_CANARY_ADDRESS) },
    });
    this.#team = new DnsTeam(
      this.#loaded.domains.flatMap((d) =>
        d.dns.provider === 'manual' ? [{ domain: d.domain, outDir: d.dns.outDir }] : [],
      ),
      this.world.zones,
      this.#clock,
      this.options.dnsTeamDelayHours * HOUR_MS,
    );
    const virtualStart = this.#clock.now().toISOString();
    try {
      this.#intro();
      await this.#adoptExistingSetup();
      if (await this.#lifecycle()) await this.#keySwappedBehindItsBack();
      return await this.#finish(wallStart, virtualStart);
    } finally {
      awsClients.destroy();
    }
  }

  // --- set-up -------------------------------------------------------------------------------

  #intro(): void {
    const r = this.reporter;
    const [ns1, ns2] = this.world.nameservers;
    const policy = this.#loaded.domains[0]?.policy;
    r.line(
      `byodkim sandbox: onboarding and one full rotation of ${this.#loaded.domains.length} domains in ${SANDBOX_REGIONS.join(' and ')},`,
    );
    r.line(
      'on a virtual clock (days pass in seconds). Everything runs on this machine; nothing reaches AWS.',
    );
    r.line('');
    r.line(`  SES        emulator at ${this.world.ses.endpoint} (SES v2 API, called with the real AWS SDK)`);
    r.line(
      `  DNS        ns1 ${ns1?.host}:${ns1?.port} (primary: RFC 2136 updates with TSIG), ns2 ${ns2?.host}:${ns2?.port} (secondary: a zone transfer before each pass, so it lags up to an hour)`,
    );
    r.line(
      `  work dir   ${this.world.dir} (${this.options.keep ? 'kept after the run' : 'removed after the run; --keep keeps it'})`,
    );
    if (policy)
      r.line(
        `  policy     ${policy.keyBits}-bit keys, valid ${policy.validityDays} d, renewed ${policy.renewBeforeDays} d before, grace ${policy.graceDays} d, ${policy.verifyChecks} DNS checks in a row`,
      );
    r.line('');
    for (const d of this.#loaded.domains) {
      const how =
        ROLES[d.domain] === 'adopted'
          ? 'an existing BYODKIM set-up, taken over with "byodkim adopt"; new keys by RFC 2136 + TSIG'
          : d.dns.provider === 'manual'
            ? `manual DNS hand-off: the sandbox's DNS team applies each request ${this.options.dnsTeamDelayHours} h after it arrives`
            : 'DNS published automatically: RFC 2136 + TSIG (secret generated for this run)';
      r.line(`  ${d.domain.padEnd(20)} ${how}`);
    }
    r.line('');
  }

  async #adoptExistingSetup(): Promise<void> {
    const domain = findDomain(this.#loaded, SANDBOX_DOMAINS.adopted, 'sandbox');
    const keys = this.#loaded.config.keys;
    if (keys.type !== 'file') throw new Error('the sandbox config must use the file vault');
    const createdAt = new Date(this.#clock.now().getTime() - ADOPTED_KEY_AGE_DAYS * DAY_MS);
    const setup = await createExistingSetup(this.world, {
      domain: domain.domain,
      keysDir: keys.dir,
      bits: this.options.keyBits,
      createdAt,
      validityDays: domain.policy.validityDays,
    });
    this.#adopted = setup;
    const log = (label: string, text: string) => this.#log(domain.domain, label, '✓', text);
    log(
      'existing set-up',
      `key ${setup.selector} made ${ADOPTED_KEY_AGE_DAYS} days ago by "the seed system"`,
    );
    log('existing set-up', `private key in the seed layout: ${relative(this.world.dir, setup.keyPath)}`);
    log('existing set-up', `TXT ${setup.selector}._domainkey.${domain.domain} served by ns1 and ns2`);
    for (const region of SANDBOX_REGIONS)
      log(
        'existing set-up',
        `SES ${region}: CreateEmailIdentity + PutEmailIdentityDkimSigningAttributes (EXTERNAL, ${setup.selector}) with SESv2Client; DKIM ${setup.sesStatus[region]}`,
      );

    const deps = this.#deps;
    const result = await adoptNow(domain, deps, {
      fromEasyDkim: false,
      sources: {
        // What the seed system's config secret says about the key (the key itself is in the vault).
        seed: async () => ({
          selector: setup.selector,
          createdAt: setup.createdAt,
          expiresAt: setup.expiresAt,
        }),
      },
      now: this.#clock.now(),
      actor: this.#actor,
    });
    this.#states.set(domain.domain, result.state);
    this.#log(domain.domain, 'adopt', '✓', result.summary.replace(`${domain.domain}: `, ''));
    for (const warning of result.warnings) this.#log(domain.domain, 'adopt', '!', warning);
    await this.#checkMail();
  }

  // --- the lifecycle loop -------------------------------------------------------------------

  /** Passes until every domain has rotated once; false if the safety stop came first. */
  async #lifecycle(): Promise<boolean> {
    this.reporter.line(
      'Lifecycle, in virtual time (✓ done  · waiting  ! warning  ✗ failed; "mail" = a message SES sends now, verified by mailauth on ns1 and ns2):',
    );
    const done = await this.#passesUntil((results) => results.every((r) => this.#complete(r)));
    if (!done) this.reporter.line(`stopped after ${this.#passes} passes without completing the rotation`);
    return done;
  }

  /**
   * Someone else puts a key of their own into SES for one domain in one region (what another
   * actor's PutEmailIdentityDkimSigningAttributes would do; the emulator's control). SES
   * re-verifies and finds no record for it, so it stops signing with the domain: the next
   * canary from there must raise the alarm. Passes an hour apart (the clock does not jump
   * over the day to the next daily canary) until the alarm, and one more.
   */
  async #keySwappedBehindItsBack(): Promise<void> {
    this.#clock.advance(HOUR_MS);
    const at = this.#clock.now().toISOString();
    await this.world.ses.swapKey({ region: SWAP.region, identity: SWAP.domain, selector: SWAP.selector });
    this.#swap = {
      ...SWAP,
      swappedAt: at,
      firstCanaryAfter: null,
      alarm: null,
      needsPerson: null,
      sesWritesAfter: 0,
    };
    this.#log(
      SWAP.domain,
      'someone else',
      '!',
      `SES ${SWAP.region}: PutEmailIdentityDkimSigningAttributes (EXTERNAL, s=${SWAP.selector}, a key byodkim never made) behind byodkim's back`,
    );
    let afterAlarm = 0;
    const limit = this.#passes + SWAP_MAX_PASSES;
    const done = await this.#passesUntil(() => this.#swap?.alarm != null && afterAlarm++ > 0, {
      jump: false,
      maxPasses: limit,
    });
    if (!done) this.reporter.line(`stopped ${SWAP_MAX_PASSES} passes after the swap without a canary alarm`);
  }

  /** Passes, moving the virtual clock between them, until `done` (true) or the safety stop (false). */
  async #passesUntil(
    done: (results: readonly DomainResult[]) => boolean,
    how: { jump: boolean; maxPasses?: number } = { jump: true },
  ): Promise<boolean> {
    const maxPasses = Math.min(how.maxPasses ?? Number.POSITIVE_INFINITY, this.options.maxPasses ?? 400);
    while (this.#passes < maxPasses) {
      // The world moves first: the secondary transfers, the DNS team does what is due.
      this.world.syncSecondary();
      const teamActions = await this.#team.work();
      for (const action of teamActions) this.#log(action.domain, 'DNS team', '✓', action.message);
      // Canary mail sent on earlier passes arrives (SES delivers seconds after sending).
      await this.world.ses.deliverDue();
      await this.#checkMail();

      this.#passes++;
      const { results } = await forEachDomain(this.#loaded.domains, (d) => applyDomain(d, this.#deps), {
        concurrency: this.#loaded.domains.length,
      });
      for (const result of results) this.#report(result);
      await this.#checkMail();
      this.#drawPanel();
      await this.options.afterPass?.(this.world, this.#passes);

      if (done(results)) return true;
      this.#advance(results, teamActions.length > 0 || !how.jump);
    }
    return false;
  }

  /** Onboarded (or adopted), rotated once, old selector retired, nothing in flight. */
  #complete(result: DomainResult): boolean {
    const keys = result.state?.keys ?? [];
    return (
      result.outcome === 'ok' &&
      keys.some((k) => k.status === 'active') &&
      keys.some((k) => k.status === 'retired' && k.destroyedAt !== undefined)
    );
  }

  /**
   * One virtual hour while anything moves (DNS propagation, SES verification, steps
   * taken); when every domain only waits for a known moment (a rotation due, a grace
   * period, the DNS team's next change), straight to the earliest such moment.
   */
  #advance(results: readonly DomainResult[], teamActed: boolean): void {
    const now = this.#clock.now();
    const moving =
      teamActed ||
      results.some(
        (r) =>
          r.outcome === 'failed' ||
          r.outcome === 'locked' ||
          (r.plan?.steps ?? []).some((step) => !CANARY_ROUTINE.has(step.kind)) ||
          (r.plan?.waits ?? []).some((w) => w.reason !== Reason.DnsHandOffPending),
      );
    // A switch in flight asks to be read again in minutes (its follow-up): go there, not an hour on.
    const followUp = soonestFollowUp(results);
    const step =
      followUp && followUp.getTime() > now.getTime()
        ? Math.min(HOUR_MS, followUp.getTime() - now.getTime())
        : HOUR_MS;
    if (moving) {
      this.#clock.advance(step);
      return;
    }
    const candidates: Array<{ at: Date; what: string }> = [];
    const teamAt = this.#team.nextActionAt();
    if (teamAt) candidates.push({ at: teamAt, what: "the DNS team's next change" });
    for (const r of results) {
      const next = r.plan?.next;
      if (next && Date.parse(next.at) > now.getTime())
        candidates.push({ at: new Date(next.at), what: `${r.domain}: ${explainNextEvent(next)}` });
    }
    const soonest = candidates.sort((a, b) => a.at.getTime() - b.at.getTime())[0];
    if (!soonest || soonest.at.getTime() - now.getTime() <= HOUR_MS) {
      this.#clock.advance(step);
      return;
    }
    this.#clock.set(soonest.at);
    this.reporter.line(
      `${clockText(now)}  ⏩ ${duration(soonest.at.getTime() - now.getTime())} later: ${clockText(soonest.at)}, ${soonest.what}`,
    );
  }

  // --- reporting ----------------------------------------------------------------------------

  #log(domain: string, label: string, mark: string, text: string): void {
    this.reporter.line(
      `${clockText(this.#clock.now())}  ${domain.padEnd(20)} ${label.padEnd(19)} ${mark} ${this.#names(text)}`,
    );
  }

  /** Nameserver addresses read better as ns1/ns2. */
  #names(text: string): string {
    let out = text;
    for (const ns of this.world.nameservers) out = out.split(`${ns.host}:${ns.port}`).join(ns.name);
    return out;
  }

  #report(result: DomainResult): void {
    const domain = result.domain;
    const resolved = this.#loaded.domains.find((d) => d.domain === domain) as ResolvedDomain;
    const manual = resolved.dns.provider === 'manual';
    if (result.state) this.#states.set(domain, result.state);
    if (result.plan) this.#plans.set(domain, result.plan);
    this.#recordGaps(domain, result.state);
    for (const { step, status, error, generated } of result.steps ?? []) {
      if (step.kind === 'clear-request' || status === 'not-run') continue;
      if (step.kind === 'canary-judged' && status === 'done') this.#countCanary(domain, step);
      if (status === 'done') this.#followSwap(domain, step, result.state);
      // A canary is worth a line when it says something: the gap, its end, or an alarm.
      if (
        status === 'done' &&
        CANARY_ROUTINE.has(step.kind) &&
        !(step.kind === 'canary-judged' && (step.closesGap || step.expectation !== 'expected'))
      )
        continue;
      let mark = status === 'failed' ? '✗' : status === 'skipped' ? '·' : '✓';
      let text = status === 'done' ? step.message : `${step.message} (${status}: ${error})`;
      if (step.kind === 'generate-key' && generated) {
        text = `${step.reason}: generated ${generated.bits}-bit key ${generated.selector} into the vault`;
      } else if (step.kind === 'publish' && status === 'done') {
        const parts = step.changes.map((c) =>
          c.action === 'upsert'
            ? `add ${c.selector}`
            : `remove ${c.selector}${manual && c.notBefore ? ` (not before ${clockText(c.notBefore)})` : ''}`,
        );
        text = manual
          ? `hand-off written to dns-requests/ (CSV, zone lines, JSON) for the DNS team: ${parts.join(', ')}`
          : `RFC 2136 update signed with TSIG, accepted by ns1: ${parts.join(', ')}`;
      } else if (step.kind === 'set-streak' && step.streak === 0) mark = '·';
      else if (step.kind === 'raise-alarm' && status === 'done') mark = '!';
      if (step.kind === 'canary-judged' && status === 'done') {
        // Unsigned inside the gap is expected; outside it, byodkim raises an alarm (logged too).
        mark = step.expectation === 'gap' ? '·' : step.expectation === 'expected' ? '✓' : '!';
        this.#log(domain, 'canary', mark, text);
        continue;
      }
      this.#log(domain, phaseLabel(step.phase, manual), mark, text);
    }
    // Failed steps were shown above; an error outside any step (reading state, SES, DNS) is shown here.
    if (!result.plan) for (const error of result.errors) this.#log(domain, 'pass', '✗', error);
    this.#dedupe(this.#waits, domain, result.plan?.waits.map((w) => w.message) ?? [], (m) =>
      this.#log(
        domain,
        phaseOf(result.state, result.plan, this.#phaseOptions(resolved)).label,
        '·',
        m.startsWith('waiting') ? m : `waiting: ${m}`,
      ),
    );
    this.#dedupe(
      this.#warnings,
      domain,
      result.plan?.warnings.map((w) => `${w.code}: ${w.message}`) ?? [],
      (m) => this.#log(domain, 'warning', '!', m),
    );
    const swap = this.#swap;
    if (swap && domain === swap.domain && !swap.needsPerson) {
      const unknown = result.plan?.warnings.find(
        (w) => w.code === Reason.UnknownSelectorInSes && w.region === swap.region,
      );
      if (unknown) swap.needsPerson = unknown.message;
    }
  }

  /** What byodkim did about the swapped key: the first canary after it, the alarm, any SES write there. */
  #followSwap(domain: string, step: Plan['steps'][number], state: DomainState | undefined): void {
    const swap = this.#swap;
    if (!swap || domain !== swap.domain) return;
    const now = this.#clock.now().toISOString();
    if (step.kind === 'send-canary' && step.region === swap.region && !swap.firstCanaryAfter) {
      const pending = state?.canary?.regions[swap.region]?.pending?.find((p) => p.id === step.id);
      swap.firstCanaryAfter = { id: step.id, sentAt: pending?.sentAt ?? now };
    } else if (step.kind === 'raise-alarm' && step.region === swap.region && step.code.startsWith('Canary')) {
      const last = state?.canary?.regions[swap.region]?.lastJudged;
      if (!swap.alarm && last)
        swap.alarm = { code: step.code, canaryId: last.id, canarySentAt: last.sentAt, raisedAt: now };
    } else if (
      (step.kind === 'ses-put' || step.kind === 'ses-create' || step.kind === 'ses-enable') &&
      step.region === swap.region
    ) {
      swap.sesWritesAfter++;
    }
  }

  #countCanary(domain: string, step: Extract<Plan['steps'][number], { kind: 'canary-judged' }>): void {
    const key = `${domain}|${step.region}`;
    const count = this.#canaries.get(key) ?? { judged: 0, passed: 0, inGap: 0 };
    count.judged++;
    if (step.pass) count.passed++;
    if (step.expectation === 'gap') count.inGap++;
    this.#canaries.set(key, count);
  }

  /** Every put starts a gap in its region; the sandbox keeps each one, the state only the last switch. */
  #recordGaps(domain: string, state: DomainState | undefined): void {
    const last = lastSwitchReport(state);
    if (!last) return;
    for (const [region, gap] of Object.entries(last.regions)) {
      const key = `${domain}|${last.selector}|${region}|${gap.putAt}`;
      this.#gaps.set(key, {
        domain,
        selector: last.selector,
        region,
        putAt: gap.putAt,
        successSeenAt: gap.successSeenAt,
        gapSeconds: gap.gapSeconds,
        ...(gap.sesVerifiedAt ? { sesVerifiedAt: gap.sesVerifiedAt } : {}),
        ...(gap.canarySignedAt && gap.canaryGapSeconds !== undefined
          ? { canarySignedAt: gap.canarySignedAt, canaryGapSeconds: gap.canaryGapSeconds }
          : {}),
      });
    }
  }

  /** The first switch of a domain that had no key before (not adopted): SES sends nothing from it until it signs. */
  #isOnboarding(gap: SwitchGapRecord): boolean {
    if (ROLES[gap.domain] === 'adopted') return false;
    const first = [...this.#gaps.values()]
      .filter((g) => g.domain === gap.domain && g.region === gap.region)
      .sort((a, b) => Date.parse(a.putAt) - Date.parse(b.putAt))[0];
    return first === gap;
  }

  #canarySummary(d: ResolvedDomain, state: DomainState | undefined): Record<string, CanarySummary> {
    const out: Record<string, CanarySummary> = {};
    if (!d.canary) return out;
    for (const region of d.regions) {
      const counted = this.#canaries.get(`${d.domain}|${region}`) ?? { judged: 0, passed: 0, inGap: 0 };
      const last = state?.canary?.regions[region]?.lastSigned;
      out[region] = {
        sent: this.world.ses
          .outbox({ identity: d.domain, region })
          .filter((m) => m.recipients.includes(SANDBOX_CANARY_ADDRESS)).length,
        ...counted,
        lastSigned: last ? { selector: last.selector, sentAt: last.sentAt } : null,
      };
    }
    return out;
  }

  /** What the SES emulator counted: the run's cost in SES's one-request-per-second budget. */
  #sesCalls(): SandboxResult['sesCalls'] {
    const byRegion: Record<string, number> = {};
    const byOperation: Record<string, number> = {};
    for (const [key, count] of Object.entries(this.world.ses.counters())) {
      const [operation, region] = key.split('@');
      // Canary mail is sent under SES's sending quota, not the control-plane budget.
      if (operation === 'SendEmail') continue;
      if (region) byRegion[region] = (byRegion[region] ?? 0) + count;
      else if (operation) byOperation[operation] = count;
    }
    const throttled = Object.entries(this.world.ses.rejections())
      .filter(([key]) => key.startsWith('throttled@'))
      .reduce((n, [, count]) => n + count, 0);
    return { byRegion, byOperation, throttled };
  }

  /** Whether mail at `at` was sent through the swapped region after the swap behind byodkim's back. */
  #afterSwap(domain: string, region: string, at: string): boolean {
    const swap = this.#swap;
    if (!swap || swap.domain !== domain || swap.region !== region) return false;
    const t = Date.parse(at);
    return Date.parse(swap.swappedAt) <= t;
  }

  /** Whether unsigned mail at `at` falls inside a switch gap of that domain and region. */
  #inGap(domain: string, region: string, at: string): boolean {
    const t = Date.parse(at);
    return [...this.#gaps.values()].some(
      (g) =>
        g.domain === domain &&
        g.region === region &&
        Date.parse(g.putAt) <= t &&
        (g.successSeenAt === null || t <= Date.parse(g.successSeenAt)),
    );
  }

  #phaseOptions(domain: ResolvedDomain) {
    return { verifyChecks: domain.policy.verifyChecks, manual: domain.dns.provider === 'manual' };
  }

  /** Prints the messages that were not there on the previous pass. */
  #dedupe(memory: Map<string, Set<string>>, domain: string, messages: string[], print: (m: string) => void) {
    const previous = memory.get(domain) ?? new Set<string>();
    for (const m of messages) if (!previous.has(m)) print(m);
    memory.set(domain, new Set(messages));
  }

  #drawPanel(): void {
    const now = this.#clock.now();
    const lines = [
      `── ${clockText(now)} · pass ${this.#passes} · mail checks ${this.#mailChecks}, unsigned ${this.#mailFailures.length} (outside a gap: ${this.#mailFailures.filter((f) => !f.inGap).length})`,
    ];
    for (const d of this.#loaded.domains) {
      const phase = phaseOf(this.#states.get(d.domain), this.#plans.get(d.domain), this.#phaseOptions(d));
      const mail = this.#signingWith.get(d.domain);
      lines.push(
        `   ${d.domain.padEnd(20)} ${phase.label.padEnd(19)} ${this.#names(phase.detail)}${mail ? `  · mail ✓ s=${mail}` : ''}`,
      );
    }
    this.reporter.panel(lines);
  }

  /** Every domain with an active key: mail SES sends now must verify in every region on every nameserver. */
  async #checkMail(): Promise<void> {
    const at = this.#clock.now().toISOString();
    for (const d of this.#loaded.domains) {
      if (!this.#states.get(d.domain)?.keys.some((k) => k.status === 'active')) continue;
      let samples: RegionSample[];
      try {
        samples = await this.world.sample(d.domain);
      } catch (error) {
        this.#mailFailure({
          at,
          domain: d.domain,
          region: '-',
          why: describeError(error),
          inGap: false,
          afterSwap: false,
        });
        continue;
      }
      this.#mailChecks += samples.length;
      for (const s of samples) {
        if (s.pass) continue;
        const why = s.signedWithDomainKey
          ? s.verdicts
              .filter((v) => !v.verdict.pass)
              .map(
                (v) =>
                  `${v.nameserver}: ${v.verdict.signatures.map((x) => `${x.selector} ${x.result}`).join(', ') || 'no signature'}`,
              )
              .join('; ')
          : (/X-SES-Emulator-Note: (.*)/.exec(s.message)?.[1]?.trim() ?? 'not signed with the domain key');
        this.#mailFailure({
          at,
          domain: d.domain,
          region: s.region,
          why,
          inGap: this.#inGap(d.domain, s.region, at),
          afterSwap: this.#afterSwap(d.domain, s.region, at),
        });
      }
      const selectors = [...new Set(samples.filter((s) => s.pass).map((s) => s.selector ?? '?'))];
      const signing = selectors.join(', ');
      if (selectors.length > 0 && this.#signingWith.get(d.domain) !== signing) {
        this.#signingWith.set(d.domain, signing);
        const regions = samples.filter((s) => s.pass).map((s) => s.region);
        this.#log(
          d.domain,
          'mail',
          '✓',
          `signed s=${signing} in ${regions.join(', ')}; verifies on ns1 and ns2`,
        );
      }
    }
  }

  #mailFailure(failure: MailFailure): void {
    this.#mailFailures.push(failure);
    if (failure.afterSwap && !failure.inGap) {
      // Once: every check after it says the same until a person acts.
      if (this.#mailFailures.filter((f) => f.afterSwap && !f.inGap).length > 1) return;
      this.#log(
        failure.domain,
        'mail',
        '!',
        `SES ${failure.region}: not signed by the domain's key since the key was swapped behind byodkim's back (and on every check after): ${failure.why}`,
      );
    } else if (failure.inGap)
      this.#log(
        failure.domain,
        'mail',
        '·',
        `SES ${failure.region}: not signed by the domain's key, inside the switch gap (SES re-verifies after the put): ${failure.why}`,
      );
    else
      this.#log(failure.domain, 'mail', '✗', `SES ${failure.region}: mail would NOT verify: ${failure.why}`);
  }

  // --- the end --------------------------------------------------------------------------------

  async #finish(wallStart: number, virtualStart: string): Promise<SandboxResult> {
    const now = this.#clock.now();
    const { results } = await forEachDomain(this.#loaded.domains, (d) => planDomain(d, this.#deps), {
      concurrency: this.#loaded.domains.length,
    });
    const status = statusRows(results, this.#loaded.domains, now);
    const problems: string[] = [];
    const domains: DomainSummary[] = [];
    for (const d of this.#loaded.domains) {
      const result = results.find((r) => r.domain === d.domain);
      const state = result?.state;
      const row = status.find((s) => s.domain === d.domain);
      const active = state?.keys.find((k) => k.status === 'active');
      const samples = await this.world.sample(d.domain).catch(() => [] as RegionSample[]);
      this.#mailChecks += samples.length;
      const previous = (state?.history ?? [])
        .filter((h) => h.from === 'active' && h.selector !== undefined)
        .map((h) => h.selector as string);
      const retired = previous.filter((s) =>
        state?.keys.some((k) => k.selector === s && k.status === 'retired' && k.destroyedAt !== undefined),
      );
      const ses = row?.ses ?? {};
      const canary = this.#canarySummary(d, state);
      // Where the key was swapped behind its back, byodkim leaves SES to a person: not checked here.
      const swapped = (region: string) => this.#swap?.domain === d.domain && this.#swap.region === region;
      const verified =
        samples.length === d.regions.length &&
        samples.every((s) => swapped(s.region) || (s.pass && s.selector === active?.selector));
      domains.push({
        domain: d.domain,
        role: ROLES[d.domain] ?? 'dns-automatic',
        ses,
        activeSelector: active?.selector ?? null,
        previousSelectors: previous,
        rotations: previous.length,
        retiredSelectors: retired,
        verified,
        samples,
        canary,
      });
      for (const [region, c] of Object.entries(canary)) {
        if (c.judged === 0) problems.push(`${d.domain}: no canary was judged in ${region}`);
        else if (c.lastSigned?.selector !== active?.selector)
          problems.push(
            `${d.domain}: real mail in ${region} was last signed with ${c.lastSigned?.selector ?? 'nothing'}, not the active ${active?.selector}`,
          );
      }
      for (const alarm of Object.keys(state?.alarms ?? {}).filter((a) => a.startsWith('Canary')))
        if (!swapped(alarm.split('@')[1] ?? ''))
          problems.push(`${d.domain}: canary alarm ${alarm} holds at the end`);
      for (const region of d.regions.filter((r) => swapped(r)))
        if (!Object.keys(state?.alarms ?? {}).some((a) => a.startsWith('Canary') && a.endsWith(`@${region}`)))
          problems.push(
            `${d.domain}: no canary alarm holds in ${region}, where SES signs with a key byodkim never made`,
          );
      for (const region of d.regions.filter((r) => !swapped(r)))
        if (ses[region] !== 'SUCCESS')
          problems.push(`${d.domain}: SES ${region} is ${ses[region] ?? 'unknown'}, not SUCCESS`);
      if (!verified) problems.push(`${d.domain}: the sample message does not verify in every region`);
      if (retired.length === 0)
        problems.push(`${d.domain}: no rotation completed (old selector not retired)`);
    }
    const outside = this.#mailFailures.filter((f) => !f.inGap && !f.afterSwap);
    if (outside.length > 0)
      problems.push(
        `${outside.length} moment(s) outside any switch gap at which mail would not have verified`,
      );
    const gaps = [...this.#gaps.values()];
    for (const gap of gaps.filter((g) => g.successSeenAt === null))
      problems.push(`${gap.domain}: the gap of the switch to ${gap.selector} in ${gap.region} never ended`);
    problems.push(
      ...canaryGapProblems(
        gaps,
        (gap) => this.#isOnboarding(gap),
        (domain) =>
          (this.#loaded.domains.find((d) => d.domain === domain)?.canary?.switchIntervalMs ?? 0) / 1000,
      ),
    );
    problems.push(...keySwapProblems(this.#swap));
    return {
      ok: problems.length === 0,
      problems,
      workDir: this.world.dir,
      kept: this.options.keep,
      configPath: this.world.configPath,
      virtualStart,
      virtualEnd: now.toISOString(),
      passes: this.#passes,
      mailChecks: this.#mailChecks,
      mailFailures: this.#mailFailures,
      gaps,
      keySwap: this.#swap,
      sesCalls: this.#sesCalls(),
      wallMs: Math.round(performance.now() - wallStart),
      domains,
      status,
      ...(this.#adopted ? { adopted: this.#adopted } : {}),
    };
  }
}

/**
 * The gap real mail saw, against the emulator's truth (SES signs from its first successful
 * check after the put, which it reports as LastSuccessTimestamp): never shorter than the
 * truth, and at most one canary interval longer. Rotations only: before the first key is
 * active SES refuses mail from the domain, so an onboarding has no canary in its gap.
 */
function canaryGapProblems(
  gaps: readonly SwitchGapRecord[],
  onboarding: (gap: SwitchGapRecord) => boolean,
  intervalSeconds: (domain: string) => number,
): string[] {
  const problems: string[] = [];
  for (const gap of gaps) {
    const where = `${gap.domain}: the switch to ${gap.selector} in ${gap.region}`;
    if (gap.canaryGapSeconds === undefined) {
      if (!onboarding(gap)) problems.push(`${where} was never measured by a canary`);
      continue;
    }
    if (!gap.sesVerifiedAt) continue;
    const truth = Math.round((Date.parse(gap.sesVerifiedAt) - Date.parse(gap.putAt)) / 1000);
    const interval = intervalSeconds(gap.domain);
    if (gap.canaryGapSeconds < truth || gap.canaryGapSeconds > truth + interval)
      problems.push(
        `${where}: the canary measured ${gap.canaryGapSeconds} s, SES signed from ${truth} s after the put (allowed: up to one canary interval, ${interval} s, more)`,
      );
  }
  return problems;
}

/** The swap behind byodkim's back must be caught by the very next canary from there, and repaired. */
function keySwapProblems(swap: KeySwapRecord | null): string[] {
  if (!swap) return ["the key was never swapped behind byodkim's back (the rotations did not complete)"];
  const where = `${swap.domain} in ${swap.region}: the key swapped behind byodkim's back at ${swap.swappedAt}`;
  if (!swap.firstCanaryAfter) return [`${where} was never followed by a canary`];
  if (!swap.alarm) return [`${where} raised no canary alarm`];
  const problems: string[] = [];
  if (swap.alarm.canaryId !== swap.firstCanaryAfter.id)
    problems.push(
      `${where} was alarmed by canary ${swap.alarm.canaryId}, not by the first canary after it (${swap.firstCanaryAfter.id})`,
    );
  if (!swap.needsPerson) problems.push(`${where}: byodkim never asked a person to look at SES`);
  if (swap.sesWritesAfter > 0)
    problems.push(`${where}: byodkim wrote to SES ${swap.sesWritesAfter} time(s) over a key it did not set`);
  return problems;
}

function duration(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.round((ms - days * DAY_MS) / HOUR_MS);
  if (days === 0) return `${hours} h`;
  return hours === 0 ? `${days} d` : `${days} d ${hours} h`;
}

function relative(base: string, path: string): string {
  return path.startsWith(`${base}/`) ? path.slice(base.length + 1) : path;
}
