// A directory, zipped on the fly as it streams (no temporary file), deterministically: the same
// files give the same bytes and so the same sha256, whoever runs it and whenever. Entries are
// sorted by name (a plugin descriptor first, where Elastic wants it for large plugins), every
// timestamp is 1980-01-01 00:00 in DOS form only (no extended-timestamp field), every file is mode
// 0644 and every directory 0755; owners are not recorded. Content is deflated by Node's zlib, so
// the bytes can differ between Node versions that ship a different zlib.
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { CliError } from '../cli-errors.js';
import { DESCRIPTOR_FILES } from './descriptor.js';

export interface FolderEntry {
  /** The entry name: relative, '/'-separated; directories end in '/'. */
  name: string;
  fullPath: string;
  size: number;
  directory: boolean;
}

/** Every file (and empty directory) under root, in archive order. Links and devices are refused. */
export async function listFolder(root: string): Promise<FolderEntry[]> {
  const entries: FolderEntry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    if (names.length === 0 && prefix !== '') entries.push({ name: prefix, fullPath: dir, size: 0, directory: true });
    for (const name of names) {
      const fullPath = path.join(dir, name);
      const stats = await lstat(fullPath);
      const entryName = prefix + name;
      if (stats.isSymbolicLink()) {
        throw new CliError(`${fullPath} is a symbolic link; an extension archive cannot hold links (copy the file in instead)`);
      }
      if (stats.isDirectory()) await walk(fullPath, `${entryName}/`);
      else if (stats.isFile()) entries.push({ name: entryName, fullPath, size: stats.size, directory: false });
      else throw new CliError(`${fullPath} is not a regular file or directory`);
    }
  };
  await walk(root, '');
  if (entries.length === 0) throw new CliError(`${root} is empty: there is nothing to push`);
  const rank = (entry: FolderEntry) => (DESCRIPTOR_FILES.includes(entry.name) ? 0 : 1);
  // Code-unit order, not locale order: the same on every machine.
  return entries.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** 1980-01-01 00:00 in local time: yazl writes DOS times from local fields, so this is TZ-proof. */
const FIXED_TIME = new Date(1980, 0, 1, 0, 0, 0);

/** A fresh stream of the zip; call again for a second, identical pass. */
export function zipFolder(entries: FolderEntry[]): Readable {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    if (entry.directory) {
      zip.addEmptyDirectory(entry.name, { mtime: FIXED_TIME, mode: 0o40755, forceDosTimestamp: true });
      continue;
    }
    zip.addReadStreamLazy(entry.name, { mtime: FIXED_TIME, mode: 0o100644, forceDosTimestamp: true, compress: true, size: entry.size }, (callback) =>
      callback(null, createReadStream(entry.fullPath)),
    );
  }
  zip.end();
  const output = zip.outputStream as Readable;
  // yazl reports a file that changed size (and read errors) on the ZipFile, not on its stream.
  zip.on('error', (error: Error) => output.destroy(error));
  return output;
}
