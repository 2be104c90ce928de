import type { Principal } from '../domain/principal.js';

/** What authentication may know of a request besides its Authorization header. */
export interface RequestContext {
  clientAddress: string;
  requestId: string;
}

export interface Authenticator {
  /** The principal for an Authorization header value, or null if it proves nothing. */
  authenticate(authorization: string, context: RequestContext): Promise<Principal | null>;
}
