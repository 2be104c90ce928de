// extrepo create --download-url URL: the server copies the file from the URL (synchronously).
import type { Factory } from '../../factory.js';
import { printJson } from '../../output.js';
import { printExtension, type Extension } from './extension.js';

export interface CreateOptions {
  downloadUrl: string;
  name: string;
  version: string;
  type: string;
  description?: string;
  json?: boolean;
}

export async function runCreate(options: CreateOptions, f: Factory): Promise<void> {
  const client = await f.client();
  if (!f.io.quiet) f.io.err(`The server is copying ${options.downloadUrl}…\n`);
  const extension = await client.json<Extension>(
    'POST',
    '/deployments/extensions',
    {
      name: options.name,
      version: options.version,
      extension_type: options.type,
      download_url: options.downloadUrl,
      ...(options.description !== undefined ? { description: options.description } : {}),
    },
    f.signal,
  );
  if (options.json) return printJson(f.io, extension);
  printExtension(f.io, extension);
}
