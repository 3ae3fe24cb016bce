/**
 * The AWS account a domain's SES identity lives in, as byodkim names it: an `accounts[].name`
 * of the config, or {@link OWN_ACCOUNT} for the caller's own account (the credentials byodkim
 * runs with). SES's budget and quotas are per account and region, so this name keys the
 * budget, and labels status rows, metrics and the Lambda event's `account`.
 */

/** The caller's own account. Reserved: no `accounts[]` entry may take the name. */
export const OWN_ACCOUNT = 'own';

/** The label of a domain's account: its configured name, or {@link OWN_ACCOUNT}. */
export function accountLabel(account: string | undefined): string {
  return account ?? OWN_ACCOUNT;
}
