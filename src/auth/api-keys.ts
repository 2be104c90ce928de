// API keys. A key is "<id>.<secret>": the id is not secret, so a key can be named in logs and audit
// records without being usable; only sha256(secret) is stored, and comparisons are constant-time.
// A hash without salt is enough here because the secret is 256 random bits.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord } from '../stores/metadata-store.js';

/** The built-in platform admin created at first start. */
export const ADMIN_USER_ID = 'admin';
/** Key id under which the operator's EXTREPO_ADMIN_API_KEY is known (it is never stored). */
export const CONFIGURED_ADMIN_KEY_ID = 'env-admin-key';

export interface IssuedApiKey {
  key: string;
  record: ApiKeyRecord;
}

export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function sameHash(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

export function issueApiKey(
  userId: string,
  description: string,
  now: Date,
  expiresAt: Date | null = null,
  roles: string[] | null = null,
): IssuedApiKey {
  const id = randomBytes(9).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return {
    key: `${id}.${secret}`,
    record: { id, secretHash: hashSecret(secret), userId, description, createdAt: now, expiresAt, roles },
  };
}

export function splitApiKey(key: string): { id: string; secret: string } | null {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) return null;
  return { id: key.slice(0, dot), secret: key.slice(dot + 1) };
}

const DURATION = /^(\d{1,6})([smhdwy])$/;
const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** ECE's key expiration: a duration such as "30m", "3h", "1d", "2w", "1y"; null if malformed. */
export function parseExpiration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * UNIT_MS[match[2]!]!;
  return value > 0 && value <= 100 * UNIT_MS.y! ? value : null;
}
