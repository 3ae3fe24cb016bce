/**
 * @byodkim/cdk: AWS CDK constructs that deploy byodkim. `ByodkimRotation` is the scheduled
 * function with its key bucket, state, KMS keys, topic, alarms and least-privilege IAM; the
 * function bundle ships inside this package. `ByodkimSesIdentities` creates SES identities
 * with DKIM signing off, for byodkim to take over.
 *
 * @packageDocumentation
 */
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
export { ByodkimSesIdentities, type ByodkimSesIdentitiesProps } from './ses-identities.js';
