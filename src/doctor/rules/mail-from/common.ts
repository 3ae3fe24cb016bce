import { mailFromUse } from '../../mail-from.js';
import type { MailFromUse } from '../../observation.js';
import type { SesContext } from '../context.js';
import { existingView } from '../ses/view.js';

/** The region's MAIL FROM as SES reports it, when the identity could be read and exists. */
export function sesMailFrom(c: SesContext): MailFromUse | undefined {
  const view = existingView(c);
  return view === undefined ? undefined : mailFromUse(view);
}
