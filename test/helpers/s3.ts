// A throwaway S3-compatible server for tests: s3rver on a random local port, its objects in a temp
// dir that stop() removes. s3rver implements the common object API but not every call (notably
// not UploadPartCopy, AbortMultipartUpload or ListMultipartUploads): tests that need those say so.
import fs, { unlink } from 'node:fs/promises';
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
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: S3rverOptions) => S3rverInstance;

interface S3rverFilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
}

/**
 * s3rver 3.7 bug, hit by concurrent uploads (the benchmark's small-bundle case, 8 in flight): DeleteObject removes
 * the key's directories once they are empty (`incoming/` after the last upload in progress commits),
 * while a concurrent PutObject has just created that directory and is about to open its file there.
 * The open fails with ENOENT on a write stream without an error listener, which takes the whole s3rver
 * process down (and a concurrent CopyObject into `sha256/` fails the same way with a 500). Directories
 * cost nothing here, so deletes leave them in place: the same unlinks, without the clean-up.
 */
function keepS3rverDirectories(): void {
  const store = (createRequire(import.meta.url)('s3rver/lib/stores/filesystem.js') as { prototype: S3rverFilesystemStore }).prototype;
  store.deleteObject = async function deleteObject(this: S3rverFilesystemStore, bucket: string, key: string) {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        unlink(this.getResourcePath(bucket, key, resource)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        }),
      ),
    );
  };
}
keepS3rverDirectories();

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
  /** Closes the server: connections are refused from then on. */
  halt: () => Promise<void>;
  /** Listens again on the same port, over the same objects. */
  resume: () => Promise<void>;
}

export async function startS3(): Promise<RestartableS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const bucket = 'extrepo-test';
  const serve = (port: number) =>
    new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  let server = serve(0);
  try {
    const { port } = await server.run();
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
      stop: async () => {
        await server.close().catch(() => undefined);
        await fs.rm(directory, { recursive: true, force: true });
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
