// The storage servers of a postgres-s3 test run, as a process of their own: a PostgreSQL cluster
// (or a fresh database on EXTREPO_TEST_DATABASE_URL) and an s3rver. It prints one JSON line,
// {"databaseUrl","s3Endpoint"}, then runs until its stdin closes (its parent ended, however it
// ended) or it gets SIGTERM/SIGINT, and removes everything it started.
//
//   node --import tsx test/helpers/services.ts
import { startPostgres } from './postgres.js';
import { startS3 } from './s3.js';

const [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([postgres.stop(), s3.stop()]);
  process.exit(0);
}
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdout.write(`${JSON.stringify({ databaseUrl: postgres.url, s3Endpoint: s3.endpoint })}\n`);
