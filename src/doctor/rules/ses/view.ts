import type { SesDkimView } from '../../../ports.js';
import type { SesContext } from '../context.js';

/** SES's view when the identity could be read and exists; rules about its settings need one. */
export function existingView(c: SesContext): SesDkimView | undefined {
  return c.read.ok && c.read.view.exists ? c.read.view : undefined;
}
