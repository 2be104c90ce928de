// Users: ECE's User model over the user store, with the rules that keep the platform usable: a
// built-in user cannot be deleted, the last enabled platform admin cannot be disabled, demoted or
// deleted, a user who owns extensions is deleted only if they are handed to someone else, and a
// disabled user (or one whose password changed) loses its sessions at once.
import { randomBytes } from 'node:crypto';
import type { User, UserMetadata } from '../api-types.js';
import { apiError } from '../errors.js';
import { hasPermission, isRole, rolesBeyond, ROLES, type Permission, type Principal } from '../domain/principal.js';
import {
  IdCollisionError,
  LastAdminError,
  NotFoundError,
  UserOwnsExtensionsError,
  type MetadataStore,
  type UserChanges,
  type UserRecord,
} from '../stores/metadata-store.js';
import { ADMIN_USER_ID } from './api-keys.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';

type Json = Record<string, unknown>;

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$/;
/** Names that would collide with the API's own paths under /users. */
const RESERVED_NAMES = new Set(['auth', '_all']);
const TEXT_MAX = 1024;

/** ECE's `User` as JSON (the password is write-only and never shown). */
export function userView(user: UserRecord): User {
  const metadata: UserMetadata = { created_at: user.createdAt.toISOString(), updated_at: user.updatedAt.toISOString() };
  if (user.createdBy !== null) metadata.created_by = user.createdBy;
  if (user.updatedBy !== null) metadata.updated_by = user.updatedBy;
  if (user.lastLoginAt !== null) metadata.last_login_at = user.lastLoginAt.toISOString();
  const view: User = {
    user_name: user.userName,
    builtin: user.builtin,
    security: {
      roles: user.roles,
      enabled: user.enabled,
      security_realm: { type: 'native', id: 'native' },
    },
    metadata,
  };
  if (user.fullName !== null) view.full_name = user.fullName;
  if (user.email !== null) view.email = user.email;
  return view;
}

export function requirePermission(principal: Principal, permission: Permission, what: string): void {
  if (!hasPermission(principal, permission)) {
    throw apiError('forbidden', `Your roles (${principal.roles.join(', ') || 'none'}) do not allow ${what}.`);
  }
}

/**
 * A new password yields a credential with all of the user's roles, so only a credential that
 * already holds them may set it (an API key narrowed to fewer roles may not).
 */
function requireCredentialCovers(principal: Principal, roles: readonly string[], userName: string): void {
  const beyond = rolesBeyond(principal, roles);
  if (beyond.length === 0) return;
  throw apiError(
    'forbidden',
    `The password of [${userName}] unlocks ${beyond.join(', ')}, which the credential you used does not hold: ` +
      "change it signed in with the password or with a key that has all of the user's roles.",
    { fields: ['security.password'] },
  );
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalText(body: Json, field: string, label = field): string | null | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > TEXT_MAX) {
    throw apiError('invalidJson', `${label} must be a string of at most ${TEXT_MAX} characters.`, { fields: [label] });
  }
  return value === '' ? null : value;
}

function checkRoles(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((role) => typeof role !== 'string')) {
    throw apiError('rolesInvalid', 'security.roles must be an array of role names.', { fields: ['security.roles'] });
  }
  const unknown = value.filter((role) => !isRole(role));
  if (unknown.length > 0) {
    throw apiError('rolesInvalid', `Unknown role(s) ${unknown.join(', ')}; the roles are ${ROLES.join(', ')}.`, {
      fields: ['security.roles'],
    });
  }
  return [...new Set(value as string[])];
}

export interface UserServiceOptions {
  store: MetadataStore;
  /** Called when a user's sessions must end (disabled, password changed). */
  revokeSessions: (userName: string) => Promise<void>;
  now?: () => Date;
}

export class UserService {
  private readonly store: MetadataStore;
  private readonly now: () => Date;

  constructor(private readonly options: UserServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
  }

  async list(principal: Principal, includeDisabled: boolean): Promise<UserRecord[]> {
    requirePermission(principal, 'users.read', 'listing users');
    const users = await this.store.listUsers();
    return includeDisabled ? users : users.filter((user) => user.enabled);
  }

  async get(principal: Principal, userName: string): Promise<UserRecord> {
    if (userName !== principal.userId) requirePermission(principal, 'users.read', 'reading other users');
    return this.existing(userName);
  }

  async create(principal: Principal, body: unknown): Promise<UserRecord> {
    requirePermission(principal, 'users.write', 'creating users');
    if (!isObject(body)) throw apiError('invalidJson', 'The body must be a User object.');
    const userName = body.user_name;
    if (typeof userName !== 'string' || !USER_NAME.test(userName) || RESERVED_NAMES.has(userName)) {
      throw apiError('userNameInvalid', 'user_name must be 1 to 255 characters: letters, digits and ._@- (not first), and not "auth".', {
        fields: ['user_name'],
      });
    }
    if (body.builtin === true) throw apiError('restrictedField', 'builtin cannot be set.', { fields: ['builtin'] });
    const security = body.security;
    if (!isObject(security)) {
      throw apiError('invalidJson', 'security is required, with roles and password.', { fields: ['security'] });
    }
    const roles = security.roles === undefined ? [] : checkRoles(security.roles);
    if (security.password === undefined) {
      throw apiError('passwordInvalid', 'security.password is required.', { fields: ['security.password'] });
    }
    const password = checkPasswordPolicy(security.password, userName);
    if (security.enabled !== undefined && typeof security.enabled !== 'boolean') {
      throw apiError('invalidJson', 'security.enabled must be a boolean.', { fields: ['security.enabled'] });
    }
    const now = this.now();
    const user: UserRecord = {
      userName,
      fullName: optionalText(body, 'full_name') ?? null,
      email: optionalText(body, 'email') ?? null,
      roles,
      enabled: security.enabled ?? true,
      builtin: false,
      passwordHash: await hashPassword(password),
      createdAt: now,
      createdBy: principal.userId,
      updatedAt: now,
      updatedBy: principal.userId,
      lastLoginAt: null,
    };
    try {
      await this.store.insertUser(user);
    } catch (error) {
      if (error instanceof IdCollisionError) {
        throw apiError('userNameConflict', `The user name [${userName}] is already in use.`, { fields: ['user_name'] });
      }
      throw error;
    }
    return user;
  }

  /**
   * PATCH /users/{user_name} (admins) and PATCH /user (`self`: anyone, for their own name, e-mail
   * and password; roles and enabled are not theirs to change). JSON Merge Patch semantics.
   */
  async update(principal: Principal, userName: string, body: unknown, self: boolean): Promise<UserRecord> {
    if (!self) requirePermission(principal, 'users.write', 'changing users');
    if (!isObject(body)) throw apiError('invalidJson', 'The body must be a JSON object (JSON Merge Patch of a User).');
    const current = await this.existing(userName);
    const restricted = (field: string, why: string) => apiError('restrictedField', `${field} ${why}`, { fields: [field] });
    if (body.user_name !== undefined && body.user_name !== userName) throw restricted('user_name', 'cannot be changed.');
    if (body.builtin !== undefined && body.builtin !== current.builtin) throw restricted('builtin', 'cannot be changed.');
    const changes: UserChanges = { updatedAt: this.now(), updatedBy: principal.userId };
    const fullName = optionalText(body, 'full_name');
    if (fullName !== undefined) changes.fullName = fullName;
    const email = optionalText(body, 'email');
    if (email !== undefined) changes.email = email;
    let passwordChanged = false;
    if (body.security !== undefined && body.security !== null) {
      const security = body.security;
      if (!isObject(security)) throw apiError('invalidJson', 'security must be an object.', { fields: ['security'] });
      if (security.roles !== undefined) {
        const roles = security.roles === null ? [] : checkRoles(security.roles);
        const same = roles.length === current.roles.length && roles.every((role) => current.roles.includes(role));
        if (!same) {
          if (self) throw restricted('security.roles', 'of your own account are changed by a platform admin (PATCH /users/{user_name}).');
          changes.roles = roles;
        }
      }
      if (security.enabled !== undefined) {
        const enabled = security.enabled === null ? true : security.enabled;
        if (typeof enabled !== 'boolean') {
          throw apiError('invalidJson', 'security.enabled must be a boolean.', { fields: ['security.enabled'] });
        }
        if (enabled !== current.enabled) {
          if (self) throw restricted('security.enabled', 'of your own account is changed by a platform admin.');
          changes.enabled = enabled;
        }
      }
      if (security.password !== undefined) {
        if (security.password === null) throw restricted('security.password', 'cannot be removed.');
        requireCredentialCovers(principal, [...current.roles, ...(changes.roles ?? [])], userName);
        changes.passwordHash = await hashPassword(checkPasswordPolicy(security.password, userName));
        passwordChanged = true;
      }
    }
    let updated: UserRecord;
    try {
      updated = await this.store.updateUser(userName, changes);
    } catch (error) {
      if (error instanceof NotFoundError) throw notFound(userName);
      if (error instanceof LastAdminError) {
        throw restricted(
          changes.enabled === false ? 'security.enabled' : 'security.roles',
          `cannot be changed: [${userName}] is the last enabled ece_platform_admin. Make another user a platform admin first.`,
        );
      }
      throw error;
    }
    if (passwordChanged || (changes.enabled === false && current.enabled)) await this.options.revokeSessions(userName);
    return updated;
  }

  async delete(principal: Principal, userName: string, reassignTo: string | undefined): Promise<{ reassigned: number }> {
    requirePermission(principal, 'users.write', 'deleting users');
    const current = await this.existing(userName);
    const refuse = (message: string) => apiError('restrictedDeletion', message);
    if (current.builtin) throw refuse(`[${userName}] is a built-in user and cannot be deleted; disable it instead.`);
    if (reassignTo !== undefined) {
      if (reassignTo === userName) throw refuse('Extensions cannot be reassigned to the user being deleted.');
      if ((await this.store.getUser(reassignTo)) === null) {
        throw refuse(`The user [${reassignTo}] named by reassign_extensions_to does not exist.`);
      }
    }
    try {
      return await this.store.deleteUser(userName, reassignTo === undefined ? {} : { reassignExtensionsTo: reassignTo });
    } catch (error) {
      if (error instanceof UserOwnsExtensionsError) {
        throw refuse(
          `[${userName}] still owns ${error.count} extension${error.count === 1 ? '' : 's'}. Delete ` +
            `${error.count === 1 ? 'it' : 'them'} first, or repeat with ?reassign_extensions_to=<user name> to hand ` +
            `${error.count === 1 ? 'it' : 'them'} over.`,
        );
      }
      if (error instanceof LastAdminError) {
        throw refuse(`[${userName}] is the last enabled ece_platform_admin. Make another user a platform admin first.`);
      }
      if (error instanceof NotFoundError) throw notFound(userName);
      throw error;
    }
  }

  private async existing(userName: string): Promise<UserRecord> {
    const user = await this.store.getUser(userName);
    if (user === null) throw notFound(userName);
    return user;
  }
}

function notFound(userName: string) {
  return apiError('userNotFound', `User [${userName}] not found.`);
}

/**
 * Creates the built-in platform admin on the first start. Returns the password when it generated
 * one (to be printed once), null when the admin exists or the password came from the environment.
 */
export async function ensureAdminUser(store: MetadataStore, configuredPassword: string | null, now: Date): Promise<string | null> {
  if ((await store.getUser(ADMIN_USER_ID)) !== null) return null;
  const password = configuredPassword ?? randomBytes(18).toString('base64url');
  try {
    await store.insertUser({
      userName: ADMIN_USER_ID,
      fullName: 'Built-in platform admin',
      email: null,
      roles: ['ece_platform_admin'],
      enabled: true,
      builtin: true,
      passwordHash: await hashPassword(password),
      createdAt: now,
      createdBy: null,
      updatedAt: now,
      updatedBy: null,
      lastLoginAt: null,
    });
  } catch (error) {
    if (error instanceof IdCollisionError) return null; // another instance created it first
    throw error;
  }
  return configuredPassword === null ? password : null;
}
