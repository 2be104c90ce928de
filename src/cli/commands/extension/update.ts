// extrepo update ID: changes the metadata (and with --download-url, the file, copied by the
// server). The API replaces name, version, description and download_url as a whole, so the current
// values are read first and only the options given change; the file is re-fetched only when
// --download-url is given.
import { UsageError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { printJson } from '../../output.js';
import { extensionPath, printExtension, type Extension } from './extension.js';

export interface UpdateOptions {
  name?: string;
  version?: string;
  description?: string;
  downloadUrl?: string;
  json?: boolean;
}

export async function runUpdate(id: string, options: UpdateOptions, f: Factory): Promise<void> {
  if ([options.name, options.version, options.description, options.downloadUrl].every((value) => value === undefined)) {
    throw new UsageError('nothing to change: give --name, --version, --description or --download-url');
  }
  const client = await f.client();
  const current = await client.json<Extension>('GET', extensionPath(id), undefined, f.signal);
  const body: Record<string, string> = {
    name: options.name ?? current.name,
    version: options.version ?? current.version,
    extension_type: current.extension_type,
  };
  const description = options.description ?? current.description;
  if (description) body.description = description;
  if (options.downloadUrl !== undefined) body.download_url = options.downloadUrl;
  const updated = await client.json<Extension>('POST', extensionPath(id), body, f.signal);
  if (options.json) return printJson(f.io, updated);
  printExtension(f.io, updated);
}
