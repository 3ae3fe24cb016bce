/**
 * `byodkim verify-dns --domain D [--selector S...]`: phase 5 by hand. Asks every
 * authoritative nameserver what it serves for the domain's selectors and says whether
 * DNS is where byodkim needs it.
 *
 * Exit codes: 0 every selector is as expected everywhere, 3 not yet (propagating, or a
 * server is failing), 2 bad input.
 */
import type { Command } from 'commander';
import { buildStores } from '../../config/compose.js';
import { buildProbe } from '../../config/dns.js';
import { findDomain } from '../../config/load.js';
import { delegationCnames } from '../../domain/delegation.js';
import { dnsDutyOf } from '../../domain/dns-duty.js';
import { dkimRecordName } from '../../domain/record.js';
import { isValidSelector } from '../../domain/selector.js';
import type { KeyEntry, KeyStatus } from '../../domain/state.js';
import { ExitCode, InputError } from '../../errors.js';
import type { ProbeResult } from '../../ports.js';
import { cliClock, type GlobalOptions, loadCliConfig } from '../context.js';
import { printJson, renderTable } from '../render.js';

/**
 * What "propagated" means for a selector:
 * - `key`: every nameserver serves the expected public key;
 * - `gone`: the record is removed everywhere (retired keys);
 * - `revoked`: every nameserver serves the empty `p=` (or nothing any more);
 * - `report`: byodkim knows no key for the selector (not in state): every nameserver
 *   serves one and the same valid key record.
 */
type Expectation = 'key' | 'gone' | 'revoked' | 'report';

interface Target {
  selector: string;
  name: string;
  status: KeyStatus | undefined;
  expect: Expectation;
  publicKey: string | undefined;
}

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const clock = cliClock(global);
  const loaded = await loadCliConfig(global);
  const domain = findDomain(loaded, String(options.domain), '--domain');
  const requested = selectorOption(options.selector);
  const { state: store } = await buildStores(loaded, clock);
  const keys = (await store.load(domain.domain))?.value.keys ?? [];

  // By default, every record DNS must do something about now (dns-duty.ts), as dns-records lists them.
  const targets =
    requested === undefined
      ? keys.filter((k) => dnsDutyOf(k) !== undefined).map((k) => targetFor(domain.domain, k.selector, k))
      : requested.map((s) =>
          targetFor(
            domain.domain,
            s,
            keys.find((k) => k.selector === s),
          ),
        );
  const probe = buildProbe(loaded.config);
  // Delegated selectors: the mail domain must CNAME every ring name to the delegated zone.
  const cnames = domain.delegation
    ? await Promise.all(
        delegationCnames(domain.domain, domain.selectorPrefix, domain.delegation).map(async (c) => {
          const result = await probe.probe(c.name, undefined);
          const seen = result.answers.map((a) => ({
            nameserver: a.nameserver,
            cname: a.cnames?.[0] ?? null,
          }));
          const ok =
            seen.length > 0 && seen.every((a) => a.cname?.replace(/\.$/, '').toLowerCase() === c.target);
          return { ...c, ok, seen };
        }),
      )
    : [];
  if (targets.length === 0 && cnames.length === 0) {
    throw new InputError(
      'NOTHING_TO_VERIFY',
      `${domain.domain} has no record DNS must add, keep or remove (per ${store.description}); name a selector with --selector`,
      { context: { domain: domain.domain } },
    );
  }

  const results = await Promise.all(targets.map((t) => probe.probe(t.name, t.publicKey)));
  const verdicts = targets.map((target, i) => {
    const result = results[i] as ProbeResult;
    return { target, result, ...judge(target.expect, result) };
  });
  const allSettled = verdicts.every((v) => v.propagated) && cnames.every((c) => c.ok);

  if (global.output === 'json') {
    printJson({
      domain: domain.domain,
      propagated: allSettled,
      ...(cnames.length > 0 ? { delegationCnames: cnames } : {}),
      selectors: verdicts.map((v) => ({
        selector: v.target.selector,
        name: v.target.name,
        status: v.target.status ?? null,
        expect: v.target.expect,
        propagated: v.propagated,
        summary: v.summary,
        answers: v.result.answers,
      })),
    });
  } else {
    const rows = verdicts.flatMap((v) =>
      v.result.answers.map((a) => [
        v.target.selector,
        a.nameserver,
        a.address,
        a.outcome,
        [a.cnames && a.cnames.length > 0 ? `via ${a.cnames.join(' → ')}` : '', a.detail ?? '']
          .filter(Boolean)
          .join('; '),
      ]),
    );
    process.stdout.write(
      `${renderTable(['selector', 'nameserver', 'address', 'outcome', 'detail'], rows)}\n\n`,
    );
    for (const v of verdicts) {
      process.stdout.write(
        `${v.target.selector}: ${v.propagated ? 'propagated' : 'not yet'}: ${v.summary}\n`,
      );
    }
    for (const c of cnames) {
      const wrong = c.seen.filter((a) => a.cname?.replace(/\.$/, '').toLowerCase() !== c.target);
      process.stdout.write(
        c.ok
          ? `CNAME ${c.name} → ${c.target}: in place on every nameserver\n`
          : `CNAME ${c.name} → ${c.target}: MISSING (add "${c.name}. CNAME ${c.target}."): ${wrong.map((a) => `${a.nameserver} has ${a.cname ?? 'no CNAME'}`).join(', ')}\n`,
      );
    }
  }
  return allSettled ? ExitCode.ok : ExitCode.waiting;
}

function selectorOption(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const selectors = [value].flat().map(String);
  for (const selector of selectors) {
    if (!isValidSelector(selector)) {
      throw new InputError(
        'SELECTOR_INVALID',
        `--selector: "${selector}" is not a valid selector (letters, digits and inner hyphens, up to 63 characters)`,
        { context: { selector } },
      );
    }
  }
  return selectors;
}

function targetFor(domain: string, selector: string, entry: KeyEntry | undefined): Target {
  const name = dkimRecordName(selector, domain);
  if (entry === undefined)
    return { selector, name, status: undefined, expect: 'report', publicKey: undefined };
  const duty = dnsDutyOf(entry);
  const expect: Expectation =
    duty === undefined || duty.action === 'remove' ? 'gone' : duty.revoked ? 'revoked' : 'key';
  return {
    selector,
    name,
    status: entry.status,
    expect,
    publicKey: expect === 'key' ? entry.publicKey : undefined,
  };
}

function judge(expect: Expectation, result: ProbeResult): { propagated: boolean; summary: string } {
  const answers = result.answers;
  const total = answers.length;
  const lagging = (ok: (outcome: string) => boolean): string =>
    answers
      .filter((a) => !ok(a.outcome))
      .map(
        (a) =>
          `${a.nameserver}${a.address && a.address !== a.nameserver ? ` (${a.address})` : ''} ${a.outcome}`,
      )
      .join(', ');
  const check = (
    ok: (outcome: string) => boolean,
    what: string,
  ): { propagated: boolean; summary: string } => {
    const good = answers.filter((a) => ok(a.outcome)).length;
    return total > 0 && good === total
      ? { propagated: true, summary: `${good}/${total} nameservers ${what}` }
      : {
          propagated: false,
          summary: `${good}/${total} nameservers ${what}; waiting on ${lagging(ok) || 'none'}`,
        };
  };
  switch (expect) {
    case 'key':
      return check((o) => o === 'match', 'serve the expected key');
    case 'gone':
      return check((o) => o === 'missing', 'no longer serve the record');
    case 'revoked':
      return check((o) => o === 'revoked' || o === 'missing', 'serve the revocation (empty p=) or nothing');
    case 'report': {
      const served = new Set(answers.map((a) => JSON.stringify([...a.served].sort())));
      const uniform = answers.every((a) => a.outcome === 'other-key') && served.size === 1;
      const result = check(
        (o) => o === 'other-key',
        'serve a valid key record (no expected key: selector not in state)',
      );
      if (result.propagated && !uniform) {
        return { propagated: false, summary: `${result.summary}, but not the same record everywhere` };
      }
      return result;
    }
  }
}
