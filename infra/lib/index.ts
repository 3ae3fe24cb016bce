/**
 * @byodkim/cdk: AWS CDK constructs that deploy byodkim. `ByodkimRotation` is the scheduled
 * function with its key bucket, state, KMS keys, topic, alarms and least-privilege IAM; the
 * function bundle ships inside this package. `ByodkimSesIdentities` creates SES identities
 * with DKIM signing off, for byodkim to take over. `ByodkimMemberRole` is the least-privilege
 * role byodkim assumes in each member account of a fleet past one account.
 *
 * @packageDocumentation
 */

export type { ByodkimAccount } from './accounts.js';
export {
  type ByodkimDomain,
  type ByodkimDomainList,
  ByodkimRotation,
  type ByodkimRotationProps,
  type ByodkimStateStore,
  DEFAULT_BUNDLE_DIRECTORY,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  PHASE_MANAGER_INPUT,
} from './byodkim-rotation.js';
export { CANARY_SEND_ACTIONS, DEFAULT_CANARY_FROM } from './canary-iam.js';
export {
  type ByodkimCanary,
  type ByodkimCanaryImap,
  ByodkimCanaryInbox,
  type ByodkimCanaryInboxProps,
} from './canary-inbox.js';
export {
  ByodkimMemberRole,
  type ByodkimMemberRoleProps,
  DEFAULT_MEMBER_ROLE_NAME,
  MEMBER_SES_BATCH_READ_ACTION,
  MEMBER_SES_IDENTITY_ACTIONS,
} from './member-role.js';
export { ByodkimSesIdentities, type ByodkimSesIdentitiesProps } from './ses-identities.js';
export { inboundSmtpEndpoint, SES_RECEIVING_REGIONS } from './ses-receiving.js';
