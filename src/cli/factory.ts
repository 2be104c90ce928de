// What every command's run function is handed (cli/cli's cmdutil.Factory): the I/O streams, the
// chosen profile, an API client built on first use from the profile or the environment, and the
// signal that Ctrl-C fires.
import { ApiClient } from './api-client.js';
import { CliError } from './cli-errors.js';
import type { IOStreams } from './io-streams.js';
import { loadProfile, type Profile } from './profiles.js';

export const DEFAULT_URL = 'http://127.0.0.1:12400';

export interface Factory {
  io: IOStreams;
  env: NodeJS.ProcessEnv;
  profileName: string;
  signal: AbortSignal;
  /** The saved profile, or null. */
  profile(): Promise<Profile | null>;
  /** A client with credentials: EXTREPO_URL / EXTREPO_API_KEY override the profile's. */
  client(): Promise<ApiClient>;
  /** A client for a given server without credentials (login). */
  anonymousClient(url: string, authorization?: string): ApiClient;
}

export function createFactory(io: IOStreams, profileName: string, signal: AbortSignal, env = process.env): Factory {
  let cached: Promise<Profile | null> | null = null;
  const factory: Factory = {
    io,
    env,
    profileName,
    signal,
    profile: () => (cached ??= loadProfile(profileName, env)),
    async client() {
      const profile = await factory.profile();
      const url = env.EXTREPO_URL || profile?.url;
      const key = env.EXTREPO_API_KEY || profile?.api_key;
      if (!key) {
        const target = url ?? DEFAULT_URL;
        throw new CliError(
          `not logged in${profileName === 'default' ? '' : ` (profile "${profileName}")`}: run ` +
            `\`extrepo login --url ${target} --user NAME\` (or \`--api-key KEY\`), or set EXTREPO_URL and EXTREPO_API_KEY`,
        );
      }
      return factory.anonymousClient(url ?? DEFAULT_URL, `ApiKey ${key}`);
    },
    anonymousClient(url, authorization) {
      return new ApiClient(normalizeUrl(url), authorization ?? null);
    },
  };
  return factory;
}

/** Accepts `host:port` and a trailing slash or /api/v1, so `--url` takes what people paste. */
export function normalizeUrl(raw: string): string {
  let text = raw.trim();
  if (!/^https?:\/\//i.test(text)) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`"${raw}" is not a URL (expected e.g. http://127.0.0.1:12400)`);
  }
  const pathname = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${url.origin}${pathname}`;
}
