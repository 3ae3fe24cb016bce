import {
  Aws,
  type CfnCondition,
  CfnResource,
  CfnRule,
  Duration,
  Fn,
  aws_iam as iam,
  aws_kms as kms,
  type RemovalPolicy,
  aws_route53 as route53,
  Stack,
  aws_s3 as s3,
  type aws_secretsmanager as secretsmanager,
  aws_ses as ses,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { inboundSmtpEndpoint, SES_RECEIVING_REGIONS } from './ses-receiving.js';

/**
 * The signing canary (byodkim's config `canary`): once a day per region, and every few
 * minutes during a switch, the function sends a short message from each domain through SES,
 * reads it back from the inbox this construct deploys and judges it as a receiver does.
 */
export interface ByodkimCanary {
  /**
   * Where the canaries go: an address SES receiving accepts in this stack's Region, on a
   * domain (best a subdomain of its own, e.g. `canary@canary.example.com`) whose MX record
   * points at `inbound-smtp.<region>.amazonaws.com` and which is verified in SES there.
   */
  readonly to: string;
  /** The sender, an address on each domain (`{domain}` is replaced). Default `byodkim-canary@{domain}`. */
  readonly from?: string;
  /** Passed through to the config: one canary per region this often (default 24). */
  readonly intervalHours?: number;
  /** Passed through to the config: during a switch, one canary per region this often (default 5). */
  readonly switchIntervalMinutes?: number;
  /** Passed through to the config: how long the function keeps a judged canary (default 0: deleted once judged). */
  readonly retentionHours?: number;
  /**
   * S3 expires whatever is under the prefix after this, judged or not (canaries the function
   * never judged, anything else sent to the address). Whole days, at least 1. Default 7 days.
   */
  readonly inboxExpiration?: Duration;
  /** Object key prefix of the receipt rule's S3 action. Default `canary/`. */
  readonly prefix?: string;
  /** Physical name of the inbox bucket (the CLI config's `canary.inbox.bucket`). Default: generated. */
  readonly bucketName?: string;
  /**
   * The Route 53 hosted zone of the inbox domain: the MX record goes there. Without it,
   * publish `<inbox domain> MX 10 inbound-smtp.<region>.amazonaws.com` yourself.
   */
  readonly hostedZoneId?: string;
  /**
   * Add the receipt rule to this existing rule set (the account's active one, if it already
   * receives mail in this Region). Default: a rule set of its own, which you activate once
   * (`aws ses set-active-receipt-rule-set`): one rule set is active per account and Region,
   * and CloudFormation cannot switch it without replacing yours.
   */
  readonly receiptRuleSetName?: string;
  /**
   * Read the canaries from this existing IMAP mailbox instead of deploying an SES receiving
   * inbox (then none of the inbox settings above apply). Default: the SES receiving inbox.
   */
  readonly imap?: ByodkimCanaryImap;
}

/** A mailbox the canary address already delivers to, read over IMAP (config `canary.inbox` of type `imap`). */
export interface ByodkimCanaryImap {
  readonly host: string;
  /** Default 993. */
  readonly port?: number;
  /** TLS from the start (default true); false: STARTTLS when offered. */
  readonly secure?: boolean;
  readonly user: string;
  /** Default `INBOX`. */
  readonly mailbox?: string;
  /**
   * The secret holding the password (its whole string, or a JSON `password` field): the
   * function may read this one secret and no other.
   */
  readonly passwordSecret: secretsmanager.ISecret;
}

/** The settings that belong to the SES receiving inbox, meaningless with `imap`. */
export const S3_INBOX_SETTINGS = [
  'prefix',
  'bucketName',
  'hostedZoneId',
  'receiptRuleSetName',
  'inboxExpiration',
] as const satisfies ReadonlyArray<keyof ByodkimCanary>;

export interface ByodkimCanaryInboxProps {
  readonly canary: ByodkimCanary;
  /** Bucket for the inbox's S3 server access logs; without it the inbox is not logged (acknowledged). */
  readonly accessLogsBucket?: s3.IBucket;
  readonly removalPolicy: RemovalPolicy;
  /** Deploy everything only when this holds (the plain template's `HasCanaryInbox`). */
  readonly condition?: CfnCondition;
  /** Deploy the MX record only when this holds (the plain template's `HasCanaryZone`). */
  readonly zoneCondition?: CfnCondition;
}

/**
 * The canary's inbox: SES receiving in this stack's Region stores each canary raw in a
 * private SSE-KMS bucket (a receipt rule with an S3 action), from which the function reads
 * and deletes it. SES may write only under the prefix, only for this account and this
 * receipt rule (aws:SourceAccount, aws:SourceArn), with a KMS key of its own: SES never gets
 * to use the key that encrypts the DKIM private keys.
 */
export class ByodkimCanaryInbox extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly prefix: string;
  /** The domain of `to`: where SES receives the canaries. */
  readonly inboxDomain: string;
  readonly ruleSetName: string;
  readonly ruleName: string;
  /** The receipt rule's ARN, as SES gives it in aws:SourceArn. */
  readonly ruleArn: string;
  readonly mxRecord: route53.CfnRecordSet | undefined;

  constructor(scope: Construct, id: string, props: ByodkimCanaryInboxProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { canary } = props;
    this.prefix = canary.prefix ?? 'canary/';
    if (!/^[A-Za-z0-9!_.*'()/-]+\/$/.test(this.prefix)) {
      throw new Error(`ByodkimRotation: canary.prefix "${this.prefix}" must be an S3 prefix ending in "/"`);
    }
    if (!Token.isUnresolved(canary.to) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(canary.to)) {
      throw new Error(`ByodkimRotation: canary.to "${canary.to}" is not an email address`);
    }
    this.inboxDomain = Token.isUnresolved(canary.to)
      ? Fn.select(1, Fn.split('@', canary.to))
      : (canary.to.split('@')[1] as string).toLowerCase();
    this.#requireReceivingRegion(stack, props.condition);
    const expirationDays = (canary.inboxExpiration ?? Duration.days(7)).toDays({ integral: false });
    if (expirationDays < 1) {
      throw new Error(
        'ByodkimRotation: canary.inboxExpiration must be at least 1 day (S3 expires whole days)',
      );
    }

    // Its own key: SES gets GenerateDataKey on this one, never on the DKIM keys' key.
    this.key = new kms.Key(this, 'Key', {
      description: 'byodkim: the signing canary inbox (SES receiving writes, the function reads)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...(canary.bucketName === undefined ? {} : { bucketName: canary.bucketName }),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.accessLogsBucket
        ? { serverAccessLogsBucket: props.accessLogsBucket, serverAccessLogsPrefix: 'canary-inbox/' }
        : {}),
      lifecycleRules: [
        {
          // The retention of what nobody deleted: the function deletes canaries once judged.
          id: 'expire-canary-mail',
          prefix: this.prefix,
          expiration: Duration.days(Math.ceil(expirationDays)),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
    });
    if (!props.accessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'The plain template deploys the canary inbox only when a canary address is given, and the shared access-log bucket cannot name a bucket that may not exist; the inbox holds only test messages byodkim sent itself (no key material), deleted once judged.',
      });
    }

    this.ruleSetName = canary.receiptRuleSetName ?? new ses.CfnReceiptRuleSet(this, 'RuleSet', {}).ref;
    // Unique per construct: a rule set shared with other stacks must not get two rules of one name.
    this.ruleName = `byodkim-canary-${this.node.addr.slice(0, 12)}`;
    this.ruleArn = `arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:receipt-rule-set/${this.ruleSetName}:receipt-rule/${this.ruleName}`;
    const fromThisRule = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID, 'aws:SourceArn': this.ruleArn },
    };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SesReceivingPutsCanaryMail',
        principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${this.prefix}*`)],
        conditions: fromThisRule,
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SesReceivingEncryptsCanaryMail',
        principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisRule,
      }),
    );
    const rule = new ses.CfnReceiptRule(this, 'Rule', {
      ruleSetName: this.ruleSetName,
      rule: {
        name: this.ruleName,
        enabled: true,
        recipients: [canary.to],
        scanEnabled: true,
        tlsPolicy: 'Require',
        actions: [{ s3Action: { bucketName: this.bucket.bucketName, objectKeyPrefix: this.prefix } }],
      },
    });
    // SES checks at creation that it may write to the bucket: the policies must exist first.
    const bucketPolicy = this.bucket.policy?.node.defaultChild as CfnResource | undefined;
    if (bucketPolicy) rule.node.addDependency(bucketPolicy);
    rule.node.addDependency(this.key);

    this.mxRecord =
      canary.hostedZoneId === undefined
        ? undefined
        : new route53.CfnRecordSet(this, 'Mx', {
            hostedZoneId: canary.hostedZoneId,
            name: this.inboxDomain,
            type: 'MX',
            ttl: '300',
            resourceRecords: [`10 ${inboundSmtpEndpoint(Aws.REGION)}`],
          });

    if (props.condition) {
      for (const child of this.node.findAll())
        if (child instanceof CfnResource && child !== this.mxRecord)
          child.cfnOptions.condition = props.condition;
    }
    if (this.mxRecord) this.mxRecord.cfnOptions.condition = props.zoneCondition ?? props.condition;
  }

  /** Synth fails in a Region without SES receiving; an environment-agnostic stack gets a deploy-time rule. */
  #requireReceivingRegion(stack: Stack, condition: CfnCondition | undefined): void {
    if (!Token.isUnresolved(stack.region)) {
      if (!SES_RECEIVING_REGIONS.includes(stack.region)) {
        throw new Error(
          `ByodkimRotation: the canary inbox needs SES receiving, which ${stack.region} does not offer; deploy the stack in one of ${SES_RECEIVING_REGIONS.join(', ')}`,
        );
      }
      return;
    }
    new CfnRule(this, 'ReceivingRegion', {
      ...(condition ? { ruleCondition: canaryGiven(condition) } : {}),
      assertions: [
        {
          assert: Fn.conditionContains([...SES_RECEIVING_REGIONS], Aws.REGION),
          assertDescription: `The signing canary's inbox needs SES receiving: deploy in one of ${SES_RECEIVING_REGIONS.join(', ')}, or leave the canary address empty.`,
        },
      ],
    });
  }
}

/**
 * A rule condition may use parameters but not template conditions, so the rule repeats the
 * condition's own expression.
 */
function canaryGiven(condition: CfnCondition) {
  if (!condition.expression) throw new Error('ByodkimRotation: the canary condition has no expression');
  return condition.expression;
}
