// The API keys, users, sessions and audit log of both SQL stores, written once: each method is a
// statement or a sequence (sql/steps.ts) from this folder, run by the store's driver. A store
// extends this class and supplies the two ways of running: on its own, or in one transaction.
import type {
  ApiKeyRecord,
  ApiKeyStore,
  AuditEntry,
  AuditQuery,
  AuditRecord,
  AuditStore,
  DeleteUserOptions,
  SessionRecord,
  SessionStore,
  UserChanges,
  UserRecord,
  UserStore,
} from '../metadata-store.js';
import { auditStatements } from './audit-filter.js';
import { authStatements, type AuthStatements } from './auth-statements.js';
import {
  apiKeyValues,
  auditValues,
  sessionValues,
  toApiKey,
  toAudit,
  toSession,
  toUser,
  userValues,
  type ApiKeyRow,
  type AuditRow,
  type SessionRow,
  type UserRow,
} from './auth-rows.js';
import { rethrowCollision, type SqlDialect } from './dialect.js';
import { execute, selectRows, type SqlSteps } from './steps.js';
import { deleteUserSteps, updateUserSteps } from './user-rules.js';

/** What a write may make stale beyond its rows, for a store that caches (the embedded one). */
export interface WriteEffects {
  /** It may withdraw credentials (a key deleted, a user changed or deleted, a session revoked). */
  auth?: boolean;
  /** It may change the owner of extensions. */
  owners?: boolean;
}

export abstract class SqlAuthTables implements ApiKeyStore, UserStore, SessionStore, AuditStore {
  protected readonly auth: { dialect: SqlDialect; sql: AuthStatements };

  constructor(protected readonly dialect: SqlDialect) {
    this.auth = { dialect, sql: authStatements(dialect) };
  }

  /** Runs the steps as they come, each statement on its own (autocommit). */
  protected abstract runSteps<T>(steps: SqlSteps<T>, effects?: WriteEffects): Promise<T>;
  /** Runs the steps in one write transaction, rolled back if any step throws. */
  protected abstract runTransaction<T>(steps: SqlSteps<T>, effects?: WriteEffects): Promise<T>;

  private get sql(): AuthStatements {
    return this.auth.sql;
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    await this.runSteps(execute(this.sql.insertApiKey, apiKeyValues(key, this.dialect))).catch((error: unknown) =>
      rethrowCollision(this.dialect, error, `API key ${key.id}`),
    );
  }

  async findApiKey(id: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.runSteps(selectRows<ApiKeyRow>(this.sql.findApiKey, [id]));
    return row ? toApiKey(row, this.dialect) : null;
  }

  async countApiKeys(): Promise<number> {
    const [row] = await this.runSteps(selectRows<{ n: number | string }>(this.sql.countApiKeys));
    return Number(row?.n ?? 0);
  }

  async listApiKeys(userId?: string): Promise<ApiKeyRecord[]> {
    const rows = await this.runSteps(
      userId === undefined ? selectRows<ApiKeyRow>(this.sql.listApiKeys) : selectRows<ApiKeyRow>(this.sql.listApiKeysOfUser, [userId]),
    );
    return rows.map((row) => toApiKey(row, this.dialect));
  }

  async deleteApiKeys(ids: readonly string[], userId?: string): Promise<string[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const list = this.dialect.list(unique);
    const rows = await this.runSteps(
      userId === undefined
        ? selectRows<{ id: string }>(this.sql.deleteApiKeys, [list])
        : selectRows<{ id: string }>(this.sql.deleteApiKeysOwnedBy, [list, userId]),
      { auth: true },
    );
    return rows.map((row) => row.id);
  }

  async deleteApiKeysOfUser(userId: string): Promise<number> {
    return this.runSteps(execute(this.sql.deleteApiKeysOfUser, [userId]), { auth: true });
  }

  async insertUser(user: UserRecord): Promise<void> {
    await this.runSteps(execute(this.sql.insertUser, userValues(user, this.dialect))).catch((error: unknown) =>
      rethrowCollision(this.dialect, error, `user ${user.userName}`),
    );
  }

  async getUser(userName: string): Promise<UserRecord | null> {
    const [row] = await this.runSteps(selectRows<UserRow>(this.sql.getUser, [userName]));
    return row ? toUser(row, this.dialect) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.runSteps(selectRows<UserRow>(this.sql.listUsers));
    return rows.map((row) => toUser(row, this.dialect));
  }

  async updateUser(userName: string, changes: UserChanges): Promise<UserRecord> {
    return this.runTransaction(updateUserSteps(this.auth, userName, changes), { auth: true });
  }

  async deleteUser(userName: string, options: DeleteUserOptions = {}): Promise<{ reassigned: number }> {
    return this.runTransaction(deleteUserSteps(this.auth, userName, options), { auth: true, owners: true });
  }

  async recordLogin(userName: string, at: Date): Promise<void> {
    await this.runSteps(execute(this.sql.recordLogin, [this.dialect.time(at), userName]));
  }

  async insertSession(session: SessionRecord): Promise<void> {
    await this.runSteps(execute(this.sql.insertSession, sessionValues(session, this.dialect))).catch((error: unknown) =>
      rethrowCollision(this.dialect, error, `session ${session.id}`),
    );
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const [row] = await this.runSteps(selectRows<SessionRow>(this.sql.getSession, [id]));
    return row ? toSession(row, this.dialect) : null;
  }

  async revokeSession(id: string, at: Date): Promise<boolean> {
    const changed = await this.runSteps(execute(this.sql.revokeSession, [this.dialect.time(at), id]), { auth: true });
    return changed > 0;
  }

  async revokeSessionsOfUser(userId: string, at: Date): Promise<number> {
    return this.runSteps(execute(this.sql.revokeSessionsOfUser, [this.dialect.time(at), userId]), { auth: true });
  }

  async deleteExpiredSessions(before: Date): Promise<number> {
    return this.runSteps(execute(this.sql.deleteExpiredSessions, [this.dialect.time(before)]));
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.runSteps(execute(this.sql.appendAudit, auditValues(entry, this.dialect)));
  }

  async listAudit(query: AuditQuery): Promise<{ total: number; records: AuditRecord[] }> {
    const statements = auditStatements(query, this.dialect);
    const [count] = await this.runSteps(selectRows<{ n: number | string }>(statements.count, statements.countValues));
    const rows = await this.runSteps(selectRows<AuditRow>(statements.page, statements.pageValues));
    return { total: Number(count?.n ?? 0), records: rows.map((row) => toAudit(row, this.dialect)) };
  }
}
