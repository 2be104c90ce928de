// Renders a file version (extrepo's history, issue 13; not part of ECE) as the API shows it, in
// ECE's snake_case style. Unknown fields are left out rather than sent as null: a version backfilled
// from before history existed has no `created_by`, and a bundle has no `plugin`.
import type { FileVersionRecord } from '../stores/metadata-store.js';
import { maskUrlPassword } from './extension-view.js';

export interface FileVersionView {
  version: number;
  sha256: string;
  size: number;
  created: string;
  created_by?: string;
  source: { kind: 'upload' | 'download_url'; form?: 'raw' | 'multipart'; download_url?: string };
  plugin?: { name: string; version: string; classname?: string; elasticsearch_version: string };
  current: boolean;
  url: string;
}

/** maskDownloadUrlPassword: for readers who may not change the extension, as its own download_url is. */
export function renderFileVersion(version: FileVersionRecord, url: string, maskDownloadUrlPassword = false): FileVersionView {
  const source: FileVersionView['source'] = { kind: version.source.kind };
  if (version.source.form !== undefined) source.form = version.source.form;
  if (version.source.downloadUrl !== undefined) {
    source.download_url = maskDownloadUrlPassword ? maskUrlPassword(version.source.downloadUrl) : version.source.downloadUrl;
  }
  const view: FileVersionView = {
    version: version.version,
    sha256: version.sha256,
    size: version.size,
    created: version.createdAt.toISOString(),
    source,
    current: version.current,
    url,
  };
  if (version.createdBy !== null) view.created_by = version.createdBy;
  if (version.plugin !== null) {
    view.plugin = { name: version.plugin.name, version: version.plugin.version, elasticsearch_version: version.plugin.elasticsearchVersion };
    if (version.plugin.classname !== null) view.plugin.classname = version.plugin.classname;
  }
  return view;
}
