// Renders a stored extension as Elastic's `Extension` model. Empty optional strings are omitted
// (as Elastic's own responses do, docs/client-compatibility.md, "Extension ids") and `file_metadata` appears only once a file exists.
import type { Extension, ExtensionFileMetadata } from '../api-types.js';
import type { ExtensionRecord } from '../stores/metadata-store.js';
import { repoUrl } from './extension-ids.js';

/** Elastic's `Extension`, with the sha256 extrepo adds to `file_metadata` (Go clients ignore unknown fields). */
export type ExtensionView = Omit<Extension, 'file_metadata'> & {
  file_metadata?: Required<ExtensionFileMetadata> & { sha256: string };
};

export interface ViewOptions {
  /** Absolute link for the file, or null if the extension has no file. */
  fileUrl: string | null;
  /** Deployment ids to list; undefined leaves `deployments` out. */
  deployments?: string[];
  /** For readers who may not change the extension: the password in download_url becomes ****. */
  maskDownloadUrlPassword?: boolean;
}

export function renderExtension(record: ExtensionRecord, options: ViewOptions): ExtensionView {
  const view: ExtensionView = {
    id: record.id,
    name: record.name,
    version: record.version,
    extension_type: record.extensionType,
    url: repoUrl(record.id),
  };
  if (record.description !== null) view.description = record.description;
  if (record.downloadUrl !== null) {
    view.download_url = options.maskDownloadUrlPassword ? maskUrlPassword(record.downloadUrl) : record.downloadUrl;
  }
  if (options.deployments !== undefined) view.deployments = options.deployments;
  if (record.file !== null && options.fileUrl !== null) {
    view.file_metadata = {
      last_modified_date: record.file.uploadedAt.toISOString(),
      size: record.file.size,
      url: options.fileUrl,
      sha256: record.file.sha256,
    };
  }
  return view;
}

/**
 * `url` with the password of its user info replaced by ****, everything else as stored. Whoever
 * may change the extension gets download_url verbatim (Terraform compares it with its state);
 * a viewer has no use for the password of the server it came from. Edited as text, not through
 * URL, which would re-serialize (and so change) the rest.
 */
export function maskUrlPassword(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme === -1) return url;
  const start = scheme + 3;
  // The authority ends at the first / ? # (or \, which WHATWG URLs read as / for http).
  const rest = url.slice(start);
  const end = rest.search(/[/?#\\]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  // As URL parsers do: the user info runs up to the last @, the password from its first :.
  const at = authority.lastIndexOf('@');
  if (at === -1) return url;
  const colon = authority.indexOf(':');
  if (colon === -1 || colon > at || colon === at - 1) return url;
  return url.slice(0, start + colon + 1) + '****' + url.slice(start + at);
}

const headersOf = new WeakMap<ExtensionRecord, Readonly<Record<string, string>>>();

/** The x-cloud-resource-* headers; computed once per record object (records are values). */
export function resourceHeaders(record: ExtensionRecord): Readonly<Record<string, string>> {
  let headers = headersOf.get(record);
  if (headers === undefined) {
    headers = {
      'x-cloud-resource-version': String(record.resourceVersion),
      'x-cloud-resource-created': record.createdAt.toISOString(),
      'x-cloud-resource-last-modified': record.modifiedAt.toISOString(),
    };
    headersOf.set(record, headers);
  }
  return headers;
}
