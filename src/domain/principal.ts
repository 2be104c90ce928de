// Who is calling. Authentication produces it; the domain uses it for ownership and permissions.
export type Role = 'ece_platform_admin' | 'ece_platform_viewer' | 'ece_deployment_manager' | 'ece_deployment_viewer';

export const ROLES: readonly Role[] = ['ece_platform_admin', 'ece_platform_viewer', 'ece_deployment_manager', 'ece_deployment_viewer'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

const IMPLIES: Record<Role, readonly Role[]> = {
  ece_platform_admin: ROLES,
  ece_platform_viewer: ['ece_platform_viewer', 'ece_deployment_viewer'],
  ece_deployment_manager: ['ece_deployment_manager', 'ece_deployment_viewer'],
  ece_deployment_viewer: ['ece_deployment_viewer'],
};

/** Every role whose rights `roles` include: an admin may hand out a viewer key, never the reverse. */
export function impliedRoles(roles: readonly Role[]): Set<Role> {
  return new Set(roles.flatMap((role) => IMPLIES[role]));
}

/**
 * The roles among `roles` that the caller's credential does not hold (or imply). A credential may
 * only yield or change a credential whose roles it already holds: otherwise a key narrowed to
 * ece_platform_viewer could set its user's password and sign in with all of the user's roles.
 */
export function rolesBeyond(principal: Principal, roles: readonly string[]): string[] {
  const held = impliedRoles(principal.roles);
  return roles.filter((role) => !held.has(role as Role));
}

/** How the caller proved who it is. */
export type AuthMethod = 'api_key' | 'basic' | 'token';

export interface Principal {
  userId: string;
  /** id of the API key used, for audit; null for other credentials */
  keyId: string | null;
  /** The roles in force for this request: the user's, narrowed by the key's when a key is used. */
  roles: readonly Role[];
  method?: AuthMethod;
  /** The session behind a bearer token. */
  sessionId?: string | null;
  /** When the bearer token expires. */
  expiresAt?: Date | null;
}

export function seesAllExtensions(principal: Principal): boolean {
  return principal.roles.includes('ece_platform_admin') || principal.roles.includes('ece_platform_viewer');
}

/** Platform admins and viewers see every extension (and deployment); anyone else only their own. */
export function maySee(principal: Principal, ownerId: string | null): boolean {
  return seesAllExtensions(principal) || ownerId === principal.userId;
}

/** Readers who may not change an extension see its download_url without the password. */
export function masksDownloadUrl(principal: Principal, extension: { downloadUrl: string | null; ownerId: string | null }): boolean {
  return extension.downloadUrl !== null && !mayChangeExtension(principal, extension.ownerId);
}

export function mayChangeExtensions(principal: Principal): boolean {
  return principal.roles.includes('ece_platform_admin') || principal.roles.includes('ece_deployment_manager');
}

/** Platform admins change any extension; deployment managers only their own. */
export function mayChangeExtension(principal: Principal, ownerId: string | null): boolean {
  if (principal.roles.includes('ece_platform_admin')) return true;
  return principal.roles.includes('ece_deployment_manager') && ownerId === principal.userId;
}

/** What a role may do beyond extensions and its own account (see README "Permissions"). */
export type Permission = 'users.read' | 'users.write' | 'keys.read_all' | 'keys.write_all' | 'audit.read';

const GRANTS: Record<Permission, readonly Role[]> = {
  'users.read': ['ece_platform_admin', 'ece_platform_viewer'],
  'users.write': ['ece_platform_admin'],
  'keys.read_all': ['ece_platform_admin', 'ece_platform_viewer'],
  'keys.write_all': ['ece_platform_admin'],
  'audit.read': ['ece_platform_admin'],
};

export function hasPermission(principal: Principal, permission: Permission): boolean {
  return principal.roles.some((role) => GRANTS[permission].includes(role));
}
