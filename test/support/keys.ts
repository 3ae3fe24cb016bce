import { type DkimPrivateKey, generateDkimKey } from '../../src/domain/key.js';

/** Keys are generated at run time (never committed); cached per test file to keep suites fast. */
const cache = new Map<string, Promise<DkimPrivateKey>>();

export function testKey(name: string, bits: 1024 | 2048 = 2048): Promise<DkimPrivateKey> {
  const id = `${name}/${bits}`;
  let key = cache.get(id);
  if (!key) {
    key = generateDkimKey(bits);
    cache.set(id, key);
  }
  return key;
}
