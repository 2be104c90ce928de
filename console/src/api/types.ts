// The shapes the console reads and sends: Elastic's definitions (spec/ece-extensions.swagger.json,
// spec/ece-users.swagger.json) and extrepo's additions (the list's paging fields, /audit), as the
// server answers them. Only the fields the console uses are listed.

export type ExtensionType = 'plugin' | 'bundle';

export interface FileMetadata {
  last_modified_date: string;
  size: number;
  url: string;
  sha256: string;
}

export interface Extension {
  id: string;
  name: string;
  version: string;
  extension_type: ExtensionType;
  description?: string;
  download_url?: string;
  url: string;
  file_metadata?: FileMetadata;
  deployments?: string[];
}

export interface ExtensionRequest {
  name: string;
  version: string;
  extension_type: ExtensionType;
  description?: string;
  download_url?: string;
}

export type SortField = 'name' | 'extension_type' | 'version' | 'size' | 'sha256' | 'last_modified';
export type SortDirection = 'asc' | 'desc';

/** extrepo's browse parameters of GET /deployments/extensions (ECE clients send none of them). */
export interface BrowseQuery {
  search?: string;
  type?: ExtensionType;
  sort: SortField;
  order: SortDirection;
  size: number;
  cursor?: string;
}

export interface ExtensionPage {
  extensions: Extension[];
  total: number;
  next_cursor?: string;
}

export interface TokenResponse {
  token: string;
  session_expiration_time: string;
}

export type Role = 'ece_platform_admin' | 'ece_platform_viewer' | 'ece_deployment_manager' | 'ece_deployment_viewer';

export const ROLES: readonly Role[] = ['ece_platform_admin', 'ece_platform_viewer', 'ece_deployment_manager', 'ece_deployment_viewer'];

/** GET /users/auth: ECE's AuthenticationInfo plus who is signed in (extrepo's fields). */
export interface AuthenticationInfo {
  user_name: string;
  authentication_method: string;
  roles: Role[];
  api_key_id?: string;
  expires_at?: string;
}

export interface User {
  user_name: string;
  full_name?: string;
  email?: string;
  builtin?: boolean;
  security: { roles: Role[]; enabled: boolean; password?: string };
  metadata?: { created_at?: string; last_login_at?: string };
}

export interface ApiKey {
  id: string;
  user_id?: string;
  description: string;
  key?: string;
  creation_date: string;
  expiration_date?: string;
}

export interface AuditRecord {
  id: number;
  at: string;
  user_id?: string;
  api_key_id?: string;
  action: string;
  target?: string;
  outcome: 'success' | 'failure';
  status: number;
  error_code?: string;
  client_address?: string;
  request_id?: string;
}

export interface AuditPage {
  total: number;
  from: number;
  size: number;
  records: AuditRecord[];
}

export interface AuditQuery {
  from: number;
  size: number;
  user?: string;
  action?: string;
  outcome?: 'success' | 'failure';
  since?: string;
  until?: string;
}
