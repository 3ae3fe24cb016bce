import { Aws, type CfnCondition, Fn, aws_iam as iam, Stack, Token, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ByodkimDomain } from './byodkim-rotation.js';
import type { ByodkimCanary, ByodkimCanaryImap, ByodkimCanaryInbox } from './canary-inbox.js';
import { type DomainListTokens, isListTokens } from './config-text.js';
import { nagResource } from './nag.js';

/** byodkim's default canary sender (config `canary.from`). */
export const DEFAULT_CANARY_FROM = 'byodkim-canary@{domain}';

/**
 * The addresses the canary sends from, one per domain: `canary.from` with `{domain}`
 * replaced. With list tokens (the plain templates) the list is built at deploy time.
 */
export function canaryFromAddresses(
  canary: ByodkimCanary,
  domains: readonly ByodkimDomain[] | DomainListTokens,
): string[] {
  const template = canary.from ?? DEFAULT_CANARY_FROM;
  if (Token.isUnresolved(template)) throw new Error('ByodkimRotation: canary.from must be a literal address');
  const [before, after = ''] = template.split('{domain}');
  if (isListTokens(domains)) {
    if (!template.includes('{domain}')) {
      throw new Error(
        `ByodkimRotation: canary.from "${template}" must contain {domain} when the domains are a list parameter`,
      );
    }
    // Fn::Join delimiters must be literal: the parts around {domain} are.
    return Fn.split(',', `${before}${Fn.join(`${after},${before}`, domains.names)}${after}`);
  }
  return [...new Set(domains.map((d) => template.replace('{domain}', d.domain).toLowerCase()))];
}

/**
 * The canary's permissions are policies of their own, one per concern, so the plain
 * template can make each conditional on what its parameters ask for.
 */
interface CanaryPolicyProps {
  role: iam.IRole;
  /** Attach the policy only when this holds (the plain template's conditions). */
  condition?: CfnCondition | undefined;
}

function canaryPolicy(
  scope: Construct,
  id: string,
  props: CanaryPolicyProps,
  statements: iam.PolicyStatement[],
) {
  const policy = new iam.Policy(scope, id, { roles: [props.role], statements });
  if (props.condition) (policy.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = props.condition;
  return policy;
}

function acknowledgeWildcards(policy: iam.Policy, resources: unknown[], reason: string): void {
  const stack = Stack.of(policy);
  for (const resource of new Set(resources.map((r) => nagResource(stack, r))))
    if (resource.includes('*'))
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
}

/**
 * SES v2 SendEmail is authorized as `ses:SendEmail` for simple content and as
 * `ses:SendRawEmail` for raw content (what AWS answers in AccessDenied for a raw v2 send,
 * e.g. anymail/django-anymail#384): both, and only as the canary address of each domain.
 */
export const CANARY_SEND_ACTIONS = ['ses:SendEmail', 'ses:SendRawEmail'];

/** Send mail through SES only as the canary address (`ses:FromAddress`), only from the identities the function manages. */
export function grantCanarySend(
  scope: Construct,
  props: CanaryPolicyProps & {
    /** `ses:FromAddress` values: the only senders allowed. */
    fromAddresses: string[];
    /** The identities the function manages, as its SES statements scope them. */
    sendScope: { resources: string[]; conditions?: Record<string, unknown> };
  },
): iam.Policy {
  const policy = canaryPolicy(scope, 'CanarySendPolicy', props, [
    new iam.PolicyStatement({
      sid: 'SendOnlyAsTheCanary',
      actions: CANARY_SEND_ACTIONS,
      resources: props.sendScope.resources,
      conditions: {
        StringEquals: { 'ses:FromAddress': props.fromAddresses, ...props.sendScope.conditions },
      },
    }),
  ]);
  const resources = Token.isUnresolved(props.sendScope.resources)
    ? [props.sendScope.resources]
    : props.sendScope.resources;
  acknowledgeWildcards(
    policy,
    resources,
    'The same identities the function manages (see its SES statement); sending is further limited by ses:FromAddress to the canary address of each domain.',
  );
  return policy;
}

/** Read and delete objects under the SES receiving inbox's prefix only (listing only that prefix), decrypt them through S3 only. */
export function grantCanaryInbox(
  scope: Construct,
  props: CanaryPolicyProps & { inbox: ByodkimCanaryInbox },
): iam.Policy {
  const { inbox } = props;
  const objects = inbox.bucket.arnForObjects(`${inbox.prefix}*`);
  const policy = canaryPolicy(scope, 'CanaryInboxPolicy', props, [
    new iam.PolicyStatement({
      sid: 'ReadAndDeleteCanaryMail',
      actions: ['s3:GetObject', 's3:DeleteObject'],
      resources: [objects],
    }),
    new iam.PolicyStatement({
      sid: 'ListCanaryInbox',
      actions: ['s3:ListBucket'],
      resources: [inbox.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${inbox.prefix}*`] } },
    }),
    new iam.PolicyStatement({
      sid: 'DecryptCanaryMailThroughS3',
      actions: ['kms:Decrypt'],
      resources: [inbox.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
    }),
  ]);
  acknowledgeWildcards(
    policy,
    [objects],
    'SES receiving names each canary object by its own message id under the inbox prefix: the function may read and delete only objects under that prefix.',
  );
  return policy;
}

/**
 * The IMAP mailbox's password: read this one secret only (and decrypt it through Secrets
 * Manager when it has a key of its own; the AWS managed key needs no grant).
 */
export function grantCanaryImapPassword(
  scope: Construct,
  props: CanaryPolicyProps & { imap: ByodkimCanaryImap },
): iam.Policy {
  const secret = props.imap.passwordSecret;
  const arn = imapSecretPolicyArn(secret);
  const statements = [
    new iam.PolicyStatement({
      sid: 'ReadCanaryImapPassword',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [arn],
    }),
  ];
  if (secret.encryptionKey) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptCanaryImapPassword',
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
  const policy = canaryPolicy(scope, 'CanaryImapPolicy', props, statements);
  acknowledgeWildcards(
    policy,
    [arn],
    'A secret imported by name: Secrets Manager appends six random characters to its ARN, and -?????? matches exactly those.',
  );
  return policy;
}

/** The secret's ARN as a policy resource: its complete ARN, or the name's ARN with Secrets Manager's six-character suffix. */
function imapSecretPolicyArn(secret: ByodkimCanaryImap['passwordSecret']): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/** How the function's config names the secret: its complete ARN, or its name. */
export function imapSecretId(secret: ByodkimCanaryImap['passwordSecret']): string {
  return secret.secretFullArn ?? secret.secretName;
}
