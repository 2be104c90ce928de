// extrepo rm ID: deletes an extension after asking, unless --yes. Without a terminal to ask on and
// without --yes it refuses (exit 2): a script must say --yes to delete.
import { CliError, UsageError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { confirm } from '../../prompt.js';
import { extensionPath, type Extension } from './extension.js';

export interface RmOptions {
  yes?: boolean;
}

export async function runRm(id: string, options: RmOptions, f: Factory): Promise<void> {
  const client = await f.client();
  if (!options.yes) {
    if (!f.io.stdinIsTTY) {
      throw new UsageError(`refusing to delete extension ${id} without confirmation: stdin is not a terminal; pass --yes`);
    }
    const extension = await client.json<Extension>('GET', extensionPath(id), undefined, f.signal);
    const sure = await confirm(f.io, `Delete ${extension.extension_type} ${extension.name} ${extension.version} (${id})?`);
    if (!sure) throw new CliError('not deleted');
  }
  await client.json('DELETE', extensionPath(id), undefined, f.signal);
  if (!f.io.quiet) f.io.err(`Deleted extension ${id}.\n`);
}
