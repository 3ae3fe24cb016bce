/** Request counters (SPEC.md §10): over all accounts, and per account with the same keys. */
export class Counters {
  #total = new Map<string, number>();
  #byAccount = new Map<string, Map<string, number>>();

  /** `account` undefined: a request whose account is unknown counts in the totals only. */
  add(key: string, account: string | undefined): void {
    bump(this.#total, key);
    if (account === undefined) return;
    let counts = this.#byAccount.get(account);
    if (counts === undefined) {
      counts = new Map();
      this.#byAccount.set(account, counts);
    }
    bump(counts, key);
  }

  snapshot(account?: string): Record<string, number> {
    const counts = account === undefined ? this.#total : (this.#byAccount.get(account) ?? new Map());
    return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  clear(): void {
    this.#total = new Map();
    this.#byAccount = new Map();
  }
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
