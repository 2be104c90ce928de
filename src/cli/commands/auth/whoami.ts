// extrepo whoami: who the server says the saved (or EXTREPO_*) credentials belong to.
import type { Factory } from '../../factory.js';
import { printFields, printJson } from '../../output.js';

export interface WhoamiOptions {
  json?: boolean;
}

export async function runWhoami(options: WhoamiOptions, f: Factory): Promise<void> {
  const client = await f.client();
  const info = await client.json<Record<string, unknown>>('GET', '/users/auth', undefined, f.signal);
  if (options.json) return printJson(f.io, info);
  printFields(f.io, [
    ['user', info.user_name as string],
    ['roles', ((info.roles as string[] | undefined) ?? []).join(', ')],
    ['signed in with', info.authentication_method as string],
    ['api key', info.api_key_id as string | undefined],
    ['server', client.baseUrl],
    ['profile', f.profileName],
  ]);
}
