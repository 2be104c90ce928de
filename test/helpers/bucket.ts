// Looks into the bucket of a postgres-s3 configuration (the env of freshSharedStorage) directly.
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS } from './s3.js';

export interface BucketView {
  /** Keys under the configured prefix, relative to it, sorted. */
  keys(): Promise<string[]>;
  put(relativeKey: string, body: Buffer): Promise<void>;
  close(): void;
}

/** A plain S3 client for a test's s3rver (path style; checksums only where s3rver needs them). */
export function rawS3Client(s3: { region: string; endpoint: string }): S3Client {
  return new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function bucketView(env: Record<string, string>): BucketView {
  const bucket = env.EXTREPO_S3_BUCKET!;
  const prefix = env.EXTREPO_S3_PREFIX ?? '';
  const client = new S3Client({
    region: env.EXTREPO_S3_REGION ?? 'us-east-1',
    endpoint: env.EXTREPO_S3_ENDPOINT,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    async keys() {
      const found: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) found.push((object.Key ?? '').slice(prefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return found.sort();
    },
    async put(relativeKey, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + relativeKey, Body: body }));
    },
    close() {
      client.destroy();
    },
  };
}
