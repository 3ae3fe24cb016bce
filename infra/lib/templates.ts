import {
  type App,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  CfnRule,
  DefaultStackSynthesizer,
  aws_events as events,
  Fn,
  aws_lambda as lambda,
  Stack,
  type StackProps,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  Validations,
} from 'aws-cdk-lib';
import { ByodkimRotation } from './byodkim-rotation.js';
import { ByodkimSesIdentities } from './ses-identities.js';

/**
 * The plain CloudFormation templates (`templates/*.yaml`), built from the same constructs as
 * the CDK app. Everything a user chooses is a CfnParameter; the function code comes from an
 * S3 bucket/key parameter, so the templates need neither CDK nor its bootstrap stack.
 */

export const TEMPLATE_FILES = {
  lambda: 'dkim-manager-lambda.yaml',
  ses: 'ses-configuration.yaml',
  memberRole: 'byodkim-member-role.yaml',
} as const;

const SES_REGION_PATTERN = '^[a-z]{2}(-[a-z]+)+-\\d$';
const DOMAIN_LIST_PATTERN = '^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$';

/** Stacks whose templates use no assets and no bootstrap: parameters only. */
export function plainStack(app: App, id: string, description: string, props: StackProps = {}): Stack {
  return new Stack(app, id, {
    ...props,
    description,
    analyticsReporting: false,
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
}

/** `dkim-manager-lambda.yaml`: the function, its bucket, state, topic, rules and alarms. */
export function buildLambdaTemplateStack(app: App): Stack {
  const stack = plainStack(
    app,
    'DkimManagerLambda',
    'byodkim: DKIM key lifecycle for Amazon SES BYODKIM (function, key bucket, state, rules, alarms). Generated from infra/ by "npm run templates"; do not edit by hand.',
  );
  const domains = new CfnParameter(stack, 'Domains', {
    type: 'CommaDelimitedList',
    description: 'Mail domains (SES identities) whose DKIM keys are managed, comma-separated (at most 100).',
    allowedPattern: DOMAIN_LIST_PATTERN,
  });
  const regions = new CfnParameter(stack, 'Regions', {
    type: 'CommaDelimitedList',
    description:
      'SES regions where every listed domain signs mail, comma-separated (e.g. ap-northeast-1,us-east-1).',
  });
  const validity = new CfnParameter(stack, 'CertificateValidityDays', {
    type: 'Number',
    default: 365,
    minValue: 2,
    maxValue: 3650,
    description: 'How long a DKIM key is used before it is replaced (days).',
  });
  const renewBefore = new CfnParameter(stack, 'RenewBeforeDays', {
    type: 'Number',
    default: 30,
    minValue: 1,
    description: 'Rotation starts this many days before a key reaches the end of its validity.',
  });
  const bucketName = new CfnParameter(stack, 'DKIMCertificatesBucketName', {
    type: 'String',
    allowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    description: 'Name of the S3 bucket created for the DKIM private keys (SSE-KMS, versioned, private).',
  });
  const hostedZoneId = new CfnParameter(stack, 'HostedZoneId', {
    type: 'String',
    default: '',
    allowedPattern: '^(Z[A-Z0-9]{1,31})?$',
    description:
      'Route 53 hosted zone that byodkim may write _domainkey TXT records to. Empty: records are handed to your DNS team (SNS notification).',
  });
  const sesStackName = new CfnParameter(stack, 'SesConfigurationStackName', {
    type: 'String',
    default: 'byodkim-ses-configuration',
    description:
      'Stack of ses-configuration.yaml: its CREATE_COMPLETE/UPDATE_COMPLETE starts a phase_manager run.',
  });
  const codeBucket = new CfnParameter(stack, 'CodeBucket', {
    type: 'String',
    description: 'S3 bucket holding the function bundle zip (in this region).',
  });
  const codeKey = new CfnParameter(stack, 'CodeKey', {
    type: 'String',
    default: 'byodkim/lambda.zip',
    description: 'Object key of the function bundle zip (index.mjs exporting handler).',
  });
  const schedule = new CfnParameter(stack, 'ScheduleExpression', {
    type: 'String',
    default: 'rate(1 hour)',
    description: 'How often every domain is reconciled (EventBridge schedule expression).',
  });
  const canaryAddress = new CfnParameter(stack, 'CanaryAddress', {
    type: 'String',
    default: '',
    allowedPattern: '^([^@\\s]+@[^@\\s]+\\.[^@\\s]+)?$',
    description:
      "Signing canary: the address its mail goes to (e.g. canary@canary.example.com). Without an IMAP host, SES receiving in this stack's Region stores it in a private SSE-KMS bucket; the domain must be verified in SES here, and the receipt rule set activated once. Empty: no canary.",
  });
  const imapHost = new CfnParameter(stack, 'CanaryImapHost', {
    type: 'String',
    default: '',
    allowedPattern: '^[A-Za-z0-9.-]*$',
    description:
      'Signing canary over IMAP: the host of a mailbox the canary address already delivers to (TLS on port 993). Empty: the SES receiving inbox above.',
  });
  const imapUser = new CfnParameter(stack, 'CanaryImapUser', {
    type: 'String',
    default: '',
    description: 'Signing canary over IMAP: the mailbox user.',
  });
  const imapSecretName = new CfnParameter(stack, 'CanaryImapSecretName', {
    type: 'String',
    default: '',
    allowedPattern: '^[A-Za-z0-9/_+=.@-]*$',
    description:
      'Signing canary over IMAP: the name of the Secrets Manager secret (in this account and Region) holding the mailbox password, as its whole string or a "password" field. The function may read this secret only.',
  });
  const canaryZoneId = new CfnParameter(stack, 'CanaryHostedZoneId', {
    type: 'String',
    default: '',
    allowedPattern: '^(Z[A-Z0-9]{1,31})?$',
    description:
      "Route 53 hosted zone of the canary address's domain (SES receiving inbox): its MX record (inbound-smtp.<region>.amazonaws.com) is created there. Empty: publish the MX record yourself.",
  });
  const hasZone = new CfnCondition(stack, 'HasHostedZone', {
    expression: Fn.conditionNot(Fn.conditionEquals(hostedZoneId.valueAsString, '')),
  });
  // Parameters only, no condition references: a deploy-time rule repeats these expressions.
  const given = (p: CfnParameter) => Fn.conditionNot(Fn.conditionEquals(p.valueAsString, ''));
  const hasCanary = new CfnCondition(stack, 'HasCanary', { expression: given(canaryAddress) });
  const imapChosen = Fn.conditionAnd(given(canaryAddress), given(imapHost));
  const hasCanaryImap = new CfnCondition(stack, 'HasCanaryImap', { expression: imapChosen });
  const inboxChosen = Fn.conditionAnd(given(canaryAddress), Fn.conditionEquals(imapHost.valueAsString, ''));
  const hasCanaryInbox = new CfnCondition(stack, 'HasCanaryInbox', { expression: inboxChosen });
  const hasCanaryZone = new CfnCondition(stack, 'HasCanaryZone', {
    expression: Fn.conditionAnd(inboxChosen, given(canaryZoneId)),
  });
  new CfnRule(stack, 'CanaryImapComplete', {
    ruleCondition: imapChosen,
    assertions: [
      {
        assert: Fn.conditionAnd(given(imapUser), given(imapSecretName)),
        assertDescription:
          'A canary read over IMAP needs CanaryImapUser and CanaryImapSecretName as well as CanaryImapHost.',
      },
    ],
  });
  const dns = Fn.conditionIf(
    hasZone.logicalId,
    Fn.join('', ['{"provider": "route53", "hostedZoneId": "', hostedZoneId.valueAsString, '"}']),
    '{"provider": "manual", "outDir": "/tmp/dns-requests"}',
  ).toString();

  const rotation = new ByodkimRotation(stack, 'Rotation', {
    domains: { names: domains.valueAsList, regions: regions.valueAsList },
    config: {},
    bucketName: bucketName.valueAsString,
    code: lambda.Code.fromBucket(
      s3.Bucket.fromBucketName(stack, 'CodeBucketRef', codeBucket.valueAsString),
      codeKey.valueAsString,
    ),
    schedule: events.Schedule.expression(schedule.valueAsString),
    triggerStackNames: [stack.stackName, sesStackName.valueAsString],
    rawConfig: {
      policy: `{"validityDays": ${validity.valueAsString}, "renewBeforeDays": ${renewBefore.valueAsString}}`,
      dns,
    },
    hostedZoneIds: [hostedZoneId.valueAsString],
    hostedZoneCondition: hasZone,
    canary: {
      to: canaryAddress.valueAsString,
      hostedZoneId: canaryZoneId.valueAsString,
      imap: {
        host: imapHost.valueAsString,
        user: imapUser.valueAsString,
        passwordSecret: secretsmanager.Secret.fromSecretNameV2(
          stack,
          'CanaryImapSecretRef',
          imapSecretName.valueAsString,
        ),
      },
    },
    canaryCondition: hasCanary,
    canaryInboxCondition: hasCanaryInbox,
    canaryImapCondition: hasCanaryImap,
    canaryZoneCondition: hasCanaryZone,
  });
  new CfnOutput(stack, 'FunctionName', { value: rotation.function.functionName });
  new CfnOutput(stack, 'TopicArn', {
    value: rotation.topic.topicArn,
    description: 'Subscribe the DNS team and operators here (hand-offs and alarms).',
  });
  new CfnOutput(stack, 'KeyBucket', { value: rotation.bucket.bucketName });
  new CfnOutput(stack, 'ConfigParameter', { value: rotation.configParameter.parameterName });
  const inbox = rotation.canaryInbox as NonNullable<typeof rotation.canaryInbox>;
  new CfnOutput(stack, 'CanaryInboxBucket', {
    value: inbox.bucket.bucketName,
    condition: hasCanaryInbox,
    description: 'Where SES receiving stores the canary mail (read and deleted by the function).',
  });
  new CfnOutput(stack, 'CanaryReceiptRuleSet', {
    value: inbox.ruleSetName,
    condition: hasCanaryInbox,
    description:
      'Activate it once (aws ses set-active-receipt-rule-set --rule-set-name <this>) unless this account already receives mail in this Region; then move the rule into your active set.',
  });
  Validations.of(stack).acknowledge({
    id: 'CloudFormation-Validate::W2509',
    reason:
      "CanaryImapSecretName is the secret's name, not a password: the function reads the password from Secrets Manager at run time.",
  });
  Validations.of(stack).acknowledge({
    id: 'CdkNagValidationFailure',
    reason: 'Parameter-driven values are checked at deploy time by CloudFormation.',
  });
  return stack;
}

/** `ses-configuration.yaml`: the SES identities with DKIM signing off (one stack per region). */
export function buildSesTemplateStack(app: App): Stack {
  const stack = plainStack(
    app,
    'SesConfiguration',
    'byodkim: SES email identities with DKIM signing off (phases 1-2); byodkim turns BYODKIM signing on. Deploy once per SES region. Generated from infra/ by "npm run templates"; do not edit by hand.',
  );
  const domains = new CfnParameter(stack, 'Domains', {
    type: 'CommaDelimitedList',
    description: 'Mail domains to create as SES identities in this region, comma-separated.',
    allowedPattern: DOMAIN_LIST_PATTERN,
  });
  new ByodkimSesIdentities(stack, 'Identities', { domains: domains.valueAsList });
  return stack;
}

export { SES_REGION_PATTERN };
