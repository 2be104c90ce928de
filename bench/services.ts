// The storage servers of a postgres-s3 benchmark run, as a process of its own (so s3rver's work is
// not done on the bench client's event loop, and its CPU time can be read from its pid): a throwaway
// PostgreSQL 15 cluster and an s3rver, started with the test suite's helpers. It prints one JSON line
// (StorageInfo), then runs until its stdin closes (the bench ended, however it ended) or it gets
// SIGTERM/SIGINT, and then removes everything it started before exiting.
//
//   node --import tsx bench/services.ts
//
// s3rver keeps its objects under os.tmpdir(): the bench sets TMPDIR to its own work directory, so the
// objects land on the same filesystem as everything else the bench writes and go when it is removed.
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { startS3, type RestartableS3 } from '../test/helpers/s3.js';

export interface StorageInfo {
  /** Superuser URL of the cluster's `app` database; the bench creates one database per extrepo. */
  databaseUrl: string;
  s3: {
    endpoint: string;
    bucket: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    /** s3rver's files (the startup-gc case writes its objects there directly). */
    directory: string;
  };
  /** This process: it runs s3rver. */
  pid: number;
}

// s3rver's bugs (a PutObject racing the DeleteObject that empties its prefix, DES continuation tokens)
// are worked around where s3rver is started (test/helpers/s3.ts).

// Started at once; a stop request waits for both to settle, so nothing half-started is left behind.
const starting = Promise.allSettled([startPostgres(), startS3()]);
let stopping: Promise<void> | null = null;

function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    const results = await starting;
    await Promise.allSettled(results.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
    process.exit(code);
  })();
  return stopping;
}

// s3rver runs in this process: if it throws, the cluster must still be stopped (it runs detached, as the
// postgres user, and would outlive us), so an uncaught error stops everything and exits with 1.
const crash = (error: unknown) => {
  process.stderr.write(
    `bench storage servers: uncaught error, stopping: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  void stop(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

// Listen for the end at once: the bench may give up while the cluster is still starting.
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

const [pgResult, s3Result] = await starting;
if (pgResult.status === 'rejected' || s3Result.status === 'rejected') {
  for (const result of [pgResult, s3Result]) {
    if (result.status === 'rejected') process.stderr.write(`${String(result.reason)}\n`);
  }
  await stop(1);
} else if (stopping === null) {
  const postgres: TestPostgres = pgResult.value;
  const s3: RestartableS3 = s3Result.value;
  const info: StorageInfo = {
    databaseUrl: postgres.url,
    s3: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, credentials: s3.credentials, directory: s3.directory },
    pid: process.pid,
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
