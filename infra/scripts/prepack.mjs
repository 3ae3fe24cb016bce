/**
 * `npm pack` / `npm publish` of @byodkim/cdk: compiles the constructs to dist/ (JS and
 * declarations, from a clean directory so nothing stale ships), builds the function bundle
 * into lambda/ from the byodkim source of this checkout, and copies the repository's
 * LICENSE in. The package then carries everything `new ByodkimRotation(...)` deploys.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleLambda } from '../../scripts/bundle-lambda.mjs';

const infra = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(join(infra, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(infra, 'tsconfig.build.json')], { stdio: 'inherit' });
const { bytes, totalBytes, files } = await bundleLambda({ outdir: join(infra, 'lambda') });
copyFileSync(join(infra, '../LICENSE'), join(infra, 'LICENSE'));
process.stderr.write(
  `@byodkim/cdk: dist/ compiled, lambda/ ${files} files (${bytes} bytes loaded on import, ${totalBytes} in all), LICENSE copied\n`,
);
