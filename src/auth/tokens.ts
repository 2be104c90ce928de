// Bearer tokens: compact JWTs (HS256) naming a user and a session. The HMAC secret lives in the
// settings table, so tokens survive a restart and are accepted by every instance sharing the
// database; the session row makes revocation (logout, refresh, disabling the user) immediate.
import { createHmac } from 'node:crypto';
import { isIssuedSignature } from '../signature-text.js';

export interface TokenClaims {
  /** user name */
  sub: string;
  /** session id */
  sid: string;
  /** issued at / expires, epoch seconds */
  iat: number;
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export class TokenSigner {
  constructor(private readonly secret: string) {}

  sign(claims: TokenClaims): string {
    const payload = Buffer.from(JSON.stringify({ iss: 'extrepo', ...claims })).toString('base64url');
    return `${HEADER}.${payload}.${this.mac(`${HEADER}.${payload}`)}`;
  }

  /** The claims of a token this signer made and that has not expired at `now`; otherwise null. */
  verify(token: string, now: Date): TokenClaims | null {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return null;
    if (!isIssuedSignature(parts[2]!, this.mac(`${parts[0]}.${parts[1]}`))) return null;
    let claims: Partial<TokenClaims>;
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    } catch {
      return null;
    }
    if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number') return null;
    if (claims.exp * 1000 <= now.getTime()) return null;
    return claims as TokenClaims;
  }

  private mac(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}
