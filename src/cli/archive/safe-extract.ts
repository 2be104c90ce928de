// Unpacks a verified archive into a directory the way a bundle lands in an Elasticsearch config
// directory, and refuses anything that could write elsewhere. Two lines of defence:
//   1. the whole file first goes through the server's validator (src/archive/): absolute paths, `..`,
//      backslashes, NUL, symlink entries, encryption, CRC or size mismatches and zip bombs are
//      rejected before anything is written;
//   2. while writing, every path is resolved under DIR, no existing symlink or non-directory on the
//      way is followed (each directory is lstat'ed, files are opened with O_NOFOLLOW).
// If anything fails (or Ctrl-C) the files and directories this run created are removed again.
import { constants, createReadStream } from 'node:fs';
import { lstat, mkdir, open, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import type { ArchiveExpectations } from '../../archive/index.js';
import { CliError } from '../cli-errors.js';
import { validateArchive } from './local-validation.js';

export interface ExtractResult {
  files: number;
  bytes: number;
}

export async function extractArchive(file: string, targetDir: string, expect: ArchiveExpectations, signal?: AbortSignal): Promise<ExtractResult> {
  await validateArchive(createReadStream(file), expect, signal ? { signal } : {});
  const root = path.resolve(targetDir);
  await mkdir(root, { recursive: true });
  const created: string[] = [];
  try {
    return await writeEntries(file, root, created, signal);
  } catch (error) {
    // Newest first, so directories are empty by the time they are removed.
    for (const item of created.reverse()) {
      await rm(item, { force: true }).catch(() => rmdir(item).catch(() => undefined));
    }
    throw error;
  }
}

function insideRoot(root: string, name: string): string {
  const target = path.resolve(root, ...name.split('/'));
  if (target !== root && !target.startsWith(root + path.sep)) {
    throw new CliError(`refusing to extract ${JSON.stringify(name)}: it would land outside ${root}`);
  }
  return target;
}

/** Creates the directories of `relative` under root one by one, refusing links and non-directories. */
async function ensureDirectories(root: string, segments: string[], created: string[]): Promise<void> {
  let current = root;
  for (const segment of segments) {
    current = path.join(current, segment);
    const stats = await lstat(current).catch(() => null);
    if (stats === null) {
      await mkdir(current);
      created.push(current);
    } else if (!stats.isDirectory()) {
      throw new CliError(`refusing to extract through ${current}: it is ${stats.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`);
    }
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (error, zip) =>
      error || !zip ? reject(error ?? new Error('cannot open zip')) : resolve(zip),
    ),
  );
}

async function writeEntries(file: string, root: string, created: string[], signal?: AbortSignal): Promise<ExtractResult> {
  const zip = await openZip(file);
  let files = 0;
  let bytes = 0;
  try {
    const nextEntry = () =>
      new Promise<yauzl.Entry | null>((resolve, reject) => {
        const cleanup = () => {
          zip.off('entry', onEntry);
          zip.off('end', onEnd);
          zip.off('error', onError);
        };
        const onEntry = (entry: yauzl.Entry) => (cleanup(), resolve(entry));
        const onEnd = () => (cleanup(), resolve(null));
        const onError = (error: Error) => (cleanup(), reject(error));
        zip.on('entry', onEntry);
        zip.on('end', onEnd);
        zip.on('error', onError);
        zip.readEntry();
      });
    for (let entry = await nextEntry(); entry !== null; entry = await nextEntry()) {
      if (signal?.aborted) throw signal.reason;
      const isDirectory = entry.fileName.endsWith('/');
      const name = isDirectory ? entry.fileName.slice(0, -1) : entry.fileName;
      const target = insideRoot(root, name);
      const segments = path.relative(root, target).split(path.sep);
      if (isDirectory) {
        await ensureDirectories(root, segments, created);
        continue;
      }
      await ensureDirectories(root, segments.slice(0, -1), created);
      const existed = (await lstat(target).catch(() => null)) !== null;
      const handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
      if (!existed) created.push(target);
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        zip.openReadStream(entry, (error, readable) => (error || !readable ? reject(error) : resolve(readable))),
      );
      await pipeline(stream, handle.createWriteStream(), signal ? { signal } : {});
      files += 1;
      bytes += entry.uncompressedSize;
    }
  } finally {
    zip.close();
  }
  return { files, bytes };
}
