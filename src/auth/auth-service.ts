// Authentication, the ECE way: `ApiKey <key>`, `Basic <user:password>` and `Bearer <token>` from
// _login, checked on every request against the store, so disabling a user, deleting a key or
// logging out takes effect at once on every instance.
import { createHash, hash, randomBytes } from 'node:crypto';
import { apiError } from '../errors.js';
import { impliedRoles, isRole, type Principal, type Role } from '../domain/principal.js';
import type { ApiKeyRecord, MetadataStore, UserRecord } from '../stores/metadata-store.js';
import { ADMIN_USER_ID, CONFIGURED_ADMIN_KEY_ID, hashSecret, sameHash, splitApiKey } from './api-keys.js';
import type { Authenticator, RequestContext } from './authenticator.js';
import { LoginThrottle } from './login-throttle.js';
import { verifyAgainstNothing, verifyPassword } from './passwords.js';
import { TokenSigner } from './tokens.js';

export interface AuthServiceOptions {
  store: MetadataStore;
  tokenSecret: string;
  tokenTtlSeconds: number;
  /** EXTREPO_ADMIN_API_KEY: a key of the built-in admin that is never stored. */
  configuredAdminKey: string | null;
  throttle?: LoginThrottle;
  /** How long a successful Basic check is remembered (default 60 s; 0 disables). */
  basicCacheMs?: number;
  now?: () => Date;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

interface CachedBasic {
  userName: string;
  /** the stored hash the password was checked against: a changed password misses the cache */
  passwordHash: string;
  until: number;
}

const SCHEME = /^(ApiKey|Basic|Bearer)\s+(\S+)\s*$/i;
const BASIC_CACHE_MAX = 10_000;
const PRINCIPAL_CACHE_MAX = 10_000;
// A bound on how long a cached caller lives even without a change notice (belt and braces).
const PRINCIPAL_CACHE_MS = 60_000;

/** The cache holds no credential, only its hash. */
function principalCacheKey(authorization: string): string {
  // One-shot hash: a third of createHash's cost, on every authenticated request.
  return hash('sha256', authorization, 'base64url');
}

/** A verified caller, and until when the credential itself stays valid (key or token expiry). */
interface Authenticated {
  principal: Principal;
  expiresAt: Date | null;
}

interface CachedPrincipal {
  principal: Principal;
  until: number;
}

/** The roles in force: the user's, narrowed to the key's when the key names some. */
export function effectiveRoles(user: UserRecord, key: Pick<ApiKeyRecord, 'roles'> | null): Role[] {
  const roles = user.roles.filter(isRole);
  if (key === null || key.roles === null) return roles;
  // A key's roles, as far as its user still holds them (or stronger ones).
  const held = impliedRoles(roles);
  return key.roles.filter(isRole).filter((role) => held.has(role));
}

export class AuthService implements Authenticator {
  readonly tokenTtlSeconds: number;
  private readonly store: MetadataStore;
  private readonly signer: TokenSigner;
  private readonly configuredKeyHash: string | null;
  private readonly throttle: LoginThrottle;
  private readonly basicCacheMs: number;
  private readonly basicCache = new Map<string, CachedBasic>();
  /**
   * Callers already verified, by hash of their Authorization header. Only kept when the store tells
   * us about every change that can withdraw a credential (the embedded store); the cache is then
   * emptied on each such change, so disabling a user or deleting a key still takes effect at once.
   * It saves the per-request user and key reads that dominate a metadata GET.
   */
  private readonly principalCache: Map<string, CachedPrincipal> | null;
  private readonly now: () => Date;

  constructor(options: AuthServiceOptions) {
    this.store = options.store;
    this.signer = new TokenSigner(options.tokenSecret);
    this.tokenTtlSeconds = options.tokenTtlSeconds;
    this.configuredKeyHash = options.configuredAdminKey === null ? null : hashSecret(options.configuredAdminKey);
    this.throttle = options.throttle ?? new LoginThrottle();
    this.basicCacheMs = options.basicCacheMs ?? 60_000;
    this.now = options.now ?? (() => new Date());
    if (options.store.watchAuthChanges) {
      const cache = new Map<string, CachedPrincipal>();
      options.store.watchAuthChanges(() => cache.clear());
      this.principalCache = cache;
    } else {
      this.principalCache = null;
    }
  }

  recall(authorization: string): Principal | undefined {
    if (this.principalCache === null) return undefined;
    const hit = this.principalCache.get(principalCacheKey(authorization));
    return hit !== undefined && hit.until > this.now().getTime() ? hit.principal : undefined;
  }

  async authenticate(authorization: string, context: RequestContext): Promise<Principal | null> {
    const match = SCHEME.exec(authorization);
    if (match === null) return null;
    const cacheKey = this.principalCache === null ? null : principalCacheKey(authorization);
    const nowMs = this.now().getTime();
    if (cacheKey !== null) {
      const hit = this.principalCache!.get(cacheKey);
      if (hit !== undefined && hit.until > nowMs) {
        context.attempt = { userName: hit.principal.userId, keyId: hit.principal.keyId };
        return hit.principal;
      }
    }
    const scheme = match[1]!.toLowerCase();
    const credential = match[2]!;
    let authenticated: Authenticated | null;
    if (scheme === 'apikey') authenticated = await this.byApiKey(credential, context);
    else if (scheme === 'bearer') authenticated = await this.byToken(credential);
    else authenticated = await this.byBasic(credential, context);
    if (authenticated === null) return null;
    if (cacheKey !== null) this.remember(cacheKey, authenticated, nowMs);
    return authenticated.principal;
  }

  private remember(cacheKey: string, authenticated: Authenticated, nowMs: number): void {
    const cache = this.principalCache!;
    if (cache.size >= PRINCIPAL_CACHE_MAX) cache.delete(cache.keys().next().value as string);
    const expires = authenticated.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    cache.set(cacheKey, { principal: Object.freeze(authenticated.principal), until: Math.min(nowMs + PRINCIPAL_CACHE_MS, expires) });
  }

  /** POST /users/auth/_login. Throws 401 root.unauthenticated, or 429 while throttled. */
  async login(userName: string, password: string, context: RequestContext): Promise<{ principal: Principal } & IssuedToken> {
    const user = await this.checkPassword(userName, password, context);
    if (user === null) throw apiError('unauthenticated', 'The user name or password is not valid.');
    const issued = await this.startSession(user.userName);
    await this.store.recordLogin(user.userName, this.now());
    return {
      ...issued,
      principal: { userId: user.userName, keyId: null, roles: effectiveRoles(user, null), method: 'token' },
    };
  }

  /** POST /users/auth/_refresh: a new token for a live one, which stops working. */
  async refresh(principal: Principal): Promise<IssuedToken> {
    if (principal.method !== 'token' || !principal.sessionId) {
      throw apiError('tokenInvalid', 'Only a bearer token from _login can be refreshed; API keys and passwords need no refresh.');
    }
    if (!(await this.store.revokeSession(principal.sessionId, this.now()))) {
      throw apiError('tokenInvalid', 'The token has already been refreshed or revoked.');
    }
    return this.startSession(principal.userId);
  }

  /** POST /users/auth/_logout: the token stops working at once. */
  async logout(principal: Principal): Promise<void> {
    if (principal.sessionId) await this.store.revokeSession(principal.sessionId, this.now());
  }

  /** Ends every session of a user (disabled, password changed, deleted). */
  async revokeSessions(userName: string): Promise<void> {
    await this.store.revokeSessionsOfUser(userName, this.now());
    for (const [key, entry] of this.basicCache) if (entry.userName === userName) this.basicCache.delete(key);
  }

  private async startSession(userName: string): Promise<IssuedToken> {
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.tokenTtlSeconds * 1000);
    const sid = randomBytes(16).toString('base64url');
    await this.store.insertSession({ id: sid, userId: userName, createdAt: now, expiresAt, revokedAt: null });
    const token = this.signer.sign({
      sub: userName,
      sid,
      iat: Math.floor(now.getTime() / 1000),
      exp: Math.ceil(expiresAt.getTime() / 1000),
    });
    return { token, expiresAt };
  }

  private async enabledUser(userName: string): Promise<UserRecord | null> {
    const user = await this.store.getUser(userName);
    return user !== null && user.enabled ? user : null;
  }

  private async byApiKey(key: string, context: RequestContext): Promise<Authenticated | null> {
    if (this.configuredKeyHash !== null && sameHash(hashSecret(key), this.configuredKeyHash)) {
      context.attempt = { userName: ADMIN_USER_ID, keyId: CONFIGURED_ADMIN_KEY_ID };
      const admin = await this.enabledUser(ADMIN_USER_ID);
      if (admin === null) return null;
      return {
        principal: { userId: admin.userName, keyId: CONFIGURED_ADMIN_KEY_ID, roles: effectiveRoles(admin, null), method: 'api_key' },
        expiresAt: null,
      };
    }
    const parts = splitApiKey(key);
    if (parts === null) return null;
    context.attempt = { keyId: parts.id };
    const record = await this.store.findApiKey(parts.id);
    if (record === null || !sameHash(hashSecret(parts.secret), record.secretHash)) return null;
    context.attempt.userName = record.userId;
    if (record.expiresAt !== null && record.expiresAt.getTime() <= this.now().getTime()) return null;
    const user = await this.enabledUser(record.userId);
    if (user === null) return null;
    return {
      principal: { userId: user.userName, keyId: record.id, roles: effectiveRoles(user, record), method: 'api_key' },
      expiresAt: record.expiresAt,
    };
  }

  private async byToken(token: string): Promise<Authenticated | null> {
    const now = this.now();
    const claims = this.signer.verify(token, now);
    if (claims === null) return null;
    const session = await this.store.getSession(claims.sid);
    if (session === null || session.revokedAt !== null || session.userId !== claims.sub) return null;
    if (session.expiresAt.getTime() <= now.getTime()) return null;
    const user = await this.enabledUser(session.userId);
    if (user === null) return null;
    return {
      principal: {
        userId: user.userName,
        keyId: null,
        roles: effectiveRoles(user, null),
        method: 'token',
        sessionId: session.id,
        expiresAt: session.expiresAt,
      },
      expiresAt: session.expiresAt,
    };
  }

  private async byBasic(encoded: string, context: RequestContext): Promise<Authenticated | null> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return null;
    const userName = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    context.attempt = { userName };
    const user = await this.checkPassword(userName, password, context);
    if (user === null) return null;
    return { principal: { userId: user.userName, keyId: null, roles: effectiveRoles(user, null), method: 'basic' }, expiresAt: null };
  }

  /**
   * The enabled user whose password this is, or null. Throttled per user name and client address
   * (429 with Retry-After); a recent success is remembered briefly so Basic auth does not pay for
   * scrypt on every request.
   */
  private async checkPassword(userName: string, password: string, context: RequestContext): Promise<UserRecord | null> {
    const cacheKey = createHash('sha256').update(userName).update('\0').update(password).digest('base64url');
    const cached = this.basicCache.get(cacheKey);
    const nowMs = this.now().getTime();
    if (cached !== undefined && cached.until > nowMs) {
      const user = await this.enabledUser(userName);
      if (user !== null && user.passwordHash === cached.passwordHash) return user;
      this.basicCache.delete(cacheKey);
    }
    const waitMs = this.throttle.retryAfterMs(userName, context.clientAddress);
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw apiError('tooManyRequests', `Too many failed sign-ins; try again in ${seconds} s.`, {
        headers: { 'retry-after': String(seconds) },
      });
    }
    const user = await this.store.getUser(userName);
    const ok = user !== null && user.passwordHash !== null ? await verifyPassword(password, user.passwordHash) : await verifyAgainstNothing(password);
    if (!ok || user === null) {
      this.throttle.failed(userName, context.clientAddress);
      return null;
    }
    if (!user.enabled) {
      // Said only to whoever knows the password, so it reveals nothing to a guesser; the person
      // signing in learns that retrying is useless and whom to ask (the console shows this message).
      this.throttle.failed(userName, context.clientAddress);
      throw apiError('unauthenticated', `The user [${userName}] is disabled; a platform admin can enable it again.`);
    }
    this.throttle.succeeded(userName);
    if (this.basicCacheMs > 0) {
      if (this.basicCache.size >= BASIC_CACHE_MAX) this.basicCache.delete(this.basicCache.keys().next().value as string);
      this.basicCache.set(cacheKey, { userName, passwordHash: user.passwordHash!, until: nowMs + this.basicCacheMs });
    }
    return user;
  }
}
