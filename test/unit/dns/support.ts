import { EmbeddedDnsServer, type EmbeddedDnsServerOptions } from '../../../emulator/dns/server.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';

/**
 * Embedded servers on several loopback addresses sharing ONE port, so that nameserver
 * discovery (which asks every discovered address on the same port, `defaultPort`) can
 * reach each of them. Retries with a new port if another address has it taken.
 */
export async function startServersOnOnePort(
  hosts: readonly string[],
  options: (host: string, index: number) => EmbeddedDnsServerOptions = () => ({}),
): Promise<EmbeddedDnsServer[]> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const started: EmbeddedDnsServer[] = [];
    try {
      const first = await EmbeddedDnsServer.start({
        ...options(hosts[0] as string, 0),
        host: hosts[0] as string,
      });
      started.push(first);
      for (const [index, host] of hosts.entries()) {
        if (index === 0) continue;
        started.push(await EmbeddedDnsServer.start({ ...options(host, index), host, port: first.port }));
      }
      return started;
    } catch (error) {
      lastError = error;
      await Promise.all(started.map((s) => s.stop()));
    }
  }
  throw lastError;
}

export function newStore(): ZoneStore {
  return new ZoneStore();
}

export function dkim(publicKey: string): string {
  return `v=DKIM1; k=rsa; p=${publicKey}`;
}
