// A file_versions row as both SQL stores read and write it (migration 3), and the record built from
// it. Sizes and times are numbers from SQLite and decimal strings from pg (int8); `current` is 0/1
// in SQLite and a boolean in PostgreSQL.
import { FileConflictError, type FileSource, type FileVersionRecord, type NewFile, type PluginProperties } from '../metadata-store.js';

/** Every column but the time, in insert order; each store adds created_at in its own type. */
export const FILE_VERSION_COLUMNS =
  'extension_id, version, sha256, size, created_at, created_by, source_kind, source_form, source_url, ' +
  'plugin_name, plugin_version, plugin_classname, plugin_elasticsearch_version, current';

export interface FileVersionRow {
  extension_id: string;
  version: number;
  sha256: string;
  size: number | string;
  created_at: number | string;
  created_by: string | null;
  source_kind: string;
  source_form: string | null;
  source_url: string | null;
  plugin_name: string | null;
  plugin_version: string | null;
  plugin_classname: string | null;
  plugin_elasticsearch_version: string | null;
  current: number | boolean;
}

/** The provenance columns of a new version (everything but the key, the bytes, the time and `current`). */
export function provenanceColumns(
  file: NewFile,
): Pick<
  FileVersionRow,
  'created_by' | 'source_kind' | 'source_form' | 'source_url' | 'plugin_name' | 'plugin_version' | 'plugin_classname' | 'plugin_elasticsearch_version'
> {
  const source: FileSource = file.source ?? { kind: 'upload' };
  const plugin = file.plugin ?? null;
  return {
    created_by: file.createdBy ?? null,
    source_kind: source.kind,
    source_form: source.kind === 'upload' ? (source.form ?? null) : null,
    source_url: source.kind === 'download_url' ? (source.downloadUrl ?? null) : null,
    plugin_name: plugin?.name ?? null,
    plugin_version: plugin?.version ?? null,
    plugin_classname: plugin?.classname ?? null,
    plugin_elasticsearch_version: plugin?.elasticsearchVersion ?? null,
  };
}

export function rowToFileVersion(row: FileVersionRow): FileVersionRecord {
  const source: { kind: FileSource['kind']; form?: 'raw' | 'multipart'; downloadUrl?: string } = {
    kind: row.source_kind as FileSource['kind'],
  };
  if (row.source_form !== null) source.form = row.source_form as 'raw' | 'multipart';
  if (row.source_url !== null) source.downloadUrl = row.source_url;
  let plugin: PluginProperties | null = null;
  if (row.plugin_name !== null) {
    plugin = {
      name: row.plugin_name,
      version: row.plugin_version ?? '',
      classname: row.plugin_classname,
      elasticsearchVersion: row.plugin_elasticsearch_version ?? '',
    };
  }
  return {
    extensionId: row.extension_id,
    version: row.version,
    sha256: row.sha256,
    size: Number(row.size),
    createdAt: new Date(Number(row.created_at)),
    createdBy: row.created_by,
    source,
    plugin,
    current: row.current === true || row.current === 1,
  };
}

/** Enforces a conditional replacement (`?if_sha256=`, If-Match) against the stored file. */
export function checkFileCondition(current: string | null, expected: readonly string[] | 'any' | undefined): void {
  if (expected === undefined) return;
  const holds = expected === 'any' ? current !== null : current !== null && expected.includes(current);
  if (!holds) throw new FileConflictError(expected, current);
}
