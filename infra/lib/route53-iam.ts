import { Aws, aws_iam as iam } from 'aws-cdk-lib';

/**
 * What byodkim may do in a Route 53 zone, for the central function's role and for a member
 * account's role alike: change TXT records under `_domainkey` only, read the zone's records,
 * and wait for its changes to reach every Route 53 nameserver.
 */
export function dkimRecordStatements(hostedZoneIds: readonly string[]): iam.PolicyStatement[] {
  const zoneArns = hostedZoneIds.map((z) => `arn:${Aws.PARTITION}:route53:::hostedzone/${z}`);
  return [
    new iam.PolicyStatement({
      sid: 'ChangeDkimRecords',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: zoneArns,
      conditions: {
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['*._domainkey.*'],
        },
      },
    }),
    new iam.PolicyStatement({
      sid: 'ReadDkimRecords',
      actions: ['route53:ListResourceRecordSets'],
      resources: zoneArns,
    }),
    new iam.PolicyStatement({
      sid: 'WaitForChanges',
      actions: ['route53:GetChange'],
      resources: [`arn:${Aws.PARTITION}:route53:::change/*`],
    }),
  ];
}
