// The rows of the auth tables (migration 2) as both drivers return them from `SELECT *`, the
// records built from them, and the parameters an insert binds. Times and booleans go through the
// dialect; counts and the audit id (int8 in PostgreSQL, a decimal string from pg) through Number.
import type { ApiKeyRecord, AuditEntry, AuditRecord, SessionRecord, UserRecord } from '../metadata-store.js';
import { nullableTime, readNullableTime, type SqlDialect } from './dialect.js';

export interface UserRow {
  user_name: string;
  full_name: string | null;
  email: string | null;
  /** A JSON array of role ids. */
  roles: string;
  enabled: unknown;
  builtin: unknown;
  password_hash: string | null;
  created_at: unknown;
  created_by: string | null;
  updated_at: unknown;
  updated_by: string | null;
  last_login_at: unknown;
}

export interface ApiKeyRow {
  id: string;
  secret_hash: string;
  user_id: string;
  description: string;
  created_at: unknown;
  expires_at: unknown;
  /** A JSON array of role ids, or null for all of the user's. */
  roles: string | null;
}

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: unknown;
  expires_at: unknown;
  revoked_at: unknown;
}

export interface AuditRow {
  id: number | string;
  at: unknown;
  user_id: string | null;
  key_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number;
  error_code: string | null;
  client_address: string | null;
  request_id: string | null;
}

export function toUser(row: UserRow, dialect: SqlDialect): UserRecord {
  return {
    userName: row.user_name,
    fullName: row.full_name,
    email: row.email,
    roles: JSON.parse(row.roles) as string[],
    enabled: dialect.readBool(row.enabled),
    builtin: dialect.readBool(row.builtin),
    passwordHash: row.password_hash,
    createdAt: dialect.readTime(row.created_at),
    createdBy: row.created_by,
    updatedAt: dialect.readTime(row.updated_at),
    updatedBy: row.updated_by,
    lastLoginAt: readNullableTime(dialect, row.last_login_at),
  };
}

/** The columns of USER_COLUMNS, in that order. */
export function userValues(user: UserRecord, dialect: SqlDialect): unknown[] {
  return [
    user.userName,
    user.fullName,
    user.email,
    JSON.stringify(user.roles),
    dialect.bool(user.enabled),
    dialect.bool(user.builtin),
    user.passwordHash,
    dialect.time(user.createdAt),
    user.createdBy,
    dialect.time(user.updatedAt),
    user.updatedBy,
    nullableTime(dialect, user.lastLoginAt),
  ];
}

export const USER_COLUMNS =
  'user_name, full_name, email, roles, enabled, builtin, password_hash, created_at, created_by, updated_at, updated_by, last_login_at';

export function toApiKey(row: ApiKeyRow, dialect: SqlDialect): ApiKeyRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    userId: row.user_id,
    description: row.description,
    createdAt: dialect.readTime(row.created_at),
    expiresAt: readNullableTime(dialect, row.expires_at),
    roles: row.roles === null ? null : (JSON.parse(row.roles) as string[]),
  };
}

export const API_KEY_COLUMNS = 'id, secret_hash, user_id, description, created_at, expires_at, roles';

export function apiKeyValues(key: ApiKeyRecord, dialect: SqlDialect): unknown[] {
  return [
    key.id,
    key.secretHash,
    key.userId,
    key.description,
    dialect.time(key.createdAt),
    nullableTime(dialect, key.expiresAt),
    key.roles === null ? null : JSON.stringify(key.roles),
  ];
}

export function toSession(row: SessionRow, dialect: SqlDialect): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: dialect.readTime(row.created_at),
    expiresAt: dialect.readTime(row.expires_at),
    revokedAt: readNullableTime(dialect, row.revoked_at),
  };
}

export const SESSION_COLUMNS = 'id, user_id, created_at, expires_at, revoked_at';

export function sessionValues(session: SessionRecord, dialect: SqlDialect): unknown[] {
  return [session.id, session.userId, dialect.time(session.createdAt), dialect.time(session.expiresAt), nullableTime(dialect, session.revokedAt)];
}

export function toAudit(row: AuditRow, dialect: SqlDialect): AuditRecord {
  return {
    id: Number(row.id),
    at: dialect.readTime(row.at),
    userId: row.user_id,
    keyId: row.key_id,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditRecord['outcome'],
    status: row.status,
    errorCode: row.error_code,
    clientAddress: row.client_address,
    requestId: row.request_id,
  };
}

export const AUDIT_COLUMNS = 'at, user_id, key_id, action, target, outcome, status, error_code, client_address, request_id';

export function auditValues(entry: AuditEntry, dialect: SqlDialect): unknown[] {
  return [
    dialect.time(entry.at),
    entry.userId,
    entry.keyId,
    entry.action,
    entry.target,
    entry.outcome,
    entry.status,
    entry.errorCode,
    entry.clientAddress,
    entry.requestId,
  ];
}
