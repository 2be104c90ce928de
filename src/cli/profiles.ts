// Saved logins: $XDG_CONFIG_HOME/extrepo/config.json (default ~/.config/extrepo/config.json),
// one profile per server, readable only by its owner (the file holds API keys).
//
//   {"profiles": {"default": {"url": "http://127.0.0.1:12400", "api_key": "…", "api_key_id": "…",
//                             "user": "admin", "key_created_by_login": true}}}
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './cli-errors.js';

export interface Profile {
  url: string;
  api_key: string;
  /** Id of the key (for logout); absent when the key was pasted with --api-key and never looked up. */
  api_key_id?: string;
  user?: string;
  /** The key was made by `login --user`, so `logout` deletes it on the server too. */
  key_created_by_login?: boolean;
}

interface ConfigFile {
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'extrepo', 'config.json');
}

async function readConfig(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    return { profiles: typeof parsed.profiles === 'object' && parsed.profiles !== null ? parsed.profiles : {} };
  } catch {
    throw new CliError(`${file} is not valid JSON; fix or delete it and log in again`);
  }
}

/** Replaces the file atomically, created with mode 0600 so the key is never readable by others. */
async function writeConfig(file: string, config: ConfigFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(config, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temp, 0o600);
  await rename(temp, file).catch(async (error: unknown) => {
    await rm(temp, { force: true });
    throw error;
  });
}

export async function loadProfile(name: string, env: NodeJS.ProcessEnv = process.env): Promise<Profile | null> {
  const config = await readConfig(configPath(env));
  return config.profiles[name] ?? null;
}

export async function saveProfile(name: string, profile: Profile, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = configPath(env);
  const config = await readConfig(file);
  config.profiles[name] = profile;
  await writeConfig(file, config);
  return file;
}

export async function removeProfile(name: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = configPath(env);
  const config = await readConfig(file);
  if (!(name in config.profiles)) return false;
  delete config.profiles[name];
  await writeConfig(file, config);
  return true;
}
