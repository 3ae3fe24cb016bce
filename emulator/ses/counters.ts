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

/** One API request as admitted (SPEC.md §10): in arrival order, with what admission made of it. */
export interface RequestRecord {
  readonly operation: string;
  /** Undefined when the account lookup failed. */
  readonly account: string | undefined;
  readonly region: string;
  readonly admitted: 'accepted' | 'throttled' | 'faulted' | 'no-account';
}

/** How many requests the log keeps: the most recent ones (a benchmark's millions must not grow it without bound). */
export const REQUEST_LOG_LIMIT = 10_000;

/** The most recent requests, in arrival order (SPEC.md §10). */
export class RequestLog {
  #records: RequestRecord[] = [];

  add(record: RequestRecord): void {
    this.#records.push(record);
    if (this.#records.length > REQUEST_LOG_LIMIT)
      this.#records.splice(0, this.#records.length - REQUEST_LOG_LIMIT);
  }

  list(account?: string): RequestRecord[] {
    return account === undefined ? [...this.#records] : this.#records.filter((r) => r.account === account);
  }

  clear(): void {
    this.#records = [];
  }
}
