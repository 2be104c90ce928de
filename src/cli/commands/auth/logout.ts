// extrepo logout: forgets the profile; a key that `login --user` made is deleted on the server too.
import { CliError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { removeProfile } from '../../profiles.js';

export async function runLogout(f: Factory): Promise<void> {
  const profile = await f.profile();
  if (profile === null) throw new CliError(`not logged in (no profile "${f.profileName}")`);
  if (profile.key_created_by_login && profile.api_key_id) {
    const client = f.anonymousClient(profile.url, `ApiKey ${profile.api_key}`);
    try {
      await client.json('DELETE', `/users/auth/keys/${encodeURIComponent(profile.api_key_id)}`, undefined, f.signal);
    } catch (error) {
      f.io.err(
        `warning: could not delete the API key ${profile.api_key_id} on ${profile.url} (${(error as Error).message}); ` +
          `delete it later with \`extrepo keys rm ${profile.api_key_id}\`\n`,
      );
    }
  }
  await removeProfile(f.profileName, f.env);
  f.io.err(`Logged out of ${profile.url} (profile "${f.profileName}").\n`);
}
