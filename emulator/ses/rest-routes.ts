/** The SES v2 REST routes the emulator serves (SPEC.md §2). */
import { badRequest } from './errors.js';

export type V2Operation =
  | 'CreateEmailIdentity'
  | 'GetEmailIdentity'
  | 'ListEmailIdentities'
  | 'DeleteEmailIdentity'
  | 'PutEmailIdentityDkimSigningAttributes'
  | 'PutEmailIdentityDkimAttributes'
  | 'PutEmailIdentityMailFromAttributes'
  | 'SendEmail';

export interface V2Route {
  readonly operation: V2Operation;
  readonly identity?: string;
}

const IDENTITY_SUBRESOURCES: Record<string, { method: string; operation: V2Operation }> = {
  dkim: { method: 'PUT', operation: 'PutEmailIdentityDkimAttributes' },
  'dkim/signing': { method: 'PUT', operation: 'PutEmailIdentityDkimSigningAttributes' },
  'mail-from': { method: 'PUT', operation: 'PutEmailIdentityMailFromAttributes' },
};

export function matchV2Route(method: string, pathname: string): V2Route | undefined {
  const segments = pathname.split('/').slice(1);
  if (segments[0] !== 'v2' || segments[1] !== 'email') return undefined;
  if (segments.length === 3 && segments[2] === 'list-identities' && method === 'POST') {
    return { operation: 'ListEmailIdentities' };
  }
  if (segments.length === 3 && segments[2] === 'outbound-emails' && method === 'POST') {
    return { operation: 'SendEmail' };
  }
  if (segments[2] !== 'identities') return undefined;
  if (segments.length === 3 || (segments.length === 4 && segments[3] === '')) {
    if (method === 'POST') return { operation: 'CreateEmailIdentity' };
    if (method === 'GET') return { operation: 'ListEmailIdentities' };
    return undefined;
  }
  const raw = segments[3];
  if (raw === undefined || raw === '') return undefined;
  let identity: string;
  try {
    identity = decodeURIComponent(raw);
  } catch {
    throw badRequest('EmailIdentity in the path is not valid percent-encoding.');
  }
  const rest = segments.slice(4).join('/');
  if (rest === '' && method === 'GET') return { operation: 'GetEmailIdentity', identity };
  if (rest === '' && method === 'DELETE') return { operation: 'DeleteEmailIdentity', identity };
  const sub = IDENTITY_SUBRESOURCES[rest];
  if (sub !== undefined && sub.method === method) return { operation: sub.operation, identity };
  return undefined;
}
