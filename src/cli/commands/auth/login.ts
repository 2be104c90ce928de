// extrepo login: checks the credentials against the server and saves a profile. With --user the
// password is asked for (no echo) and traded for an API key of this user's own, which is what is
// saved: the password never touches the disk, and `logout` can revoke exactly that key.
import os from 'node:os';
import { CliError, UsageError } from '../../cli-errors.js';
import { DEFAULT_URL, normalizeUrl, type Factory } from '../../factory.js';
import { askPassword } from '../../prompt.js';
import { saveProfile, type Profile } from '../../profiles.js';

export interface LoginOptions {
  url?: string;
  user?: string;
  apiKey?: string;
}

interface AuthInfo {
  user_name?: string;
  api_key_id?: string;
  roles?: string[];
}

export async function runLogin(options: LoginOptions, f: Factory): Promise<void> {
  if (options.user !== undefined && options.apiKey !== undefined) throw new UsageError('give --user or --api-key, not both');
  const saved = await f.profile();
  const url = normalizeUrl(options.url ?? f.env.EXTREPO_URL ?? saved?.url ?? DEFAULT_URL);
  const apiKey = options.apiKey ?? (options.user === undefined ? f.env.EXTREPO_API_KEY : undefined);
  let profile: Profile;
  if (apiKey !== undefined && apiKey !== '') {
    const info = await f.anonymousClient(url, `ApiKey ${apiKey}`).json<AuthInfo>('GET', '/users/auth', undefined, f.signal);
    profile = {
      url,
      api_key: apiKey,
      ...(info.api_key_id ? { api_key_id: info.api_key_id } : {}),
      ...(info.user_name ? { user: info.user_name } : {}),
    };
  } else if (options.user !== undefined) {
    profile = await loginWithPassword(f, url, options.user);
  } else {
    throw new UsageError('give --user NAME (the password is asked for) or --api-key KEY');
  }
  const file = await saveProfile(f.profileName, profile, f.env);
  f.io.err(`Logged in to ${url} as ${profile.user ?? 'an API key'} (profile "${f.profileName}", saved in ${file}).\n`);
}

async function loginWithPassword(f: Factory, url: string, user: string): Promise<Profile> {
  const password = await askPassword(f.io, `Password for ${user} at ${url}: `);
  if (password === '') throw new CliError('no password given');
  const session = await f.anonymousClient(url).json<{ token: string }>('POST', '/users/auth/_login', { username: user, password }, f.signal);
  const asUser = f.anonymousClient(url, `Bearer ${session.token}`);
  try {
    const created = await asUser.json<{ id: string; key: string }>(
      'POST',
      '/users/auth/keys',
      { description: `extrepo CLI on ${os.hostname()} (profile ${f.profileName})` },
      f.signal,
    );
    return { url, api_key: created.key, api_key_id: created.id, user, key_created_by_login: true };
  } finally {
    // The session was only needed to make the key.
    await asUser.json('POST', '/users/auth/_logout').catch(() => undefined);
  }
}
