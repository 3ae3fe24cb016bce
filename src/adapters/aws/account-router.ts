/**
 * SES across AWS accounts: one SigningService per account (each with its own credentials
 * and its own budget per region), and this router in front, so the engine keeps speaking to
 * one SigningService keyed by identity and region. Which account holds an identity is the
 * config's `domains[].account`; an identity it does not name is in the caller's own account.
 *
 * @example
 * const ses = new AccountSigningRouter({
 *   own: new SesSigningService({ clients, budget }),
 *   members: new Map([['brand-a', new SesSigningService({ clients: brandA, budget, account: 'brand-a' })]]),
 *   accountOf: new Map([['shop-a.example', 'brand-a']]),
 *   budget,
 * });
 */
import type { DkimPrivateKey } from '../../domain/key.js';
import type { ApiBudget, SesDkimView, SesHealthView, SesReadOptions, SigningService } from '../../ports.js';

export interface AccountSigningRouterOptions {
  /** SES in the caller's own account. */
  own: SigningService;
  /** SES in each member account, by its config name. */
  members: ReadonlyMap<string, SigningService>;
  /** Identity (lower case) → the member account holding it; absent: the caller's own. */
  accountOf: ReadonlyMap<string, string>;
  /** The budget every account's calls go through (one per process, keyed by account and region). */
  budget?: ApiBudget;
}

export class AccountSigningRouter implements SigningService {
  readonly budget?: ApiBudget;
  readonly readHealth?: (identity: string, region: string) => Promise<SesHealthView>;
  readonly #own: SigningService;
  readonly #members: ReadonlyMap<string, SigningService>;
  readonly #accountOf: ReadonlyMap<string, string>;

  constructor(options: AccountSigningRouterOptions) {
    this.#own = options.own;
    this.#members = options.members;
    this.#accountOf = options.accountOf;
    if (options.budget) this.budget = options.budget;
    const all = [options.own, ...options.members.values()];
    // Batched health reads only when every account can make them: gather aligns the fleet's
    // health reads on it, which would be wrong for an account that reads one by one.
    if (all.every((s) => s.readHealth !== undefined)) {
      this.readHealth = (identity, region) =>
        (this.#for(identity).readHealth as NonNullable<SigningService['readHealth']>)(identity, region);
    }
  }

  /** The SigningService of the account that holds `identity`. */
  #for(identity: string): SigningService {
    const account = this.#accountOf.get(identity.toLowerCase());
    if (account === undefined) return this.#own;
    const service = this.#members.get(account);
    // The config checks every domain's account exists; a miss here is a wiring bug.
    if (!service) throw new Error(`no SES service was built for account "${account}" (identity ${identity})`);
    return service;
  }

  describe(identity: string, region: string, options?: SesReadOptions): Promise<SesDkimView> {
    return this.#for(identity).describe(identity, region, options);
  }

  putExternalKey(identity: string, region: string, selector: string, key: DkimPrivateKey): Promise<void> {
    return this.#for(identity).putExternalKey(identity, region, selector, key);
  }

  setSigningEnabled(identity: string, region: string, enabled: boolean): Promise<void> {
    return this.#for(identity).setSigningEnabled(identity, region, enabled);
  }

  createIdentity(
    identity: string,
    region: string,
    signing?: { selector: string; key: DkimPrivateKey },
  ): Promise<void> {
    return this.#for(identity).createIdentity(identity, region, signing);
  }

  /** The caller's own account's identities (the port lists one account's; members are listed by their own services). */
  listIdentities(region: string): Promise<string[]> {
    return this.#own.listIdentities(region);
  }
}
