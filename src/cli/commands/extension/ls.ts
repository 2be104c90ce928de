// extrepo ls: the extensions the caller may see; a table, or the API's JSON with --json.
import { UsageError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { printJson, printTable } from '../../output.js';
import { formatBytes } from '../../progress.js';
import { EXTENSION_TYPES, type Extension } from './extension.js';

export interface LsOptions {
  type?: string;
  json?: boolean;
}

export async function runLs(options: LsOptions, f: Factory): Promise<void> {
  if (options.type !== undefined && !(EXTENSION_TYPES as readonly string[]).includes(options.type)) {
    throw new UsageError(`--type must be plugin or bundle, not "${options.type}"`);
  }
  const client = await f.client();
  const answer = await client.json<{ extensions: Extension[] }>('GET', '/deployments/extensions', undefined, f.signal);
  const extensions = answer.extensions.filter((extension) => options.type === undefined || extension.extension_type === options.type);
  if (options.json) return printJson(f.io, { extensions });
  if (extensions.length === 0) {
    f.io.err(options.type ? `No ${options.type}s.\n` : 'No extensions yet: add one with `extrepo push PATH`.\n');
    return;
  }
  printTable(
    f.io,
    ['ID', 'NAME', 'VERSION', 'TYPE', 'SIZE', 'MODIFIED'],
    extensions.map((extension) => [
      extension.id,
      extension.name,
      extension.version,
      extension.extension_type,
      extension.file_metadata?.size !== undefined ? formatBytes(extension.file_metadata.size) : '-',
      extension.file_metadata?.last_modified_date?.slice(0, 19).replace('T', ' ') ?? '-',
    ]),
  );
}
