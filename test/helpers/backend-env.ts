// The environment that points an extrepo process (startInstance) at this run's backend: nothing
// for sqlite-fs (its own data dir), a fresh PostgreSQL database and S3 bucket for postgres-s3.
import { freshSharedStorage, testBackend, type SharedStorage } from './server.js';

export interface BackendEnv {
  env: Record<string, string>;
  release(): Promise<void>;
}

export async function backendEnv(): Promise<BackendEnv> {
  if (testBackend() === 'sqlite-fs') return { env: {}, release: async () => undefined };
  const storage: SharedStorage = await freshSharedStorage();
  return { env: storage.env, release: () => storage.release() };
}
