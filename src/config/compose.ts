import { FileStateStore } from '../adapters/local/file-state.js';
import { FileKeyVault } from '../adapters/local/file-vault.js';
import { InputError } from '../errors.js';
import type { Clock, KeyVault, StateStore } from '../ports.js';
import type { LoadedConfig } from './load.js';

/**
 * The composition root: config in, adapters out. Front ends (CLI, Lambda, sandbox) call
 * this and hand the result to the engine; nothing else decides which adapter is used.
 */
export interface Stores {
  vault: KeyVault;
  state: StateStore;
}

export async function buildStores(loaded: LoadedConfig, clock: Clock): Promise<Stores> {
  const { keys, state } = loaded.config;
  let vault: KeyVault;
  if (keys.type === 'file') {
    vault = new FileKeyVault({ dir: keys.dir, retired: keys.retired, now: () => clock.now() });
  } else {
    throw new InputError('BACKEND_UNAVAILABLE', `keys.type: "${keys.type}" is not available in this build`, {
      context: { type: keys.type },
    });
  }
  let store: StateStore;
  if (state.type === 'file') {
    store = new FileStateStore({ dir: state.dir, now: () => clock.now() });
  } else {
    throw new InputError(
      'BACKEND_UNAVAILABLE',
      `state.type: "${state.type}" is not available in this build`,
      { context: { type: state.type } },
    );
  }
  return { vault, state: store };
}
