// The one bag of what routes need, built once in app.ts: extension, deployment and file routes use
// the domain services and stores, the users, sessions, API-key and audit routes the auth services.
import type { ApiKeyService } from '../auth/api-key-service.js';
import type { AuditLog } from '../auth/audit-log.js';
import type { AuthService } from '../auth/auth-service.js';
import type { UserService } from '../auth/user-service.js';
import type { Config } from '../config.js';
import type { DeploymentService } from '../domain/deployment-service.js';
import type { ExtensionService } from '../domain/extension-service.js';
import type { FileLinkSigner } from '../domain/file-links.js';
import type { InstallLinkSigner } from '../domain/install-links.js';
import type { ExtensionRecord, FileVersionRecord } from '../stores/metadata-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';
import type { BlobStore } from '../stores/blob-store.js';
import type { S3Presigner } from '../stores/s3/s3-presign.js';
import type { KeptExtensionAnswers } from './kept-extension-answers.js';
import type { SendFile } from './sendfile.js';
import type { Metrics } from './plugins/metrics.js';

export interface RouteDeps {
  config: Config;
  service: ExtensionService;
  /** The deployments registry (issue 12): include_deployments, the in-use rule, self-managed installs. */
  deployments: DeploymentService;
  installLinks: InstallLinkSigner;
  store: MetadataStore;
  blobs: BlobStore;
  links: FileLinkSigner;
  /** Set when file links are presigned S3 URLs (EXTREPO_FILE_LINKS=presigned) rather than extrepo's own. */
  presigner?: S3Presigner | null;
  metrics: Metrics;
  /** GET /deployments/extensions/{id}'s serialized answers, kept per record (route and hot read). */
  extensionAnswers: KeptExtensionAnswers;
  /** sendfile(2) for local file downloads (EXTREPO_SENDFILE and the addon), else null: they are copied. */
  sendfile: SendFile | null;
  /** Origin for absolute links (EXTREPO_PUBLIC_URL, else the listening address). */
  publicBaseUrl(): string;
  /** Sign-in, bearer tokens and the credentials of every request. */
  auth: AuthService;
  users: UserService;
  keys: ApiKeyService;
  audit: AuditLog;
}

/** The absolute, signed file link of an extension, or null if it has no file. */
export function fileUrlOf(deps: RouteDeps, record: ExtensionRecord): string | null {
  if (record.file === null) return null;
  if (deps.presigner) {
    return deps.presigner.blobUrl(record.file.sha256, {
      expiresInSeconds: deps.config.linkTtlSeconds,
      contentType: 'application/zip',
      contentDisposition: `attachment; filename="${record.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.zip"`,
    });
  }
  return deps.publicBaseUrl() + deps.links.sign(record.id, record.file.sha256, new Date());
}

/** The absolute, signed link to one file version's exact bytes. */
export function fileVersionUrlOf(deps: RouteDeps, record: ExtensionRecord, version: FileVersionRecord): string {
  if (deps.presigner) {
    return deps.presigner.blobUrl(version.sha256, {
      expiresInSeconds: deps.config.linkTtlSeconds,
      contentType: 'application/zip',
      contentDisposition: `attachment; filename="${`${record.name}-v${version.version}`.replace(/[^A-Za-z0-9_.-]/g, '_')}.zip"`,
    });
  }
  return deps.publicBaseUrl() + deps.links.signVersion(record.id, version.version, version.sha256, new Date());
}
