/**
 * The AWS Regions where SES receives mail (receipt rule sets, `inbound-smtp.<region>` MX
 * endpoints): the canary's inbox can only be deployed in one of these.
 *
 * Where the list comes from: AWS documents the receiving endpoints in the General Reference,
 * "Amazon Simple Email Service endpoints and quotas", section "Email receiving endpoints"
 * (docs.aws.amazon.com/general/latest/gr/ses.html; the SES guide's "Regions and Amazon SES"
 * and "Publishing an MX record for Amazon SES email receiving" point there). That table was
 * not readable in the copies this project could consult (an older copy quoted in
 * aws-samples/amazon-connect-email-tasks#6 listed only us-east-1, us-west-2 and eu-west-1),
 * so the list below is the one a machine keeps current: the commercial Regions where
 * CloudFormation registers AWS::SES::ReceiptRuleSet and AWS::SES::ReceiptRule, as cfn-lint
 * 1.51.0 ships them (cfnlint/data/schemas/providers/<region>.py, generated from each Region's
 * CloudFormation resource schemas). infra/test/canary.test.ts compares it with the installed
 * cfn-lint's data, so a cfn-lint that learns a new Region fails the test until it is added.
 */
export const SES_RECEIVING_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ca-central-1',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-south-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];

/** SES receiving's SMTP endpoint in a Region: the MX target for the canary's inbox domain. */
export function inboundSmtpEndpoint(region: string): string {
  return `inbound-smtp.${region}.amazonaws.com`;
}
