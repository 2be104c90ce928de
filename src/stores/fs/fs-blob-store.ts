// The embedded blob store: one file per blob on local disk, content-addressed.
//
//   <dir>/sha256/ab/cd/<hash>   committed blobs (two fan-out levels keep directories small)
//   <dir>/incoming/<random>     uploads in progress; never readable under a hash
//
// A blob appears under its hash only through rename(2) of a fully written and fsynced temp file,
// followed by an fsync of the directory, so a crash leaves either the whole blob or nothing (plus a
// temp file that sweepIncomplete removes at the next start).
import { randomUUID } from 'node:crypto';
import { close as closeCallback, createReadStream, createWriteStream, open as openCallback, openSync, type WriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import {
  BlobNotFoundError,
  type BlobInfo,
  type BlobStore,
  type BlobUpload,
  type ByteRange,
  type ListBlobsOptions,
  type LocalBlobFile,
} from '../blob-store.js';
import { KeyedMutex } from '../keyed-mutex.js';

/** Stream buffer size: large buffers mean fewer syscalls on the 1 GiB upload/download hot path. */
const STREAM_BUFFER_BYTES = 1024 * 1024;
const openForReading = (file: string): Promise<number> => promisify(openCallback)(file, 'r');
const openForWriting = (file: string): Promise<number> => promisify(openCallback)(file, 'wx', 0o644);
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** What a failed open of a blob for reading throws: BlobNotFoundError when there is none. */
function openFailure(error: unknown, sha256: string): unknown {
  return isNotFound(error) ? new BlobNotFoundError(`blob ${sha256} does not exist`) : error;
}

function checkSha256(sha256: string): void {
  if (typeof sha256 !== 'string' || !SHA256_PATTERN.test(sha256)) {
    throw new TypeError(`invalid sha256 "${String(sha256).slice(0, 80)}"`);
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** fsync a directory, so that entries created or renamed in it survive a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Opens (creating if needed) a blob store rooted at `dir`. */
export async function openFsBlobStore(dir: string): Promise<BlobStore> {
  const root = path.resolve(dir);
  const blobsDir = path.join(root, 'sha256');
  const incomingDir = path.join(root, 'incoming');
  await fs.mkdir(blobsDir, { recursive: true });
  await fs.mkdir(incomingDir, { recursive: true });
  const store = new FsBlobStore(root, blobsDir, incomingDir);
  // Walking every blob takes time in proportion to their number: in the background, so that
  // opening (and the server's start) does not wait for it.
  store.startCounting();
  return store;
}

class FsBlobStore implements BlobStore {
  /** Running total: walked once after open, and adjusted by every commit and delete of this process. */
  private bytes = 0;
  /** Serializes commit/delete of one hash, so the running total counts each blob exactly once. */
  private readonly hashLocks = new KeyedMutex();
  /**
   * The walk counts one top directory (sha256/ab) at a time under its lock, in order; `walkedUpTo`
   * is the last one counted. A commit or delete in a directory already counted adjusts the total;
   * one in a directory not yet counted is left to the walk, which will see it.
   */
  private readonly walkLocks = new KeyedMutex();
  private walkedUpTo = '';
  private counted = false;
  private counting: Promise<void> = Promise.resolve();

  constructor(
    private readonly root: string,
    private readonly blobsDir: string,
    private readonly incomingDir: string,
  ) {}

  private blobPath(sha256: string): string {
    return path.join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  startCounting(): void {
    this.counting = this.countExistingBytes().catch(() => {
      // An unreadable directory: the total stays unknown rather than wrong.
      this.bytes = Number.NaN;
    });
  }

  private async countExistingBytes(): Promise<void> {
    // Every possible top directory, present or not: one created during the walk is then either
    // counted by the walk (not reached yet) or by the commit (already passed), never missed.
    for (let top = 0; top < 256; top++) {
      const first = top.toString(16).padStart(2, '0');
      await this.walkLocks.run(first, async () => {
        for (const second of (await readDirNames(path.join(this.blobsDir, first))).filter(isFanOut)) {
          for (const name of await readDirNames(path.join(this.blobsDir, first, second))) {
            if (!SHA256_PATTERN.test(name) || !name.startsWith(first + second)) continue;
            // Awaited first: `this.bytes += await …` reads the total before the await and would
            // drop every adjustment made meanwhile in a directory already counted.
            const size = (await this.stat(name))?.size ?? 0;
            this.bytes += size;
          }
        }
        this.walkedUpTo = first;
      });
    }
    this.counted = true;
  }

  /** Adds a commit's or delete's change of size to the total, unless the walk has yet to count it. */
  private async adjustTotal(sha256: string, change: () => Promise<number>): Promise<void> {
    const first = sha256.slice(0, 2);
    await this.walkLocks.run(first, async () => {
      const delta = await change();
      if (this.counted || first <= this.walkedUpTo) this.bytes += delta;
    });
  }

  async beginUpload(): Promise<BlobUpload> {
    const tempPath = path.join(this.incomingDir, randomUUID());
    // 'wx': a fresh file, never someone else's. flush: fsync before close, so that once the
    // stream has closed the bytes are on disk and commit only has to rename.
    // A plain descriptor (callback writes), as for reads: a FileHandle stream pays a promise per write.
    const fd = await openForWriting(tempPath);
    const writable = createWriteStream('', { fd, highWaterMark: STREAM_BUFFER_BYTES, flush: true });
    return new FsUpload(this, tempPath, writable);
  }

  /** Moves a finished temp file to its final place; called by FsUpload.commit. */
  async place(tempPath: string, sha256: string): Promise<void> {
    const finalPath = this.blobPath(sha256);
    const finalDir = path.dirname(finalPath);
    await this.hashLocks.run(sha256, () =>
      this.adjustTotal(sha256, async () => {
        const created = await fs.mkdir(finalDir, { recursive: true });
        const existing = await this.stat(sha256);
        const { size } = await fs.stat(tempPath);
        // Replacing an identical blob is harmless, and rename is atomic: readers see old or new.
        await fs.rename(tempPath, finalPath);
        await syncDirectory(finalDir);
        if (created !== undefined) {
          // Fan-out directories created just now must be recorded in their parents too.
          let dir = finalDir;
          do {
            dir = path.dirname(dir);
            await syncDirectory(dir);
          } while (dir !== path.dirname(created) && dir.length > this.root.length);
        }
        return size - (existing?.size ?? 0);
      }),
    );
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    checkSha256(sha256);
    try {
      const stats = await fs.stat(this.blobPath(sha256));
      return { size: stats.size };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    checkSha256(sha256);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && 0 <= range.start && range.start <= range.end)) {
      throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
    }
    // Opening eagerly turns a missing blob into a rejection here rather than a stream error later.
    const fd = await this.openBlobFd(sha256);
    // A plain descriptor stream (callback reads), not FileHandle.createReadStream: the promise per
    // read of the latter cost about 40 % more CPU per GiB served in the download benchmark.
    return createReadStream('', { fd, start: range?.start, end: range?.end, highWaterMark: STREAM_BUFFER_BYTES });
  }

  /** A descriptor open for reading the blob; BlobNotFoundError when there is none. */
  private async openBlobFd(sha256: string): Promise<number> {
    try {
      return await openForReading(this.blobPath(sha256));
    } catch (error) {
      throw openFailure(error, sha256);
    }
  }

  async openFile(sha256: string): Promise<LocalBlobFile> {
    checkSha256(sha256);
    // Opened on the event loop, as nginx opens what it serves: a blob's directory entry is nearly
    // always in the kernel's cache (open takes 10-20 µs here), while a trip through libuv's thread
    // pool took 60-110 µs, a tenth of a 1 MiB range on one connection (docs/benchmarks.md, session 11).
    let fd: number;
    try {
      fd = openSync(this.blobPath(sha256), 'r');
    } catch (error) {
      throw openFailure(error, sha256);
    }
    let open = true;
    return {
      fd,
      close: () => {
        if (!open) return;
        open = false;
        closeCallback(fd, () => undefined);
      },
    };
  }

  async delete(sha256: string): Promise<void> {
    checkSha256(sha256);
    await this.hashLocks.run(sha256, () =>
      this.adjustTotal(sha256, async () => {
        const existing = await this.stat(sha256);
        if (!existing) return 0;
        try {
          await fs.unlink(this.blobPath(sha256));
          return -existing.size;
        } catch (error) {
          if (!isNotFound(error)) throw error;
          return 0;
        }
      }),
    );
  }

  /** In ascending order: readdir's names are sorted here, level by level (sha256/ab/cd/<hash>). */
  async *list(options: ListBlobsOptions = {}): AsyncIterable<string> {
    const after = options.startAfter;
    if (after !== undefined) checkSha256(after);
    const sortedNames = async (dir: string) => (await readDirNames(dir)).sort();
    for (const first of await sortedNames(this.blobsDir)) {
      if (!isFanOut(first) || (after !== undefined && first < after.slice(0, 2))) continue;
      for (const second of await sortedNames(path.join(this.blobsDir, first))) {
        if (!isFanOut(second) || (after !== undefined && first + second < after.slice(0, 4))) continue;
        for (const name of await sortedNames(path.join(this.blobsDir, first, second))) {
          if (!SHA256_PATTERN.test(name) || !name.startsWith(first + second)) continue;
          if (after !== undefined && name <= after) continue;
          yield name;
        }
      }
    }
  }

  async sweepIncomplete(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of await readDirNames(this.incomingDir)) {
      const tempPath = path.join(this.incomingDir, name);
      try {
        const stats = await fs.stat(tempPath);
        // 0 means "everything": do not let mtime granularity spare a file written this millisecond.
        if (olderThanMs > 0 && stats.mtimeMs >= cutoff) continue;
        await fs.unlink(tempPath);
        removed += 1;
      } catch (error) {
        if (!isNotFound(error)) throw error; // committed or aborted meanwhile
      }
    }
    return removed;
  }

  /** Waits for the walk after open (once); null if it failed. */
  async totalBytes(): Promise<number | null> {
    await this.counting;
    return Number.isNaN(this.bytes) ? null : this.bytes;
  }

  async ping(): Promise<void> {
    await fs.access(this.root, fsConstants.R_OK | fsConstants.W_OK);
  }

  async close(): Promise<void> {
    // Nothing to release: every stream owns (and closes) its own file handle.
  }
}

const isFanOut = (name: string) => /^[0-9a-f]{2}$/.test(name);

/** Names in a directory; a directory that vanished (or never existed) is empty. */
async function readDirNames(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

class FsUpload implements BlobUpload {
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly store: FsBlobStore,
    private readonly tempPath: string,
    readonly writable: WriteStream,
  ) {}

  async commit(sha256: string): Promise<void> {
    checkSha256(sha256);
    if (this.state === 'committed') return;
    if (this.state === 'aborted') throw new Error('upload was aborted');
    if (!this.writable.writableEnded) throw new Error('commit() before the writable was ended');
    await waitClosed(this.writable);
    if (!this.writable.writableFinished) throw new Error('upload stream did not finish writing');
    await this.store.place(this.tempPath, sha256);
    this.state = 'committed';
  }

  async abort(): Promise<void> {
    if (this.state === 'committed') return;
    this.state = 'aborted';
    if (!this.writable.destroyed) this.writable.destroy();
    await waitClosed(this.writable).catch(() => undefined);
    try {
      await fs.unlink(this.tempPath);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** Resolves once the write stream has closed its file (after the fsync); rejects if it failed. */
async function waitClosed(writable: WriteStream): Promise<void> {
  if (!writable.closed) await once(writable, 'close').catch(() => undefined);
  if (writable.errored) throw writable.errored;
}
