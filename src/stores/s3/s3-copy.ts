// Server-side copy of one object to another key, without the bytes passing through us. CopyObject
// handles objects up to 5 GiB; larger ones need a multipart upload whose parts are UploadPartCopy
// ranges of the source.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** S3's limit for a single CopyObject. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 5 * 1024 ** 2;

export interface CopyPart {
  partNumber: number;
  /** inclusive */
  start: number;
  /** inclusive */
  end: number;
}

/**
 * Splits `size` bytes into parts of `partSize` (raised if needed to stay within S3's 10,000
 * parts, and never below its 5 MiB minimum); only the last part may be smaller.
 */
export function planCopyParts(size: number, partSize: number): CopyPart[] {
  const effective = Math.max(partSize, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
  const parts: CopyPart[] = [];
  for (let start = 0, partNumber = 1; start < size; start += effective, partNumber += 1) {
    parts.push({ partNumber, start, end: Math.min(start + effective, size) - 1 });
  }
  return parts;
}

/** `bucket/key` for x-amz-copy-source, each key segment URL-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export interface CopyOptions {
  client: Pick<S3Client, 'send'>;
  bucket: string;
  sourceKey: string;
  targetKey: string;
  size: number;
  /** Objects larger than this are copied part by part. */
  multipartThresholdBytes: number;
  partSizeBytes: number;
  /** Parts copied at once. */
  concurrency: number;
}

export async function copyObject(options: CopyOptions): Promise<void> {
  const { client, bucket, sourceKey, targetKey, size } = options;
  if (size <= options.multipartThresholdBytes || size === 0) {
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: targetKey, CopySource: copySource(bucket, sourceKey) }));
    return;
  }
  await multipartCopy(options);
}

async function multipartCopy(options: CopyOptions): Promise<void> {
  const { client, bucket, sourceKey, targetKey } = options;
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: targetKey }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  try {
    const parts = planCopyParts(options.size, options.partSizeBytes);
    const etags = new Array<string>(parts.length);
    let next = 0;
    let failed = false;
    let failure: unknown;
    // A few workers take parts in order until none is left; the first failure stops them all, and
    // all have stopped before the upload is aborted.
    const worker = async () => {
      while (!failed && next < parts.length) {
        const part = parts[next++] as CopyPart;
        try {
          const result = await client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: targetKey,
              UploadId: uploadId,
              PartNumber: part.partNumber,
              CopySource: copySource(bucket, sourceKey),
              CopySourceRange: `bytes=${part.start}-${part.end}`,
            }),
          );
          const etag = result.CopyPartResult?.ETag;
          if (!etag) throw new Error(`UploadPartCopy of part ${part.partNumber} returned no ETag`);
          etags[part.partNumber - 1] = etag;
        } catch (error) {
          if (!failed) failure = error;
          failed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, parts.length)) }, worker));
    if (failed) throw failure;
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: targetKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: etags[part.partNumber - 1] })) },
      }),
    );
  } catch (error) {
    // Parts of an abandoned multipart upload are billed until aborted.
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: targetKey, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}
