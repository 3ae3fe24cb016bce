import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleLambda } from '../../scripts/bundle-lambda.mjs';

/**
 * Builds the function bundle where the construct looks by default (infra/lambda), from the
 * current source, once before the suite: the construct refuses to synthesize without it, and
 * the tests should synthesize what would deploy.
 */
export default async function setup(): Promise<void> {
  const outdir = resolve(dirname(fileURLToPath(import.meta.url)), '../lambda');
  await bundleLambda({ outdir });
}
