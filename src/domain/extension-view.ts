// Renders a stored extension as Elastic's `Extension` model. Empty optional strings are omitted
// (as Elastic's own responses do, docs/client-compatibility.md, "Extension ids") and `file_metadata` appears only once a file exists.
import type { ExtensionRecord } from '../stores/metadata-store.js';
import { repoUrl } from './extension-ids.js';

export interface ExtensionView {
  id: string;
  name: string;
  version: string;
  extension_type: string;
  url: string;
  description?: string;
  download_url?: string;
  deployments?: string[];
  file_metadata?: {
    last_modified_date: string;
    size: number;
    url: string;
    sha256: string;
  };
}

export interface ViewOptions {
  /** Absolute link for the file, or null if the extension has no file. */
  fileUrl: string | null;
  /** Deployment ids to list; undefined leaves `deployments` out. */
  deployments?: string[];
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
  if (record.downloadUrl !== null) view.download_url = record.downloadUrl;
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
