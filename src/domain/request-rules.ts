// Rules on create/update bodies that the JSON schema from Elastic's spec cannot express. Each rule
// names the offending field so clients can show it (BasicFailedReplyElement.fields).
import type { CreateExtensionRequest, UpdateExtensionRequest } from '../api-types.js';
import { apiError } from '../errors.js';
import type { ExtensionType } from '../stores/metadata-store.js';

export const LIMITS = {
  name: 255,
  version: 64,
  description: 4096,
  downloadUrl: 2048,
} as const;

/** A create or update body, as the route schemas from the spec have already checked it. */
export type ExtensionRequestBody = CreateExtensionRequest | UpdateExtensionRequest;

export interface ExtensionMetadata {
  name: string;
  version: string;
  extensionType: ExtensionType;
  description: string | null;
  downloadUrl: string | null;
}

// The spec's create description: "Only ASCII alphanumeric and [_.-] characters allowed".
const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const BUNDLE_VERSION = /^(?:\*|\d+\.\*|\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

function invalid(field: string, message: string) {
  return apiError('invalidJson', message, { fields: [field] });
}

function checkLength(field: string, value: string, max: number): void {
  if (value.length > max) {
    throw invalid(field, `${field} is ${value.length} characters long; the maximum is ${max}.`);
  }
}

export function checkExtensionRequest(body: ExtensionRequestBody, kind: 'create' | 'update'): ExtensionMetadata {
  const { name, version, extension_type: extensionType } = body;
  if (name.trim() === '') throw invalid('name', 'name must not be empty.');
  checkLength('name', name, LIMITS.name);
  if (kind === 'create' && !NAME_PATTERN.test(name)) {
    throw invalid('name', `name "${name}" contains characters that are not allowed: use only ASCII letters, digits, "_", "." and "-".`);
  }
  checkLength('version', version, LIMITS.version);
  if (extensionType === 'plugin' && !EXACT_VERSION.test(version)) {
    throw invalid(
      'version',
      `version "${version}" is not valid for a plugin: use the exact Elasticsearch version the plugin was built for, such as 8.12.2.`,
    );
  }
  if (extensionType === 'bundle' && !BUNDLE_VERSION.test(version)) {
    throw invalid(
      'version',
      `version "${version}" is not valid for a bundle: use "*", a major version such as "8.*", or an exact version such as 8.12.2.`,
    );
  }
  const description = body.description ?? '';
  checkLength('description', description, LIMITS.description);
  const downloadUrl = body.download_url ?? '';
  checkLength('download_url', downloadUrl, LIMITS.downloadUrl);
  if (downloadUrl !== '') checkDownloadUrlSyntax(downloadUrl);
  return {
    name,
    version,
    extensionType,
    description: description === '' ? null : description,
    downloadUrl: downloadUrl === '' ? null : downloadUrl,
  };
}

// A download_url that cannot be fetched is the spec's "could not download" failure, so it shares
// the code Elastic declares for it rather than the generic schema error.
function checkDownloadUrlSyntax(value: string): void {
  const fail = (message: string) => apiError('requestExecutionFailed', message, { fields: ['download_url'] });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail('download_url is not a valid absolute URL: give an http or https URL of the zip file.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(`download_url must use http or https, got ${url.protocol.replace(/:$/, '')}.`);
  }
}
