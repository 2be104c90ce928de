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

/** A user name extrepo can route (POST /users' schema holds new names to it, http/schemas.ts). */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$/;
/** Names that would collide with the API's own paths under /users. */
export const RESERVED_USER_NAMES: readonly string[] = ['auth', '_all'];
/** The longest full_name or email. */
export const USER_TEXT_MAX = 1024;

/** POST /users' body: a User its route's schema has checked (names may be null, meaning none). */
export type NewUser = Omit<User, 'full_name' | 'email' | 'security'> & {
  full_name?: string | null;
  email?: string | null;
  security: { roles?: string[]; password: string; enabled?: boolean };
};

/** PATCH's body: a JSON Merge Patch of a User its route's schema has checked. */
export interface UserPatch {
  user_name?: unknown;
  builtin?: unknown;
  full_name?: string | null;
  email?: string | null;
  security?: { roles?: string[] | null; enabled?: boolean | null; password?: unknown } | null;
}

type Refusal = ReturnType<typeof apiError>;

/**
 * The refusal of a body its route's User schema refused, given the schema's issues: the first wrong
 * field in the order the fields were always checked in, with the code and words they always had.
 */
export function userBodyRefusal(issues: readonly { field: string; missing: boolean }[], create: boolean): Refusal {
  const at = (field: string) => issues.find((issue) => issue.field === field || issue.field.startsWith(`${field}.`));
  const exactly = (field: string) => issues.some((issue) => issue.field === field);
  if (exactly('')) {
    return apiError('invalidJson', create ? 'The body must be a User object.' : 'The body must be a JSON object (JSON Merge Patch of a User).');
  }
  const order = create ? ['user_name', 'builtin', 'security', 'full_name', 'email'] : ['full_name', 'email', 'security'];
  for (const field of order) {
    const issue = at(field);
    if (issue === undefined) continue;
    if (field === 'user_name') return userNameInvalid();
    if (field === 'builtin') return apiError('restrictedField', 'builtin cannot be set.', { fields: ['builtin'] });
    if (field === 'full_name' || field === 'email') return textInvalid(field);
    if (exactly('security')) {
      return create
        ? apiError('invalidJson', 'security is required, with roles and password.', { fields: ['security'] })
        : apiError('invalidJson', 'security must be an object.', { fields: ['security'] });
    }
    if (at('security.roles')) return rolesNotNames();
    const password = at('security.password');
    if (password !== undefined) {
      const message = password.missing ? 'security.password is required.' : 'security.password must be a string.';
      return apiError('passwordInvalid', message, { fields: ['security.password'] });
    }
    return apiError('invalidJson', 'security.enabled must be a boolean.', { fields: ['security.enabled'] });
  }
  return apiError('invalidJson', 'The body does not comply with the User schema.');
}

function userNameInvalid(): Refusal {
  return apiError('userNameInvalid', 'user_name must be 1 to 255 characters: letters, digits and ._@- (not first), and not "auth".', {
    fields: ['user_name'],
  });
}

function textInvalid(label: string): Refusal {
  return apiError('invalidJson', `${label} must be a string of at most ${USER_TEXT_MAX} characters.`, { fields: [label] });
}

function rolesNotNames(): Refusal {
  return apiError('rolesInvalid', 'security.roles must be an array of role names.', { fields: ['security.roles'] });
}

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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A full_name or email as stored: '' and null are none. The schema counts characters, the limit UTF-16 units. */
function optionalText(value: string | null | undefined, label: string): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || value === '') return null;
  if (value.length > USER_TEXT_MAX) throw textInvalid(label);
  return value;
}

/** Roles are the four ECE platform roles (a domain rule; the schema checks only that they are names). */
function checkRoles(value: readonly string[]): string[] {
  const unknown = value.filter((role) => !isRole(role));
  if (unknown.length > 0) {
    throw apiError('rolesInvalid', `Unknown role(s) ${unknown.join(', ')}; the roles are ${ROLES.join(', ')}.`, {
      fields: ['security.roles'],
    });
  }
  return [...new Set(value)];
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

  /** The right POST /users needs, checked before its body is (a 403 comes before a 400). */
  authorizeCreate(principal: Principal): void {
    requirePermission(principal, 'users.write', 'creating users');
  }

  /** The body is a User its route's schema has checked (http/schemas.ts createUserSchema). */
  async create(principal: Principal, body: NewUser): Promise<UserRecord> {
    this.authorizeCreate(principal);
    const userName = body.user_name;
    const security = body.security;
    const roles = security.roles === undefined ? [] : checkRoles(security.roles);
    const password = checkPasswordPolicy(security.password, userName);
    const now = this.now();
    const user: UserRecord = {
      userName,
      fullName: optionalText(body.full_name, 'full_name') ?? null,
      email: optionalText(body.email, 'email') ?? null,
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
  /**
   * What PATCH checks before its body's schema, so a refusal comes in the order it always did: the
   * caller's right, then (for a body that is an object) that the user exists and that user_name and
   * builtin are unchanged. Returns the stored user.
   */
  async precheckUpdate(principal: Principal, userName: string, body: unknown, self: boolean): Promise<UserRecord | null> {
    if (!self) requirePermission(principal, 'users.write', 'changing users');
    if (!isObject(body)) return null; // the schema refuses it
    const current = await this.existing(userName);
    const restricted = (field: string) => apiError('restrictedField', `${field} cannot be changed.`, { fields: [field] });
    if (body.user_name !== undefined && body.user_name !== userName) throw restricted('user_name');
    if (body.builtin !== undefined && body.builtin !== current.builtin) throw restricted('builtin');
    return current;
  }

  /**
   * PATCH /users/{user_name} (admins) and PATCH /user (`self`: anyone, for their own name, e-mail
   * and password; roles and enabled are not theirs to change). JSON Merge Patch semantics; the body
   * is a UserPatch its route's schema has checked (http/schemas.ts userPatchSchema).
   */
  async update(principal: Principal, userName: string, body: UserPatch, self: boolean): Promise<UserRecord> {
    const current = await this.precheckUpdate(principal, userName, body, self);
    if (current === null) throw userBodyRefusal([{ field: '', missing: false }], false);
    const restricted = (field: string, why: string) => apiError('restrictedField', `${field} ${why}`, { fields: [field] });
    const changes: UserChanges = { updatedAt: this.now(), updatedBy: principal.userId };
    const fullName = optionalText(body.full_name, 'full_name');
    if (fullName !== undefined) changes.fullName = fullName;
    const email = optionalText(body.email, 'email');
    if (email !== undefined) changes.email = email;
    let passwordChanged = false;
    if (body.security !== undefined && body.security !== null) {
      const security = body.security;
      if (security.roles !== undefined) {
        const roles = security.roles === null ? [] : checkRoles(security.roles);
        const same = roles.length === current.roles.length && roles.every((role) => current.roles.includes(role));
        if (!same) {
          if (self) throw restricted('security.roles', 'of your own account are changed by a platform admin (PATCH /users/{user_name}).');
          changes.roles = roles;
        }
      }
      if (security.enabled !== undefined) {
        const enabled = security.enabled ?? true;
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
        const owned = [
          ...(error.count > 0 ? [`${error.count} extension${error.count === 1 ? '' : 's'}`] : []),
          ...(error.deployments > 0 ? [`${error.deployments} deployment${error.deployments === 1 ? '' : 's'}`] : []),
        ];
        const them = error.count + error.deployments === 1 ? 'it' : 'them';
        throw refuse(
          `[${userName}] still owns ${owned.join(' and ')}. Delete ${them} first, or repeat with ` +
            `?reassign_extensions_to=<user name> to hand ${them} over.`,
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
