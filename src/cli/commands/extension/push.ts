// extrepo push PATH: a zip or a directory into the repository, in three steps.
//
//  1. Check, before a byte is sent. A directory is zipped for this pass and goes through the
//     server's own validator, counted and hashed on the way. A zip file's outline (its central
//     directory and plugin descriptor: archive/outline-check.ts) is judged by the server's rules in
//     milliseconds; if it raises any doubt, the whole file goes through the server's validator
//     first. A bad plugin is refused with the server's words and nothing is created.
//  2. Create the extension (unless --id names an existing one).
//  3. Upload, as a raw body with a Content-Length: a directory is zipped a second time, on the fly
//     (deterministic, so the bytes are the same as in step 1; no temporary file is ever written).
//     The last chunk is held back until the bytes sent are proven to be the ones checked (same
//     size and sha256 for a directory; same size and mtime for a zip file), so a file edited
//     between the passes fails the upload instead of storing something unchecked. A zip file's
//     bytes also go through the server's validator on the way (CRC-32s, real inflated sizes), so
//     the last chunk leaves only once the whole archive has passed it: reading a large zip twice
//     would have cost push a third of curl's speed, for checks the outline makes pointless
//     for any archive but a corrupt or forged one.
//     If the upload fails or is interrupted, an extension created in step 2 is deleted again.
//
// Zipping twice costs CPU for a directory but keeps memory flat and the disk untouched; the
// alternative (validate while sending, abort on a violation) would create the extension and send
// bytes before knowing the archive is acceptable.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { ArchiveRejectedError, createArchiveValidator, type ArchiveExpectations } from '../../../archive/index.js';
import { CliError, UsageError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { printJson } from '../../output.js';
import { formatBytes, startProgress, type Progress } from '../../progress.js';
import { folderDescriptor, zipDescriptor, type Descriptor } from '../../archive/descriptor.js';
import { archiveRejection, validateArchive } from '../../archive/local-validation.js';
import { DEFAULT_ARCHIVE_LIMITS } from '../../../archive/default-limits.js';
import { outlineLooksAcceptable } from '../../archive/outline-check.js';
import { EXTENSION_TYPES, extensionPath, printExtension, type Extension } from './extension.js';

export interface PushOptions {
  name?: string;
  version?: string;
  type?: string;
  description?: string;
  id?: string;
  json?: boolean;
}

interface FolderSource {
  kind: 'folder';
  path: string;
  /** Streams the folder's archive anew: the same bytes each time. */
  zip: () => Readable;
}

interface ZipSource {
  kind: 'zip';
  path: string;
  size: number;
  mtimeMs: number;
}

type Source = FolderSource | ZipSource;

interface Plan {
  extensionType: 'plugin' | 'bundle';
  name: string;
  version: string;
  description?: string;
}

interface Checked {
  size: number;
  /** Known for a directory (its zip is hashed in the check pass); a zip file is not hashed twice. */
  sha256: string | null;
}

export async function runPush(target: string, options: PushOptions, f: Factory): Promise<void> {
  if (options.type !== undefined && !(EXTENSION_TYPES as readonly string[]).includes(options.type)) {
    throw new UsageError(`--type must be plugin or bundle, not "${options.type}"`);
  }
  if (options.id !== undefined && [options.name, options.version, options.type, options.description].some((v) => v !== undefined)) {
    throw new UsageError('--id replaces only the file; change the metadata with `extrepo update ID` first');
  }
  const client = await f.client();
  const source = await openSource(target);
  const plan: Plan = options.id
    ? planFromExisting(await client.json<Extension>('GET', extensionPath(options.id), undefined, f.signal))
    : await planNew(source, options);
  const expect: ArchiveExpectations = { extensionType: plan.extensionType, version: plan.version };
  const checked = await check(source, expect, f.signal);

  let id = options.id;
  let created = false;
  if (id === undefined) {
    const extension = await client.json<Extension>(
      'POST',
      '/deployments/extensions',
      {
        name: plan.name,
        version: plan.version,
        extension_type: plan.extensionType,
        ...(plan.description ? { description: plan.description } : {}),
      },
      f.signal,
    );
    id = extension.id;
    created = true;
  }

  let uploaded: Extension;
  const progress = await startProgress(f.io, `push ${path.basename(source.path)}`, checked.size);
  try {
    const guard = new SameBytesGuard(source, checked, progress);
    const body =
      source.kind === 'zip'
        ? pipeline(openBody(source), createArchiveValidator({ limits: DEFAULT_ARCHIVE_LIMITS, expect }), guard, () => undefined)
        : pipeline(openBody(source), guard, () => undefined);
    uploaded = await client.upload<Extension>(extensionPath(id), body, checked.size, f.signal).catch((error: unknown) => {
      throw error instanceof ArchiveRejectedError ? archiveRejection(error, plan.extensionType) : error;
    });
    progress.done();
  } catch (error) {
    progress.stop();
    if (created) {
      // No orphan: the extension made a moment ago goes again (not cancellable: it must happen).
      await client.json('DELETE', extensionPath(id)).then(
        () => f.io.err(`The upload failed; the new extension ${id} was deleted again.\n`),
        (deleteError: unknown) =>
          f.io.err(`warning: the upload failed and the new extension ${id} could not be deleted: ${(deleteError as Error).message}\n`),
      );
    }
    throw error;
  }
  const storedSha = uploaded.file_metadata?.sha256;
  if (checked.sha256 !== null && storedSha !== undefined && storedSha !== checked.sha256) {
    throw new CliError(`the server stored sha256 ${storedSha} but ${checked.sha256} was sent`);
  }
  if (options.json) return printJson(f.io, uploaded);
  if (!f.io.quiet) {
    f.io.err(
      `Pushed ${uploaded.extension_type} ${uploaded.name} ${uploaded.version} as ${uploaded.id} ` +
        `(${formatBytes(checked.size)}${storedSha ? `, sha256 ${storedSha}` : ''}).\n`,
    );
  }
  printExtension(f.io, uploaded);
}

async function openSource(target: string): Promise<Source> {
  const stats = await stat(target).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(error.code === 'ENOENT' ? `${target} does not exist` : `cannot read ${target}: ${error.message}`);
  });
  if (stats.isDirectory()) {
    // yazl and the folder walk load only for a folder: a zip file is sent as it is.
    const { listFolder, zipFolder } = await import('../../archive/folder-zip.js');
    const entries = await listFolder(target);
    return { kind: 'folder', path: target, zip: () => zipFolder(entries) };
  }
  if (stats.isFile()) return { kind: 'zip', path: target, size: stats.size, mtimeMs: stats.mtimeMs };
  throw new CliError(`${target} is neither a zip file nor a directory`);
}

function planFromExisting(extension: Extension): Plan {
  return { extensionType: extension.extension_type, name: extension.name, version: extension.version };
}

/** Names use ASCII letters, digits and _.- on the server; a file or folder name is made to fit. */
function nameFromPath(target: string): string {
  const base = path.basename(path.resolve(target)).replace(/\.zip$/i, '');
  return base.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+/, '') || 'extension';
}

async function planNew(source: Source, options: PushOptions): Promise<Plan> {
  const descriptor: Descriptor | null = source.kind === 'folder' ? await folderDescriptor(source.path) : await zipDescriptor(source.path);
  const extensionType = (options.type as Plan['extensionType'] | undefined) ?? (descriptor ? 'plugin' : 'bundle');
  if (extensionType === 'plugin') {
    const description = options.description ?? descriptor?.description;
    return {
      extensionType,
      name: options.name ?? descriptor?.name ?? nameFromPath(source.path),
      // Without a descriptor there is no version to take; the check pass then says the descriptor is missing.
      version: options.version ?? descriptor?.['elasticsearch.version'] ?? '',
      ...(description ? { description } : {}),
    };
  }
  return {
    extensionType,
    name: options.name ?? nameFromPath(source.path),
    version: options.version ?? '*',
    ...(options.description !== undefined ? { description: options.description } : {}),
  };
}

function openBody(source: Source): Readable {
  return source.kind === 'folder' ? source.zip() : createReadStream(source.path, { highWaterMark: 1024 * 1024 });
}

async function check(source: Source, expect: ArchiveExpectations, signal: AbortSignal): Promise<Checked> {
  if (source.kind === 'zip') {
    // The full pass gives the refusal in the server's words, or accepts what the screen doubted.
    if (!(await outlineLooksAcceptable(source.path, expect))) await validateArchive(openBody(source), expect, { signal });
    return { size: source.size, sha256: null };
  }
  const hash = createHash('sha256');
  let size = 0;
  await validateArchive(openBody(source), expect, {
    signal,
    observe: (chunk) => {
      size += chunk.length;
      hash.update(chunk);
    },
  });
  return { size, sha256: hash.digest('hex') };
}

/**
 * Passes the upload through, reporting progress, and holds back the last chunk until the bytes
 * are proven to be those that were checked; otherwise the body fails and the server, short of its
 * Content-Length, stores nothing.
 */
class SameBytesGuard extends Transform {
  private held: Buffer | null = null;
  private bytes = 0;
  private readonly hash;

  constructor(
    private readonly source: Source,
    private readonly checked: Checked,
    private readonly progress: Progress,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.hash = checked.sha256 !== null ? createHash('sha256') : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    if (this.bytes > this.checked.size) return callback(this.changed(`it grew past ${this.checked.size} bytes`));
    const previous = this.held;
    this.held = chunk;
    this.progress.update(this.bytes - chunk.length);
    callback(null, previous ?? undefined);
  }

  override _flush(callback: TransformCallback): void {
    this.verify().then(
      () => {
        this.progress.update(this.bytes);
        callback(null, this.held ?? undefined);
      },
      (error: Error) => callback(error),
    );
  }

  private async verify(): Promise<void> {
    if (this.bytes !== this.checked.size) throw this.changed(`${this.bytes} bytes were read, ${this.checked.size} checked`);
    if (this.hash !== null && this.hash.digest('hex') !== this.checked.sha256) throw this.changed('its content differs');
    if (this.source.kind === 'zip') {
      const now = await stat(this.source.path);
      if (now.size !== this.source.size || now.mtimeMs !== this.source.mtimeMs) throw this.changed('it was modified');
    }
  }

  private changed(detail: string): CliError {
    return new CliError(`${this.source.path} changed while it was being pushed (${detail}); nothing was stored — push again`);
  }
}
