// How the npm run tools (backup, restore, gc, migrate) start and end: `--help` prints the usage and
// exits 0, a usage or configuration mistake exits 2, a failure exits 1; each with one line on stderr
// that names the tool and says what to do.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

export function runTool(name: string, usage: string, main: (args: string[]) => Promise<void>): void {
  const args = process.argv.slice(2);
  if (wantsHelp(args)) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    return;
  }
  main(args).catch((error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`extrepo ${name}: ${error.message}\n(npm run ${name} -- --help for the usage)\n`);
      process.exit(2);
    }
    process.stderr.write(`extrepo ${name}: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

export function loadToolConfig(): Config {
  return loadConfig();
}

/**
 * A path given on the command line, resolved against the directory the operator ran `npm run`
 * from (npm itself runs scripts in the package's directory, and says where it was called in INIT_CWD).
 */
export function resolveArgumentPath(value: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), value);
}

/** Refuses a data dir that holds no embedded database: opening it would create an empty repository. */
export function requireExistingDatabase(config: Config): void {
  if (config.database !== null) return;
  const file = path.join(config.dataDir, 'extrepo.sqlite3');
  if (!existsSync(file)) {
    throw new UsageError(
      `EXTREPO_DATA_DIR=${config.dataDir} holds no extrepo database (${path.basename(file)} is missing): ` +
        'point EXTREPO_DATA_DIR at the data dir of an installation (or set EXTREPO_DATABASE_URL)',
    );
  }
}
