// The shapes the console reads and sends. They come from src/api-types.ts, which is generated from
// the API document in spec/ (npm run generate:api-types), so they cannot drift from what the server
// documents. This file only re-exports them and adds what the spec does not say:
// - extrepo's fields that Elastic's verbatim definitions lack (file_metadata.sha256, who is signed in);
// - what extrepo always answers where ECE's definition leaves a field optional (a user's roles);
// - the console's own query shapes.
import type {
  AuthenticationInfo as EceAuthenticationInfo,
  Extension,
  ExtensionFileMetadata,
  ExtensionsPage,
  User,
  UserSecurity,
} from '../../../src/api-types';

export type {
  ApiKeyResponse,
  AuditRecord,
  AuditRecords,
  CreateExtensionRequest,
  ExtensionFileVersion,
  ExtensionFileVersions,
  TokenResponse,
} from '../../../src/api-types';

export type ExtensionType = Extension['extension_type'];

/**
 * An Extension as extrepo answers it: Elastic's model, with the sha256 extrepo adds to file_metadata
 * (not in Elastic's extract; the server's src/domain/extension-view.ts says the same) and, once a
 * file exists, every file_metadata field present.
 */
export type ExtensionView = Omit<Extension, 'file_metadata'> & {
  file_metadata?: Required<ExtensionFileMetadata> & { sha256: string };
};

/** A browse page (spec/extrepo-extensions-browse.swagger.json) of ExtensionViews. */
export type ExtensionViewPage = Omit<ExtensionsPage, 'extensions'> & { extensions: ExtensionView[] };

export type Role = 'ece_platform_admin' | 'ece_platform_viewer' | 'ece_deployment_manager' | 'ece_deployment_viewer';

export const ROLES: readonly Role[] = ['ece_platform_admin', 'ece_platform_viewer', 'ece_deployment_manager', 'ece_deployment_viewer'];

/** GET /users/auth: ECE's AuthenticationInfo plus who is signed in and how (extrepo's fields, src/http/routes/auth/sessions.ts). */
export type SignedInInfo = EceAuthenticationInfo & {
  user_name: string;
  authentication_method: string;
  roles: Role[];
  api_key_id?: string;
};

/** ECE's User; extrepo always answers security.roles (one of the four roles) and security.enabled. */
export type UserView = Omit<User, 'security'> & {
  security: Omit<UserSecurity, 'roles' | 'enabled'> & { roles: Role[]; enabled: boolean };
};

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
  /** Each extension lists the deployments that use it (the table's Deployments column). */
  includeDeployments?: boolean;
}

/** The filters of GET /audit (spec/extrepo-audit.swagger.json). */
export interface AuditQuery {
  from: number;
  size: number;
  user?: string;
  action?: string;
  outcome?: 'success' | 'failure';
  since?: string;
  until?: string;
}
