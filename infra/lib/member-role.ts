import { Aws, type CfnCondition, aws_iam as iam, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CANARY_SEND_ACTIONS } from './canary-iam.js';
import { nagResource } from './nag.js';
import { dkimRecordStatements } from './route53-iam.js';

/**
 * The role byodkim assumes in a member account (config `accounts[]`), least privilege: SES
 * BYODKIM on that account's identities, nothing else — no key bucket, no state, no KMS: keys
 * and state stay in the central account, and a private key reaches this account only inside
 * the SES put. Trusted by the central function's role alone, and only with the external ID.
 *
 * The SES actions are the ones byodkim's SES adapter calls (src/adapters/aws/ses.ts and
 * health.ts; an infra test checks the two lists agree):
 *
 *   GetEmailIdentity                        read DKIM status, origin, selector (v2)
 *   PutEmailIdentityDkimSigningAttributes   hand SES the key (EXTERNAL, selector)
 *   PutEmailIdentityDkimAttributes          turn signing on
 *   GetIdentityDkimAttributes               the batched health read (v1, 100 identities a call)
 *   CreateEmailIdentity                     only with `createIdentity`
 *   SendEmail (authorized as SendEmail or SendRawEmail)  only with `canaryFromAddresses`:
 *                                           the signing canary, only from those addresses
 *
 * All but GetIdentityDkimAttributes are scoped to `arn:<partition>:ses:<region>:<this
 * account>:identity/*`; that v1 action supports no resource type (IAM's service authorization
 * reference), so it takes `*`, limited to the regions by `aws:RequestedRegion` when regions
 * are given. It reads DKIM attributes only.
 *
 * @example
 * // In each member account (or as a StackSet: templates/byodkim-member-role.yaml):
 * new ByodkimMemberRole(stack, 'Member', {
 *   centralRoleArn: 'arn:aws:iam::123456789012:role/Byodkim-RotationRole1234-ABCD',
 *   externalId: 'byodkim-7c1e4f',
 *   regions: ['us-east-1', 'eu-west-1'],
 * });
 */
export interface ByodkimMemberRoleProps {
  /** The central function's role (`ByodkimRotation.role.roleArn`): the only principal trusted. */
  readonly centralRoleArn: string;
  /** The external ID the central config names for this account (`accounts[].externalId`). */
  readonly externalId: string;
  /** Default `byodkim-member`: the same name in every account, so the central config can name each role. */
  readonly roleName?: string;
  /** SES regions byodkim may act in. Default: every region (`*`). */
  readonly regions?: readonly string[];
  /** Let byodkim create missing identities (`createIdentity: true` domains). Default false. */
  readonly createIdentity?: boolean;
  /**
   * Let the signing canary send from this account's identities, only as these addresses
   * (`ses:FromAddress`, wildcards allowed, e.g. `byodkim-canary@*`, the default sender's
   * form). Default: no sending.
   */
  readonly canaryFromAddresses?: readonly string[];
  /**
   * Route 53 hosted zones in this account whose `_domainkey` TXT records byodkim changes (a
   * zone's `dns.account` in the config). Default none.
   */
  readonly hostedZoneIds?: readonly string[];
  /** Grant `createIdentity` only when this holds (the plain template's parameter). */
  readonly createIdentityCondition?: CfnCondition;
  /** Grant `hostedZoneIds` only when this holds (the plain template's parameter). */
  readonly hostedZoneCondition?: CfnCondition;
  /** Grant `canaryFromAddresses` only when this holds (the plain template's parameter). */
  readonly canaryCondition?: CfnCondition;
}

/** The SES actions on identities byodkim needs in a member account, whatever the options. */
export const MEMBER_SES_IDENTITY_ACTIONS = [
  'ses:GetEmailIdentity',
  'ses:PutEmailIdentityDkimSigningAttributes',
  'ses:PutEmailIdentityDkimAttributes',
] as const;
/** SES v1's batched DKIM read: no resource-level permissions exist for it. */
export const MEMBER_SES_BATCH_READ_ACTION = 'ses:GetIdentityDkimAttributes';
export const DEFAULT_MEMBER_ROLE_NAME = 'byodkim-member';

export class ByodkimMemberRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ByodkimMemberRoleProps) {
    super(scope, id);
    const regions = props.regions && props.regions.length > 0 ? [...props.regions] : ['*'];
    const identities = regions.map(
      (region) => `arn:${Aws.PARTITION}:ses:${region}:${Aws.ACCOUNT_ID}:identity/*`,
    );
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName ?? DEFAULT_MEMBER_ROLE_NAME,
      description:
        "byodkim: DKIM signing keys of this account's SES identities, for the central byodkim function",
      assumedBy: new iam.ArnPrincipal(props.centralRoleArn).withConditions({
        StringEquals: { 'sts:ExternalId': props.externalId },
      }),
      inlinePolicies: {
        ByodkimSes: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'ManageDkimOfThisAccountsIdentities',
              actions: [...MEMBER_SES_IDENTITY_ACTIONS],
              resources: identities,
            }),
            new iam.PolicyStatement({
              sid: 'ReadDkimInBatches',
              actions: [MEMBER_SES_BATCH_READ_ACTION],
              resources: ['*'],
              ...(regions[0] === '*'
                ? {}
                : { conditions: { StringEquals: { 'aws:RequestedRegion': regions } } }),
            }),
          ],
        }),
      },
    });
    // Options are policies of their own, so a template parameter can switch each on.
    const option = (id: string, statements: iam.PolicyStatement[], condition?: CfnCondition): void => {
      const policy = new iam.Policy(this, id, { roles: [this.role], statements });
      if (condition) (policy.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = condition;
    };
    if (props.createIdentity) {
      option(
        'CreateIdentities',
        [
          new iam.PolicyStatement({
            sid: 'CreateIdentities',
            actions: ['ses:CreateEmailIdentity'],
            resources: identities,
          }),
        ],
        props.createIdentityCondition,
      );
    }
    const canaryFrom = props.canaryFromAddresses ?? [];
    if (canaryFrom.length > 0) {
      option(
        'SendCanaries',
        [
          new iam.PolicyStatement({
            sid: 'SendOnlyAsTheCanary',
            actions: CANARY_SEND_ACTIONS,
            resources: identities,
            conditions: { StringLike: { 'ses:FromAddress': [...canaryFrom] } },
          }),
        ],
        props.canaryCondition,
      );
    }
    const zones = props.hostedZoneIds ?? [];
    if (zones.length > 0) {
      option('Route53', dkimRecordStatements(zones), props.hostedZoneCondition);
    }
    acknowledgeWildcards(this, identities, zones.length > 0);
  }
}

/**
 * The wildcards cdk-nag's AwsSolutions-IAM5 reports, each with its reason: SES identities are
 * named by domain and the account's domains come and go; the v1 batch read has no resource
 * type; Route 53 change ids are generated per change.
 */
function acknowledgeWildcards(scope: Construct, identities: readonly string[], route53: boolean): void {
  const stack = Stack.of(scope);
  for (const arn of identities) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(stack, arn)}]`,
      reason:
        "The account's SES identities: byodkim manages the DKIM key of each configured domain in this account, and the list changes without a redeploy here. Only DKIM actions are allowed on them.",
    });
  }
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'ses:GetIdentityDkimAttributes (SES v1, up to 100 identities per call) supports no resource type; it only reads DKIM attributes.',
  });
  if (route53) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(stack, `arn:${Aws.PARTITION}:route53:::change/*`)}]`,
      reason:
        'Route 53 change ids are generated per ChangeResourceRecordSets call; GetChange only reads their status.',
    });
  }
}
