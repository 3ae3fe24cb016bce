import { type App, CfnCondition, CfnOutput, CfnParameter, Fn, type Stack } from 'aws-cdk-lib';
import { ByodkimMemberRole, DEFAULT_MEMBER_ROLE_NAME } from './member-role.js';
import { plainStack } from './templates.js';

/**
 * `templates/byodkim-member-role.yaml`: the ByodkimMemberRole as a plain template with
 * parameters only, for CloudFormation StackSets (one stack per member account, service-managed
 * permissions from AWS Organizations, or self-managed). Same construct as the CDK app.
 */
export function buildMemberRoleTemplateStack(app: App): Stack {
  const stack = plainStack(
    app,
    'ByodkimMemberRole',
    'byodkim: the role the central byodkim function assumes in this member account: SES BYODKIM on this account\'s identities only, trusted only by the central function\'s role with the external ID. Deploy with StackSets to every member account. Generated from infra/ by "npm run templates"; do not edit by hand.',
  );
  const centralRoleArn = new CfnParameter(stack, 'CentralRoleArn', {
    type: 'String',
    allowedPattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$',
    description:
      "ARN of the central byodkim function's role (ByodkimRotation.role.roleArn; aws lambda get-function-configuration --query Role): the only principal this role trusts.",
  });
  const externalId = new CfnParameter(stack, 'ExternalId', {
    type: 'String',
    allowedPattern: '^[\\w+=,.@:/-]{2,1224}$',
    description: 'The external ID the central config names for this account (accounts[].externalId).',
  });
  const roleName = new CfnParameter(stack, 'RoleName', {
    type: 'String',
    default: DEFAULT_MEMBER_ROLE_NAME,
    allowedPattern: '^[\\w+=,.@-]{1,64}$',
    description: 'Name of the role (the same in every account, so the central config can name each).',
  });
  const allowCreate = new CfnParameter(stack, 'AllowCreateIdentity', {
    type: 'String',
    default: 'false',
    allowedValues: ['false', 'true'],
    description: 'Let byodkim create missing SES identities (domains with createIdentity: true).',
  });
  const hostedZoneId = new CfnParameter(stack, 'HostedZoneId', {
    type: 'String',
    default: '',
    allowedPattern: '^(Z[A-Z0-9]{1,31})?$',
    description:
      "A Route 53 hosted zone in this account whose _domainkey TXT records byodkim changes (a zone's dns.account in the config). Empty: none.",
  });
  const canaryFrom = new CfnParameter(stack, 'CanaryFromAddress', {
    type: 'String',
    default: '',
    allowedPattern: '^([^\\s@]+@[^\\s@]+)?$',
    description:
      "Let the signing canary send from this account's identities, only as this address (wildcards allowed; byodkim's default sender is byodkim-canary@<domain>, so byodkim-canary@*). Empty: no sending.",
  });
  const member = new ByodkimMemberRole(stack, 'Member', {
    centralRoleArn: centralRoleArn.valueAsString,
    externalId: externalId.valueAsString,
    roleName: roleName.valueAsString,
    createIdentity: true,
    createIdentityCondition: new CfnCondition(stack, 'CreatesIdentities', {
      expression: Fn.conditionEquals(allowCreate.valueAsString, 'true'),
    }),
    hostedZoneIds: [hostedZoneId.valueAsString],
    hostedZoneCondition: new CfnCondition(stack, 'HasHostedZone', {
      expression: Fn.conditionNot(Fn.conditionEquals(hostedZoneId.valueAsString, '')),
    }),
    canaryFromAddresses: [canaryFrom.valueAsString],
    canaryCondition: new CfnCondition(stack, 'SendsCanaries', {
      expression: Fn.conditionNot(Fn.conditionEquals(canaryFrom.valueAsString, '')),
    }),
  });
  new CfnOutput(stack, 'RoleArn', {
    value: member.role.roleArn,
    description: 'Name this in the central config: accounts[].roleArn.',
  });
  return stack;
}
