import { Resolver } from 'node:dns/promises';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

export interface SampleVerdict {
  /** True when a DKIM signature of `domain` verifies against the DNS server. */
  pass: boolean;
  selector?: string;
  /** Every signature mailauth saw, with its result. */
  signatures: Array<{ domain: string; selector: string; result: string }>;
}

/**
 * Verifies a signed sample message with mailauth, resolving DKIM keys on the given DNS
 * server, as a receiving mail server would. Used by tests and the sandbox to prove that
 * mail verifies at every moment of a rotation.
 */
export async function verifySample(
  message: string,
  domain: string,
  dns: { host: string; port: number },
  now: Date,
): Promise<SampleVerdict> {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`${dns.host}:${dns.port}`]);
  // Act as a recursive resolver would over an authoritative server: follow CNAMEs that
  // leave the zone (delegated selectors), which the server itself does not chase.
  const resolveTxt = async (name: string): Promise<string[][]> => {
    let current = name;
    for (let hop = 0; hop < 8; hop++) {
      const records = await resolver.resolveTxt(current).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENODATA') return [];
        throw error;
      });
      if (records.length > 0) return records;
      const [target] = await resolver.resolveCname(current).catch(() => [] as string[]);
      if (target === undefined) break;
      current = target;
    }
    throw Object.assign(new Error(`no TXT at ${name}`), { code: 'ENOTFOUND' });
  };
  const result = await dkimVerify(message, {
    resolver: (name: string, type: string) =>
      type === 'TXT' ? resolveTxt(name) : (resolver.resolve(name, type) as Promise<string[][]>),
    curTime: now,
  });
  const signatures = result.results.map((entry) => ({
    domain: String(entry.signingDomain ?? ''),
    selector: String(entry.selector ?? ''),
    result: String(entry.status?.result ?? 'none'),
  }));
  const passing = signatures.find((s) => s.domain === domain && s.result === 'pass');
  return passing ? { pass: true, selector: passing.selector, signatures } : { pass: false, signatures };
}
