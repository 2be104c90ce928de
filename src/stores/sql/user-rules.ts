// The rules of changing and deleting users, for both SQL stores: which fields a change replaces,
// and the sequences of updateUser and deleteUser with their last-admin check. A sequence runs inside
// the store's transaction (sql/steps.ts); `dialect.usersLock` and `dialect.forUpdate` make it safe
// across instances where several share the database.
import {
  LastAdminError,
  NotFoundError,
  PLATFORM_ADMIN_ROLE,
  UserOwnsExtensionsError,
  type DeleteUserOptions,
  type UserChanges,
  type UserRecord,
} from '../metadata-store.js';
import type { AuthStatements } from './auth-statements.js';
import { toUser, type UserRow } from './auth-rows.js';
import type { SqlDialect } from './dialect.js';
import { execute, selectRows, type SqlSteps } from './steps.js';

/** The user after `changes`: each field given replaces the stored one. */
export function mergeUserChanges(current: UserRecord, changes: UserChanges): UserRecord {
  return {
    ...current,
    fullName: changes.fullName === undefined ? current.fullName : changes.fullName,
    email: changes.email === undefined ? current.email : changes.email,
    roles: changes.roles ?? current.roles,
    enabled: changes.enabled ?? current.enabled,
    passwordHash: changes.passwordHash ?? current.passwordHash,
    updatedAt: changes.updatedAt,
    updatedBy: changes.updatedBy,
  };
}

export function isEnabledAdmin(user: Pick<UserRecord, 'enabled' | 'roles'>): boolean {
  return user.enabled && user.roles.includes(PLATFORM_ADMIN_ROLE);
}

interface UserContext {
  dialect: SqlDialect;
  sql: AuthStatements;
}

export function* updateUserSteps(context: UserContext, userName: string, changes: UserChanges): SqlSteps<UserRecord> {
  const { dialect, sql } = context;
  yield* serializeUserChanges(dialect);
  const current = yield* lockUser(context, userName);
  const next = mergeUserChanges(current, changes);
  yield* execute(sql.updateUser, [
    next.fullName,
    next.email,
    JSON.stringify(next.roles),
    dialect.bool(next.enabled),
    next.passwordHash,
    dialect.time(next.updatedAt),
    next.updatedBy,
    userName,
  ]);
  if (isEnabledAdmin(current) && !isEnabledAdmin(next)) yield* requireAnEnabledAdmin(context);
  return next;
}

export function* deleteUserSteps(context: UserContext, userName: string, options: DeleteUserOptions): SqlSteps<{ reassigned: number }> {
  const { sql } = context;
  yield* serializeUserChanges(context.dialect);
  const current = yield* lockUser(context, userName);
  const [owned] = yield* selectRows<{ extensions: number | string; deployments: number | string }>(sql.countOwned, [userName, userName]);
  const extensions = Number(owned?.extensions ?? 0);
  const deployments = Number(owned?.deployments ?? 0);
  const heir = options.reassignExtensionsTo;
  if (extensions + deployments > 0 && heir === undefined) throw new UserOwnsExtensionsError(extensions, deployments);
  let reassigned = 0;
  if (extensions + deployments > 0 && heir !== undefined) {
    yield* lockUser(context, heir);
    reassigned = yield* execute(sql.reassignOwned, [heir, userName]);
    yield* execute(sql.reassignOwnedDeployments, [heir, userName]);
  }
  yield* execute(sql.deleteUser, [userName]);
  yield* execute(sql.deleteApiKeysOfUser, [userName]);
  yield* execute(sql.deleteSessionsOfUser, [userName]);
  if (isEnabledAdmin(current)) yield* requireAnEnabledAdmin(context);
  return { reassigned };
}

// Every change that could demote or disable an admin is serialized, so two instances cannot each
// remove "the other" last admin.
function* serializeUserChanges(dialect: SqlDialect): SqlSteps<void> {
  if (dialect.usersLock !== null) yield* selectRows(dialect.usersLock);
}

/** The user, locked for the rest of the transaction; NotFoundError if there is none. */
function* lockUser({ dialect, sql }: UserContext, userName: string): SqlSteps<UserRecord> {
  const [row] = yield* selectRows<UserRow>(sql.lockUser, [userName]);
  if (!row) throw new NotFoundError(`user ${userName} does not exist`);
  return toUser(row, dialect);
}

/** Throws (rolling the transaction back) when no enabled platform admin is left. */
function* requireAnEnabledAdmin({ dialect, sql }: UserContext): SqlSteps<void> {
  const rows = yield* selectRows<{ enabled: unknown; roles: string }>(sql.enabledUsers, [dialect.bool(true)]);
  const admins = rows.filter((row) => isEnabledAdmin({ enabled: dialect.readBool(row.enabled), roles: JSON.parse(row.roles) as string[] }));
  if (admins.length === 0) throw new LastAdminError('the change would leave no enabled platform admin');
}
