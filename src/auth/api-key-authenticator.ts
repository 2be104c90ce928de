// The first-cut Authenticator: `Authorization: ApiKey <key>`, every key acting as a platform admin.
import type { Authenticator } from './authenticator.js';
import type { Principal } from '../domain/principal.js';
import type { ApiKeyVerifier } from './api-keys.js';

const API_KEY_SCHEME = /^ApiKey\s+(\S+)\s*$/i;

export function apiKeyAuthenticator(verifier: ApiKeyVerifier, now: () => Date = () => new Date()): Authenticator {
  return {
    async authenticate(authorization): Promise<Principal | null> {
      const match = API_KEY_SCHEME.exec(authorization);
      if (match === null || match[1] === undefined) return null;
      const verified = await verifier.verify(match[1], now());
      if (verified === null) return null;
      return { userId: verified.userId, keyId: verified.keyId, roles: ['ece_platform_admin'] };
    },
  };
}
