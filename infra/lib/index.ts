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
export { buildLambdaTemplateStack, buildSesTemplateStack, TEMPLATE_FILES } from './templates.js';
