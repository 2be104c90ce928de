// The one "server listening" line: where, which version, and which stores. The data dir is named
// only when a store lives in it: with PostgreSQL and S3 nothing is read from it.
import type { Config } from './config.js';
import { EXTREPO_VERSION } from './version.js';

export function listeningLogFields(config: Config, address: string): Record<string, unknown> {
  return {
    address,
    version: EXTREPO_VERSION,
    metadata: config.database ? 'postgresql' : 'sqlite',
    blobs: config.s3 ? `s3://${config.s3.bucket}/${config.s3.prefix}` : 'disk',
    ...(config.database && config.s3 ? {} : { dataDir: config.dataDir }),
  };
}
