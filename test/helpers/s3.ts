// A throwaway S3-compatible server for tests: s3rver on a random local port, its objects in a temp
// dir that stop() removes. s3rver implements the common object API but not every call (notably
// not UploadPartCopy, AbortMultipartUpload or ListMultipartUploads): tests that need those say so.
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

interface S3rverOptions {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

// s3rver ships no type declarations; this is the part of it we use.
const requireHere = createRequire(import.meta.url);
const S3rver = requireHere('s3rver') as new (options: S3rverOptions) => S3rverInstance;

interface S3rverListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

/** s3rver's FilesystemStore: the methods the workarounds below replace or call. */
interface S3rverFilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<unknown>;
  putObject(object: { bucket: string; key: string }): Promise<unknown>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata?: unknown): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(bucket: string, options: S3rverListOptions): Promise<unknown>;
  putBucket(bucket: string): Promise<unknown>;
  deleteBucket(bucket: string): Promise<unknown>;
}

const FilesystemStore = requireHere('s3rver/lib/stores/filesystem.js') as {
  prototype: S3rverFilesystemStore;
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
};

/**
 * Each directory's entries as s3rver's listing walks them (names sorted, and which are directories),
 * kept while the directory's mtime says nothing changed, so that a page of a listing costs the page and
 * not a `readdir` of a prefix of 100,000 objects (see listWithoutStatingEveryFile). A file written from
 * outside (the bench seeds its objects into s3rver's directory) changes the mtime. A directory's mtime
 * has the kernel's clock-tick resolution, so a write in the same tick as the read could go unseen:
 * s3rver's own writes that add files therefore forget the listings of their directory and its parents,
 * and its deletes beside a placeholder take the names out in place and note the new mtime.
 */
interface DirectoryListing {
  mtime: bigint;
  names: string[];
  dirs: Set<string>;
}
const listings = new Map<string, DirectoryListing>();

function lowerBound(names: readonly string[], name: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (names[middle]! < name) low = middle + 1;
    else high = middle;
  }
  return low;
}

const mtimeOf = (dir: string): bigint | null => fsSync.statSync(dir, { bigint: true, throwIfNoEntry: false })?.mtimeNs ?? null;

function listingOf(dir: string): DirectoryListing {
  // Read before the entries: a change between the two shows as a newer mtime next time.
  const mtime = mtimeOf(dir);
  const known = listings.get(dir);
  if (known && known.mtime === mtime) return known;
  let entries: fsSync.Dirent[];
  try {
    entries = mtime === null ? [] : fsSync.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    // A directory s3rver removed since (its multipart uploads' directory, an emptied prefix).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    entries = [];
  }
  const listing = {
    mtime: mtime ?? -1n,
    names: entries.map((entry) => entry.name).sort(),
    dirs: new Set(entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name)),
  };
  listings.set(dir, listing);
  return listing;
}

/** After a write that may have added `file` and directories on its way: read them again when next listed. */
function forgetListings(file: string): void {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    listings.delete(dir);
    if (dir === path.dirname(dir)) return;
  }
}

/**
 * After `files` of one directory were unlinked: out of its listing, in place, if the listing was current
 * when the deletes began (`before`, the directory's mtime then); otherwise it is read again when next listed.
 */
function dropFromListing(dir: string, files: readonly string[], before: bigint | null): void {
  const listing = listings.get(dir);
  if (!listing) return;
  if (listing.mtime !== before) {
    listings.delete(dir);
    return;
  }
  for (const file of files) {
    const name = path.basename(file);
    const at = lowerBound(listing.names, name);
    if (listing.names[at] === name) listing.names.splice(at, 1);
  }
  listing.mtime = mtimeOf(dir) ?? -1n;
}

/** Everything kept of a directory tree that is removed (a stopped test server's). */
function forgetTree(root: string): void {
  for (const dir of listings.keys()) if (dir === root || dir.startsWith(`${root}/`)) listings.delete(dir);
}

/**
 * The name of the placeholder file s3rver keeps in every directory it writes objects to. s3rver stores
 * the object `a/b/key` as the files `a/b/key._S3rver_object` (+ `.md5`, `_metadata.json`) and lists only
 * files ending in `._S3rver_object`, so this file is never an object: no listing, no GC, no test sees it.
 */
export const S3RVER_PLACEHOLDER = '.extrepo-placeholder';

/**
 * s3rver 3.7.1 bug, hit by concurrent uploads (the benchmark's small-bundle case, the chaos run): its
 * DeleteObject removes the key's directories once they are empty (`incoming/` after the last upload in
 * progress commits), while a concurrent PutObject has just created that directory and is about to open
 * its file there. The open fails with ENOENT on a write stream without an error listener, which takes
 * the whole s3rver process down (and a concurrent CopyObject into `sha256/` fails the same way with a 500).
 *
 * Workaround (issue 17): a placeholder file in each prefix the project writes to (`<prefix>sha256/`,
 * `<prefix>incoming/`, whatever the prefix or bucket a test or bench server chose). It is created before
 * the first object is written into a directory, so a directory that holds or held an object is never
 * empty, and s3rver's own clean-up stops there (deleteWithoutReadingThePrefix below only skips that
 * clean-up where the placeholder makes it a no-op). It replaces an earlier patch
 * that made DeleteObject skip the clean-up altogether; with the placeholder that patch is unnecessary
 * (the clean-up loop stops at the first non-empty directory, and every directory objects go to has one).
 */
function keepPlaceholders(): void {
  const store = FilesystemStore.prototype;
  const { putObject, copyObject } = store;
  const placeholderFor = async (self: S3rverFilesystemStore, bucket: string, key: string) => {
    const dir = path.dirname(self.getResourcePath(bucket, key, 'object'));
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, S3RVER_PLACEHOLDER), '', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  };
  store.putObject = async function (this: S3rverFilesystemStore, object) {
    await placeholderFor(this, object.bucket, object.key);
    try {
      return await putObject.call(this, object);
    } finally {
      forgetListings(this.getResourcePath(object.bucket, object.key, 'object'));
    }
  };
  store.copyObject = async function (this: S3rverFilesystemStore, srcBucket, srcKey, destBucket, destKey, replacementMetadata) {
    await placeholderFor(this, destBucket, destKey);
    try {
      return await copyObject.call(this, srcBucket, srcKey, destBucket, destKey, replacementMetadata);
    } finally {
      forgetListings(this.getResourcePath(destBucket, destKey, 'object'));
    }
  };
}
keepPlaceholders();

/**
 * s3rver 3.7.1 cost, as for its listing below: after unlinking an object's files, DeleteObject reads
 * the key's whole directory to see whether it is empty, so each delete in a flat prefix such as
 * `sha256/` costs a `readdir` of every object there (0.35 s at 100,000 objects), and a sweep that
 * removes a tenth of the blobs grows with the square of the count. A directory that holds the
 * placeholder is never empty, which s3rver would find out only after reading it all: there the same
 * files are unlinked and the clean-up, which would stop at once, is skipped. Anywhere else DeleteObject
 * is s3rver's own.
 */
function deleteWithoutReadingThePrefix(): void {
  const store = FilesystemStore.prototype;
  const { deleteObject } = store;
  store.deleteObject = async function (this: S3rverFilesystemStore, bucket, key) {
    const object = this.getResourcePath(bucket, key, 'object');
    const dir = path.dirname(object);
    if (!fsSync.existsSync(path.join(dir, S3RVER_PLACEHOLDER))) {
      try {
        return await deleteObject.call(this, bucket, key);
      } finally {
        forgetListings(object);
      }
    }
    const before = mtimeOf(dir);
    const files = ['object', 'object.md5', 'metadata.json'].map((resource) => this.getResourcePath(bucket, key, resource));
    try {
      await Promise.all(
        files.map((file) =>
          fs.unlink(file).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== 'ENOENT') throw error;
          }),
        ),
      );
    } finally {
      dropFromListing(dir, files, before);
    }
  };
}
deleteWithoutReadingThePrefix();

interface S3rverContext {
  query: Record<string, string | undefined>;
  store: { listObjects(bucket: string, options: unknown): Promise<{ isTruncated: boolean; objects: Array<{ key: string }> }> };
  body: { ListBucketResult: Record<string, unknown> };
}

/**
 * s3rver 3.7.1 bug: ListObjectsV2 answers every truncated page (more than 1,000 keys, or more than
 * MaxKeys) with 500 InternalError on Node 17 and later. Its continuation tokens are encrypted with
 * single DES, which OpenSSL 3 only offers through its legacy provider (`ERR_OSSL_EVP_UNSUPPORTED` in
 * s3rver's log; this is why the startup-gc bench could not list 10,000 seeded objects). Its listing
 * itself is fine and supports StartAfter; so pages are asked for with a StartAfter taken from a plain
 * token (the base64 of the last key, which is what s3rver's token holds too, only not encrypted).
 */
function listWithoutDesTokens(): void {
  const controller = requireHere('s3rver/lib/controllers/bucket.js') as { getBucket(ctx: S3rverContext): Promise<void> };
  const getBucket = controller.getBucket;
  controller.getBucket = async function (ctx: S3rverContext) {
    if (ctx.query['list-type'] !== '2') return getBucket(ctx);
    const token = ctx.query['continuation-token'];
    if (token) {
      const { ['continuation-token']: _, ...rest } = ctx.query;
      ctx.query = { ...rest, 'start-after': Buffer.from(token, 'base64url').toString('utf8') };
    }
    const store = ctx.store;
    let truncated = false;
    ctx.store = Object.create(store, {
      listObjects: {
        value: async (bucket: string, options: unknown) => {
          const result = await store.listObjects(bucket, options);
          truncated = result.isTruncated;
          return { ...result, isTruncated: false };
        },
      },
    }) as S3rverContext['store'];
    try {
      await getBucket(ctx);
    } finally {
      ctx.store = store;
    }
    const result = ctx.body.ListBucketResult;
    if (token) {
      result.StartAfter = undefined;
      result.ContinuationToken = token;
    }
    const contents = result.Contents as Array<{ Key: string }>;
    const last = contents[contents.length - 1];
    if (truncated && last) {
      result.IsTruncated = true;
      result.NextContinuationToken = Buffer.from(last.Key, 'utf8').toString('base64url');
    }
  };
}
listWithoutDesTokens();

interface S3rverObjectClass {
  new (bucket: string, key: string, content: null, metadata: unknown): unknown;
}

/**
 * s3rver 3.7.1 cost, not a wrong answer: its ListObjects walks the bucket's directories from the start on
 * every page and calls `stat` on every file it passes, skipping the keys up to StartAfter only after that.
 * A flat prefix such as `sha256/` holds three files per object, so a full listing of n objects costs about
 * 3n²/1,000 stats: 72 s for 10,000 objects in the startup-gc bench, hours for 100,000 (issue 17's
 * PostgreSQL + S3 level). A real S3 answers a page in time proportional to the page.
 *
 * The same listing, with the same filters in the same order, over each directory's sorted entries read
 * once and kept while the directory's mtime holds (`listings` above), starting in each directory at
 * StartAfter's name: a page then costs the page. The answer is s3rver's own: the same keys, the same
 * common prefixes, the same truncation, its own metadata reads and object model.
 */
function listWithoutStatingEveryFile(): void {
  const S3Object = requireHere('s3rver/lib/models/object.js') as S3rverObjectClass;
  const objectSuffix = '._S3rver_object';
  FilesystemStore.prototype.listObjects = async function (bucket, options) {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const bucketPath = this.getBucketPath(bucket);
    const delimiterEnc = FilesystemStore.encodeKeyPath(delimiter);
    const startAfterPath = `${bucketPath}/${FilesystemStore.encodeKeyPath(startAfter)}`;
    const prefixPath = `${bucketPath}/${FilesystemStore.encodeKeyPath(prefix)}`;
    // s3rver's own test of which directories to enter, unchanged.
    const enter = (dirPath: string): boolean => {
      if (dirPath < startAfterPath && !startAfterPath.includes(dirPath)) return false;
      if (dirPath.startsWith(prefixPath)) return !(delimiterEnc && dirPath.slice(prefixPath.length).includes(delimiterEnc));
      return prefixPath.startsWith(dirPath);
    };
    function* files(dir: string): Generator<string> {
      const { names, dirs } = listingOf(dir);
      let from = 0;
      if (startAfterPath.startsWith(`${dir}/`)) {
        // Start at StartAfter's name in this directory: every entry before it sorts before StartAfter, and so
        // do the keys it holds, which s3rver skips below. The exception is a directory whose name is a proper
        // prefix of that name (`ab` for `ab-c`): its keys may sort after (`ab/x` > `ab-c`), and s3rver enters it.
        const first = startAfterPath.slice(dir.length + 1).split('/')[0]!;
        for (let length = 1; length < first.length; length++) {
          const name = first.slice(0, length);
          if (dirs.has(name) && enter(`${dir}/${name}`)) yield* files(`${dir}/${name}`);
        }
        from = lowerBound(names, first);
      }
      for (let i = from; i < names.length; i++) {
        const entryPath = `${dir}/${names[i]}`;
        if (dirs.has(names[i]!)) {
          if (enter(entryPath)) yield* files(entryPath);
        } else if (entryPath >= startAfterPath) {
          // A file whose path sorts before StartAfter's holds a key that does too: s3rver skips it below.
          yield entryPath;
        }
      }
    }
    const commonPrefixes = new Set<string>();
    const keys: string[] = [];
    let isTruncated = false;
    for (const keyPath of files(bucketPath)) {
      if (!keyPath.endsWith(objectSuffix)) continue;
      const key = FilesystemStore.decodeKeyPath(keyPath.slice(bucketPath.length + 1, -objectSuffix.length));
      if (key <= startAfter || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const at = key.slice(prefix.length).indexOf(delimiter);
        if (at !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + at + 1));
          continue;
        }
      }
      if (keys.length < maxKeys) {
        keys.push(key);
      } else {
        isTruncated = true;
        break;
      }
    }
    const metadata = await Promise.all(
      keys.map((key) =>
        this.getMetadata(bucket, key).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        }),
      ),
    );
    return {
      objects: keys.flatMap((key, i) => (metadata[i] === undefined ? [] : [new S3Object(bucket, key, null, metadata[i])])),
      commonPrefixes: [...commonPrefixes].sort(),
      isTruncated,
    };
  };
  // A bucket made or removed changes its directory wholesale.
  for (const method of ['putBucket', 'deleteBucket'] as const) {
    const original = FilesystemStore.prototype[method];
    FilesystemStore.prototype[method] = async function (bucket: string) {
      try {
        return await original.call(this, bucket);
      } finally {
        forgetTree(this.getBucketPath(bucket));
      }
    };
  }
}
listWithoutStatingEveryFile();

/** What s3rver accepts (it checks signatures against these). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3 {
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop: () => Promise<void>;
}

/** An s3rver a test may stop and start again on the same port, with its objects (an outage). */
export interface RestartableS3 extends TestS3 {
  /** s3rver's own files (objects are `<bucket>/<key>._S3rver_object`), for tests of its layout. */
  directory: string;
  /** Closes the server: connections are refused from then on. */
  halt: () => Promise<void>;
  /** Listens again on the same port, over the same objects. */
  resume: () => Promise<void>;
}

export async function startS3(): Promise<RestartableS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const bucket = 'extrepo-test';
  const serve = (port: number) => new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  let server = serve(0);
  try {
    const { port } = await server.run();
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
      directory,
      stop: async () => {
        await server.close().catch(() => undefined);
        await fs.rm(directory, { recursive: true, force: true });
        forgetTree(directory);
      },
      halt: async () => {
        await server.close();
      },
      resume: async () => {
        server = serve(port);
        await server.run();
      },
    };
  } catch (error) {
    await fs.rm(directory, { recursive: true, force: true });
    throw error;
  }
}
