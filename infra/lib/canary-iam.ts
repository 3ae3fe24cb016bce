import { Aws, Fn, aws_iam as iam, Stack, Token, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ByodkimDomain } from './byodkim-rotation.js';
import type { ByodkimCanary, ByodkimCanaryInbox } from './canary-inbox.js';
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

export interface CanaryGrantProps {
  role: iam.IRole;
  inbox: ByodkimCanaryInbox;
  /** `ses:FromAddress` values: the only senders `ses:SendEmail` is allowed for. */
  fromAddresses: string[];
  /** The identities the function manages, as its SES statements scope them. */
  sendScope: { resources: string[]; conditions?: Record<string, unknown> };
}

/**
 * The function's canary permissions, as a policy of their own (so the plain template can
 * make it conditional): read and delete objects under the inbox prefix only (listing only
 * that prefix), decrypt them through S3 only, and send mail through SES only as the canary
 * address (`ses:FromAddress`), only from the identities it manages.
 */
export function grantCanary(scope: Construct, props: CanaryGrantProps): iam.Policy {
  const stack = Stack.of(scope);
  const { inbox } = props;
  const objects = inbox.bucket.arnForObjects(`${inbox.prefix}*`);
  const policy = new iam.Policy(scope, 'CanaryPolicy', {
    roles: [props.role],
    statements: [
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
      new iam.PolicyStatement({
        sid: 'SendOnlyAsTheCanary',
        actions: ['ses:SendEmail'],
        resources: props.sendScope.resources,
        conditions: {
          StringEquals: { 'ses:FromAddress': props.fromAddresses, ...props.sendScope.conditions },
        },
      }),
    ],
  });
  const acknowledge = (resource: unknown, reason: string) =>
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(stack, resource)}]`,
      reason,
    });
  acknowledge(
    objects,
    'SES receiving names each canary object by its own message id under the inbox prefix: the function may read and delete only objects under that prefix.',
  );
  const sendResources = Token.isUnresolved(props.sendScope.resources)
    ? [nagResource(stack, props.sendScope.resources)]
    : props.sendScope.resources.map((r) => nagResource(stack, r));
  for (const resource of new Set(sendResources))
    if (resource.includes('*'))
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${resource}]`,
        reason:
          'The same identities the function manages (see its SES statement); ses:SendEmail is further limited by ses:FromAddress to the canary address of each domain.',
      });
  return policy;
}
