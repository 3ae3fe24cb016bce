// Adds to package-lock.json the entries npm leaves out when the registry it talks to lacks
// some platform binaries (this workplace's npm mirror serves no darwin/win32/android/musl
// builds of Biome). Without them `npm ci` refuses the lock as "out of sync". The entries
// are what the public registry publishes; npm never fetches a binary for another platform.
// Run after `npm install` changes the lock: `node scripts/complete-lock.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  'android-arm64': { os: ['android'], cpu: ['arm64'] },
  'android-x64': { os: ['android'], cpu: ['x64'] },
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'win32-arm64': { os: ['win32'], cpu: ['arm64'] },
  'win32-x64': { os: ['win32'], cpu: ['x64'] },
};

/** Lock entries missing for Biome's optional platform packages. */
export function missingEntries(lock) {
  const biome = lock.packages?.['node_modules/@biomejs/biome'];
  if (!biome) return {};
  const missing = {};
  for (const name of Object.keys(biome.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const platform = PLATFORMS[name.replace('@biomejs/cli-', '')];
    if (!platform) throw new Error(`unknown Biome platform package ${name}`);
    const version = biome.version;
    const file = name.split('/')[1];
    missing[key] = {
      version,
      resolved: `https://registry.npmjs.org/${name}/-/${file}-${version}.tgz`,
      ...platform,
      dev: biome.dev,
      license: 'MIT OR Apache-2.0',
      optional: true,
      engines: { node: '>=14.21.3' },
    };
  }
  return missing;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../package-lock.json', import.meta.url);
  const lock = JSON.parse(readFileSync(path, 'utf8'));
  const missing = missingEntries(lock);
  const keys = Object.keys(missing);
  if (keys.length === 0) {
    console.log('package-lock.json is complete');
  } else {
    const entries = Object.entries({ ...lock.packages, ...missing }).sort(([a], [b]) =>
      a === '' ? -1 : b === '' ? 1 : a.localeCompare(b),
    );
    lock.packages = Object.fromEntries(entries);
    writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
    console.log(`added ${keys.length} entries: ${keys.join(', ')}`);
  }
}
