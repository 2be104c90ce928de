// Who is calling. Authentication produces it; the domain uses it for ownership and permissions.
export type Role = 'ece_platform_admin' | 'ece_platform_viewer' | 'ece_deployment_manager' | 'ece_deployment_viewer';

export interface Principal {
  userId: string;
  /** id of the API key used, for audit; null for other credentials */
  keyId: string | null;
  roles: readonly Role[];
}

export function seesAllExtensions(principal: Principal): boolean {
  return principal.roles.includes('ece_platform_admin') || principal.roles.includes('ece_platform_viewer');
}

export function mayChangeExtensions(principal: Principal): boolean {
  return principal.roles.includes('ece_platform_admin') || principal.roles.includes('ece_deployment_manager');
}
