import {
  aws_events as events,
  aws_iam as iam,
  type aws_lambda as lambda,
  aws_events_targets as targets,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * Fleets past one AWS account in the deployment (config `accounts[]`): one EventBridge rule
 * per account, each starting its own invocation of the function with `"account"` in its
 * input, and `sts:AssumeRole` on exactly the member roles.
 *
 * Why a rule per account and not a Step Functions Map over the accounts: every invocation is
 * independent — its own execution environment, its own time limit and deadline, its own SES
 * budget for that account — so one account's slow or failing run never delays another's,
 * and nothing but EventBridge and Lambda is involved (no state machine to pay for, watch or
 * fail). A Map with bounded concurrency would queue accounts behind a slow one, and its
 * execution would end only when the slowest account does; with concurrency unbounded it
 * would add nothing rules do not already give. The function's reserved concurrency must then
 * let every account's run start at once (the default is one slot per schedule).
 */

/** One member account, as in the config's `accounts[]`. */
export interface ByodkimAccount {
  /** `accounts[].name`: lower-case letters, digits and inner hyphens, 1–64; not `own`. */
  readonly name: string;
  /** The member role to assume (`arn:aws:iam::<account>:role/<name>`, e.g. a ByodkimMemberRole). */
  readonly roleArn: string;
  /** The external ID the member role's trust policy requires. */
  readonly externalId: string;
  /** Regions of this account's domains that list none. */
  readonly regions?: string[];
}

/** The name the config gives the caller's own account (src/domain/account.ts). */
export const OWN_ACCOUNT = 'own';

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
/** EventBridge's default quota of rules per event bus (adjustable), less room for the construct's own two. */
const MAX_ACCOUNT_RULES = 298;

/** Refuses an account list the function would refuse at run time, at synth time instead. */
export function checkAccounts(
  accounts: readonly ByodkimAccount[],
  domains: readonly { domain: string; account?: string }[],
): void {
  const names = new Set<string>();
  const ids = new Set<string>();
  for (const [i, a] of accounts.entries()) {
    if (!NAME.test(a.name) || a.name === OWN_ACCOUNT)
      throw new Error(
        `ByodkimRotation: accounts[${i}].name "${a.name}" is not an account name (lower-case letters, digits, inner hyphens; not "${OWN_ACCOUNT}")`,
      );
    if (names.has(a.name))
      throw new Error(`ByodkimRotation: accounts[${i}].name "${a.name}" is listed twice`);
    names.add(a.name);
    const id = ROLE_ARN.exec(a.roleArn)?.[2];
    if (id === undefined)
      throw new Error(`ByodkimRotation: accounts[${i}].roleArn "${a.roleArn}" is not an IAM role ARN`);
    if (ids.has(id))
      throw new Error(
        `ByodkimRotation: accounts[${i}].roleArn "${a.roleArn}": account ${id} is listed twice (it would get two SES budgets)`,
      );
    ids.add(id);
  }
  if (accounts.length > MAX_ACCOUNT_RULES)
    throw new Error(
      `ByodkimRotation: ${accounts.length} accounts need more EventBridge rules than an event bus allows by default (${MAX_ACCOUNT_RULES + 2})`,
    );
  for (const [i, d] of domains.entries()) {
    if (d.account !== undefined && !names.has(d.account))
      throw new Error(`ByodkimRotation: domains[${i}].account "${d.account}" is not in accounts`);
  }
}

/** The function may assume exactly the member roles, nothing else in those accounts. */
export function grantAssumeMemberRoles(role: iam.IRole, accounts: readonly ByodkimAccount[]): void {
  if (accounts.length === 0) return;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'AssumeMemberRoles',
      actions: ['sts:AssumeRole'],
      resources: accounts.map((a) => a.roleArn),
    }),
  );
}

/** The input of one account's scheduled run (`own`: the domains that name no account). */
export function accountRunInput(account: string): { action: 'phase_manager'; account: string } {
  return { action: 'phase_manager', account };
}

/** One schedule per member account, each starting its own invocation of `fn`. */
export function scheduleAccounts(
  scope: Construct,
  fn: lambda.IFunction,
  accounts: readonly ByodkimAccount[],
  schedule: events.Schedule,
): events.Rule[] {
  return accounts.map(
    (account) =>
      new events.Rule(scope, `Schedule-${account.name}`, {
        description: `byodkim: reconcile the domains of account ${account.name}`,
        schedule,
        targets: [
          new targets.LambdaFunction(fn, {
            event: events.RuleTargetInput.fromObject(accountRunInput(account.name)),
            retryAttempts: 2,
          }),
        ],
      }),
  );
}

/**
 * Reserved concurrency for a fleet: one slot per scheduled run (the caller's own account's
 * and each member account's), so every run starts when its schedule fires. Fewer would queue
 * one account's run behind another's.
 */
export function fleetConcurrency(accounts: readonly ByodkimAccount[], requested: number | undefined): number {
  const runs = accounts.length + 1;
  if (requested === undefined) return accounts.length === 0 ? 1 : runs;
  if (accounts.length > 0 && requested < runs)
    throw new Error(
      `ByodkimRotation: reservedConcurrentExecutions ${requested} is fewer than the ${runs} scheduled runs (own account and ${accounts.length} member accounts): one account's run would wait for another's`,
    );
  return requested;
}
