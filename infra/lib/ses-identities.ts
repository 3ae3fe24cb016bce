import { CfnElement, RemovalPolicy, aws_ses as ses, Token, Tokenization } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface ByodkimSesIdentitiesProps {
  /**
   * Domains to create as SES identities in this stack's region. A CloudFormation list token
   * (`CfnParameter.valueAsList`) is expanded at deploy time with `Fn::ForEach`
   * (the stack then needs the `AWS::LanguageExtensions` transform, which this adds).
   */
  readonly domains: string[];
}

/**
 * SES email identities with DKIM signing off, as the seeds' `ses-configuration.yaml` creates
 * them (phases 1-2): byodkim later puts the BYODKIM key and turns signing on (phases 6-7).
 *
 * The identities are retained when the stack is deleted (deleting one stops its mail), and
 * CloudFormation only writes an identity when its properties here change, so a stack update
 * does not undo byodkim's signing settings. Do not change `DkimAttributes` here afterwards:
 * that update would turn signing off.
 *
 * SES identities are regional: deploy one stack per region.
 *
 * @example
 * new ByodkimSesIdentities(stack, 'Identities', { domains: ['example.com'] });
 */
export class ByodkimSesIdentities extends Construct {
  readonly identities: ses.CfnEmailIdentity[] = [];

  constructor(scope: Construct, id: string, props: ByodkimSesIdentitiesProps) {
    super(scope, id);
    if (Token.isUnresolved(props.domains)) {
      new ForEachIdentities(this, 'ForEach', props.domains);
      return;
    }
    for (const domain of props.domains) {
      const identity = new ses.CfnEmailIdentity(this, `Identity-${domain}`, {
        emailIdentity: domain,
        dkimAttributes: { signingEnabled: false },
      });
      identity.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.identities.push(identity);
    }
  }
}

/**
 * `Fn::ForEach` over a list parameter: one `AWS::SES::EmailIdentity` per listed domain.
 * CDK has no construct for it, so this element writes the template fragment itself.
 */
class ForEachIdentities extends CfnElement {
  readonly #domains: string[];

  constructor(scope: Construct, id: string, domains: string[]) {
    super(scope, id);
    this.#domains = domains;
    this.stack.addTransform('AWS::LanguageExtensions');
  }

  /** Called by the stack when it renders the template (CfnElement's contract). */
  _toCloudFormation(): object {
    return {
      Resources: {
        'Fn::ForEach::SesIdentities': [
          'DomainName',
          Tokenization.reverseList(this.#domains) ?? this.#domains,
          {
            'Identity&{DomainName}': {
              Type: 'AWS::SES::EmailIdentity',
              DeletionPolicy: 'Retain',
              UpdateReplacePolicy: 'Retain',
              Properties: {
                EmailIdentity: { Ref: 'DomainName' },
                DkimAttributes: { SigningEnabled: false },
              },
            },
          },
        ],
      },
    };
  }
}
