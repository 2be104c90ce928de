// The Extension as the API answers it (Elastic's spec), and how the CLI shows it to people.
import type { IOStreams } from '../../io-streams.js';
import { printFields } from '../../output.js';
import { formatBytes } from '../../progress.js';

export interface Extension {
  id: string;
  name: string;
  version: string;
  extension_type: 'plugin' | 'bundle';
  description?: string;
  url: string;
  download_url?: string;
  deployments?: string[];
  file_metadata?: { last_modified_date?: string; size?: number; url?: string; sha256?: string };
}

export const EXTENSION_TYPES = ['plugin', 'bundle'] as const;

export const extensionPath = (id: string) => `/deployments/extensions/${encodeURIComponent(id)}`;

export function printExtension(io: IOStreams, extension: Extension): void {
  const file = extension.file_metadata;
  printFields(io, [
    ['id', extension.id],
    ['name', extension.name],
    ['version', extension.version],
    ['type', extension.extension_type],
    ['description', extension.description],
    ['url', extension.url],
    ['download_url', extension.download_url],
    ['size', file?.size !== undefined ? `${file.size} bytes (${formatBytes(file.size)})` : 'no file yet'],
    ['sha256', file?.sha256],
    ['last modified', file?.last_modified_date],
    ['deployments', extension.deployments?.join(', ')],
  ]);
}
