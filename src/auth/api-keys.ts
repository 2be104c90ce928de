// First-cut API keys. A key is "<id>.<secret>": the id is not secret, so a key can be named in logs
// and audit records without being usable; only sha256(secret) is stored, and comparisons are
// constant-time. A hash without salt is enough here because the secret is 256 random bits.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyStore } from '../stores/metadata-store.js';

export const ADMIN_USER_ID = 'admin';
/** Key id under which the operator's EXTREPO_ADMIN_API_KEY is known (it is never stored). */
export const CONFIGURED_ADMIN_KEY_ID = 'env-admin-key';

export interface IssuedApiKey {
  key: string;
  record: ApiKeyRecord;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sameHash(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

export function issueApiKey(userId: string, description: string, now: Date, expiresAt: Date | null = null): IssuedApiKey {
  const id = randomBytes(9).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return {
    key: `${id}.${secret}`,
    record: { id, secretHash: hashSecret(secret), userId, description, createdAt: now, expiresAt },
  };
}

export function splitApiKey(key: string): { id: string; secret: string } | null {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) return null;
  return { id: key.slice(0, dot), secret: key.slice(dot + 1) };
}

export interface VerifiedKey {
  keyId: string;
  userId: string;
}

export class ApiKeyVerifier {
  private readonly configuredHash: string | null;

  constructor(
    private readonly store: ApiKeyStore,
    configuredAdminKey: string | null,
  ) {
    this.configuredHash = configuredAdminKey === null ? null : hashSecret(configuredAdminKey);
  }

  async verify(key: string, now: Date): Promise<VerifiedKey | null> {
    if (this.configuredHash !== null && sameHash(hashSecret(key), this.configuredHash)) {
      return { keyId: CONFIGURED_ADMIN_KEY_ID, userId: ADMIN_USER_ID };
    }
    const parts = splitApiKey(key);
    if (parts === null) return null;
    const record = await this.store.findApiKey(parts.id);
    if (record === null || !sameHash(hashSecret(parts.secret), record.secretHash)) return null;
    if (record.expiresAt !== null && record.expiresAt.getTime() <= now.getTime()) return null;
    return { keyId: record.id, userId: record.userId };
  }
}

/**
 * On the very first start without EXTREPO_ADMIN_API_KEY, creates an admin key and returns it so the
 * caller can print it once; returns null when keys exist already or the operator configured one.
 */
export async function bootstrapAdminKey(store: ApiKeyStore, configuredAdminKey: string | null, now: Date): Promise<string | null> {
  if (configuredAdminKey !== null) return null;
  if ((await store.countApiKeys()) > 0) return null;
  const issued = issueApiKey(ADMIN_USER_ID, 'generated at first start', now);
  await store.insertApiKey(issued.record);
  return issued.key;
}
