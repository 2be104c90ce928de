// extrepo keys ls|create|rm: the caller's API keys (or, with --all, everyone's, for admins).
import type { Factory } from '../../factory.js';
import { printJson, printTable } from '../../output.js';

interface ApiKey {
  id: string;
  key?: string;
  description?: string;
  user_id?: string;
  creation_date?: string;
  expiration_date?: string;
}

export async function runKeysLs(options: { all?: boolean; json?: boolean }, f: Factory): Promise<void> {
  const client = await f.client();
  const answer = await client.json<{ keys: ApiKey[] }>('GET', options.all ? '/users/auth/keys/_all' : '/users/auth/keys', undefined, f.signal);
  if (options.json) return printJson(f.io, answer);
  printTable(
    f.io,
    ['ID', 'USER', 'DESCRIPTION', 'CREATED', 'EXPIRES'],
    answer.keys.map((key) => [
      key.id,
      key.user_id ?? '-',
      key.description ?? '',
      key.creation_date?.slice(0, 19).replace('T', ' ') ?? '-',
      key.expiration_date?.slice(0, 19).replace('T', ' ') ?? 'never',
    ]),
  );
}

export async function runKeysCreate(options: { description: string; expiration?: string; json?: boolean }, f: Factory): Promise<void> {
  const client = await f.client();
  const key = await client.json<ApiKey>(
    'POST',
    '/users/auth/keys',
    { description: options.description, ...(options.expiration ? { expiration: options.expiration } : {}) },
    f.signal,
  );
  if (options.json) return printJson(f.io, key);
  f.io.err(`Created API key ${key.id}; this is the only time the key is shown:\n`);
  f.io.out(`${key.key}\n`);
}

export async function runKeysRm(id: string, f: Factory): Promise<void> {
  const client = await f.client();
  await client.json('DELETE', `/users/auth/keys/${encodeURIComponent(id)}`, undefined, f.signal);
  f.io.err(`Deleted API key ${id}.\n`);
}
