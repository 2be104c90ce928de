// Passwords: scrypt (memory-hard, node:crypto) with a per-password salt, the parameters stored in the
// hash so they can be raised later without invalidating old hashes, and a constant-time comparison.
import { apiError } from '../errors.js';
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** N=2^15, r=8, p=1: 32 MiB and about 50–100 ms per hash (see docs/authentication.md for measurements). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$<salt b64url>$<hash b64url>` */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  const actual = await derive(password, salt, { N, r, p });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/** Spends the same work as a real check, so an unknown user name cannot be told apart by timing. */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword('not a password of anyone');
  await verifyPassword(password, await dummyHash);
  return false;
}

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/** The password policy; throws user.password.invalid with what to change. Never echoes the password. */
export function checkPasswordPolicy(password: unknown, userName: string): string {
  if (typeof password !== 'string') {
    throw apiError('passwordInvalid', 'security.password must be a string.', { fields: ['security.password'] });
  }
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`be at least ${PASSWORD_MIN_LENGTH} characters long`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`be at most ${PASSWORD_MAX_LENGTH} characters long`);
  if (password.trim() !== password) problems.push('not start or end with whitespace');
  if (new Set(password).size < 4) problems.push('use at least 4 different characters');
  if (userName.length >= 3 && password.toLowerCase().includes(userName.toLowerCase())) problems.push('not contain the user name');
  if (problems.length > 0) {
    throw apiError('passwordInvalid', `The password does not meet the policy: it must ${problems.join(', ')}.`, {
      fields: ['security.password'],
    });
  }
  return password;
}
