// The rules the server enforces on an extension's fields (src/domain/request-rules.ts), checked in
// the form first so a person sees them before sending. The server stays the judge: its refusals are
// shown on the field its `fields` names.
import type { ExtensionType } from '../api/types';

export const LIMITS = { name: 255, version: 64, description: 4096, downloadUrl: 2048 } as const;

const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const BUNDLE_VERSION = /^(?:\*|\d+\.\*|\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

export const VERSION_HELP: Record<ExtensionType, string> = {
  plugin: 'The exact Elasticsearch version the plugin was built for, such as 8.12.2 (it must match elasticsearch.version in its descriptor).',
  bundle: '"*" for every version, a major version such as "8.*", or an exact version such as 8.12.2.',
};

export interface ExtensionFields {
  name: string;
  version: string;
  extension_type: ExtensionType;
  description: string;
  download_url: string;
}

export type FieldErrors = Partial<Record<keyof ExtensionFields | 'file', string>>;

export function checkFields(fields: ExtensionFields, kind: 'create' | 'update'): FieldErrors {
  const errors: FieldErrors = {};
  const { name, version, extension_type: type, description, download_url: url } = fields;
  if (name.trim() === '') errors.name = 'A name is required.';
  else if (name.length > LIMITS.name) errors.name = `At most ${LIMITS.name} characters (now ${name.length}).`;
  else if (kind === 'create' && !NAME_PATTERN.test(name)) errors.name = 'Use only ASCII letters, digits, "_", "." and "-".';
  if (version === '') errors.version = 'A version is required.';
  else if (version.length > LIMITS.version) errors.version = `At most ${LIMITS.version} characters.`;
  else if (type === 'plugin' && !EXACT_VERSION.test(version)) errors.version = `Not valid for a plugin. ${VERSION_HELP.plugin}`;
  else if (type === 'bundle' && !BUNDLE_VERSION.test(version)) errors.version = `Not valid for a bundle. ${VERSION_HELP.bundle}`;
  if (description.length > LIMITS.description) errors.description = `At most ${LIMITS.description} characters (now ${description.length}).`;
  if (url !== '') {
    if (url.length > LIMITS.downloadUrl) errors.download_url = `At most ${LIMITS.downloadUrl} characters.`;
    else if (!/^https?:\/\/[^/\s]+/i.test(url)) errors.download_url = 'An http:// or https:// address of a zip file.';
  }
  return errors;
}

/** Puts a server refusal on the field it names (BasicFailedReply `fields`), or returns it unplaced. */
export function placeServerError(fieldNames: readonly string[], message: string): { field: keyof FieldErrors | null; message: string } {
  const known = ['name', 'version', 'extension_type', 'description', 'download_url'];
  const field = fieldNames.find((name) => known.includes(name));
  return { field: (field as keyof FieldErrors | undefined) ?? null, message };
}
