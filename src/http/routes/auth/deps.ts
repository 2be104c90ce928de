import type { ApiKeyService } from '../../../auth/api-key-service.js';
import type { AuditLog } from '../../../auth/audit-log.js';
import type { AuthService } from '../../../auth/auth-service.js';
import type { UserService } from '../../../auth/user-service.js';

/** What the users, authentication, API-key and audit routes need. */
export interface AuthRouteDeps {
  auth: AuthService;
  users: UserService;
  keys: ApiKeyService;
  audit: AuditLog;
}
