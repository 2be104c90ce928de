import type { Principal } from '../domain/principal.js';

/** What authentication may know of a request besides its Authorization header. */
export interface RequestContext {
  clientAddress: string;
  requestId: string;
  /** Filled in by the authenticator with who the caller claimed to be (for the audit of failures). */
  attempt?: { userName?: string; keyId?: string | null };
}

export interface Authenticator {
  /**
   * The principal for an Authorization header value, or null if it proves nothing. May throw an
   * ApiError instead (429 while password attempts are throttled).
   */
  authenticate(authorization: string, context: RequestContext): Promise<Principal | null>;
  /**
   * A caller verified recently and still valid, answered synchronously from memory, or undefined
   * (then call authenticate). Optional: it only saves the per-request promise on the hot path.
   */
  recall?(authorization: string): Principal | undefined;
}
