// Every command, its options and its help (with examples), declared with commander. The actions
// load their command module only when that command runs, so `extrepo --version` and `--help`
// never pay for the archive code, the zip writer or the progress bar.
import { Command, Option } from 'commander';
import type { Factory } from './factory.js';

export interface GlobalOptions {
  profile: string;
  quiet?: boolean;
}

/**
 * Builds the program (--version is answered by main.ts before commander loads: a
 * program-wide --version option would also swallow push's and create's --version.)
 * `factoryFor` makes the Factory once the global options are parsed. */
export function buildProgram(factoryFor: (globals: GlobalOptions) => Factory): Command {
  const program = new Command('extrepo');
  program
    .description("extrepo's command line: push, pull and manage extensions of an extrepo server")
    .option('--profile <name>', 'saved login to use (see `extrepo login`)', 'default')
    .option('-q, --quiet', 'no progress and no messages on stderr (errors still print)')
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride()
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      `
extrepo --version prints the version.
Environment: EXTREPO_URL and EXTREPO_API_KEY override the profile's server and key;
XDG_CONFIG_HOME (default ~/.config) holds extrepo/config.json.
Exit codes: 0 success, 1 error (the server's code and message are printed), 2 usage error, 130 interrupted.

Examples:
  $ extrepo login --url http://127.0.0.1:12400 --user admin
  $ extrepo push ./synonyms --version '8.*'
  $ extrepo ls --type bundle
  $ extrepo pull 1234567890 --extract /etc/elasticsearch/config`,
    );

  const run = async (command: Command, action: (f: Factory) => Promise<unknown>): Promise<void> => {
    await action(factoryFor(command.optsWithGlobals<GlobalOptions>()));
  };
  const examples = (...lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}`;
  const typeOption = () => new Option('--type <type>', 'plugin or bundle').choices(['plugin', 'bundle']);

  // ---- sign-in ----------------------------------------------------------------------------------
  program
    .command('login')
    .description('check credentials against a server and save them as a profile')
    .option('--url <url>', "server URL (default: EXTREPO_URL, the profile's, or http://127.0.0.1:12400)")
    .option('--user <name>', 'sign in as this user; the password is asked for without echo (or read from stdin)')
    .option('--api-key <key>', 'use this API key')
    .addHelpText(
      'after',
      examples(
        'extrepo login --url https://extrepo.example.com --user alice',
        'printf \'%s\\n\' "$PASSWORD" | extrepo login --user ci     # no terminal: the first line of stdin',
        'extrepo login --profile staging --url https://staging.example.com --api-key "$KEY"',
      ) + '\n\nWith --user, an API key of that user is created and saved (never the password); logout deletes it.',
    )
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/auth/login.js')).runLogin(options, f)));
  program
    .command('logout')
    .description('forget the profile (and delete the API key that login made)')
    .addHelpText('after', examples('extrepo logout', 'extrepo logout --profile staging'))
    .action(async (_options, command: Command) => run(command, async (f) => (await import('./commands/auth/logout.js')).runLogout(f)));
  program
    .command('whoami')
    .description('show who the credentials belong to')
    .option('--json', "the server's JSON")
    .addHelpText('after', examples('extrepo whoami', 'EXTREPO_API_KEY=… extrepo whoami --json'))
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/auth/whoami.js')).runWhoami(options, f)));

  // ---- extensions -------------------------------------------------------------------------------
  program
    .command('ls')
    .description('list extensions')
    .addOption(typeOption())
    .option('--json', 'exact JSON ({"extensions": [...]}) for scripts')
    .addHelpText('after', examples('extrepo ls', 'extrepo ls --type plugin --json | jq -r ".extensions[].id"'))
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/extension/ls.js')).runLs(options, f)));
  program
    .command('show')
    .description('show one extension')
    .argument('<id>', 'extension id')
    .option('--include-deployments', 'also list the deployments that use it')
    .option('--json', "the server's JSON")
    .addHelpText('after', examples('extrepo show 1234567890', 'extrepo show 1234567890 --json | jq -r .file_metadata.sha256'))
    .action(async (id: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/extension/show.js')).runShow(id, options, f)),
    );
  program
    .command('push')
    .description('upload a zip or a directory (zipped on the fly, deterministically), checked locally first')
    .argument('<path>', 'a .zip file or a directory')
    .option('--name <name>', "extension name (default: the plugin descriptor's name, or the file/folder name)")
    .option('--version <version>', "plugins: the Elasticsearch version (default: the descriptor's); bundles: * or 8.* (default *)")
    .addOption(typeOption().default(undefined, 'plugin if a plugin descriptor is at the root, else bundle'))
    .option('--description <text>', "description (default for plugins: the descriptor's)")
    .option('--id <id>', 'replace the file of this existing extension instead of creating one')
    .option('--json', 'print the stored extension as JSON')
    .addHelpText(
      'after',
      examples(
        'extrepo push ./analysis-icu-8.12.2.zip                 # a plugin: name and version from its descriptor',
        "extrepo push ./synonyms --version '8.*' --description 'Company synonyms'",
        'extrepo push ./synonyms --id 1234567890                # new content, same id',
      ) +
        "\n\nThe archive is validated with the server's rules before anything is sent or created; if the upload\n" +
        'fails, an extension it created is deleted again. The same folder always gives the same sha256.',
    )
    .action(async (target: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/extension/push.js')).runPush(target, options, f)),
    );
  program
    .command('create')
    .description('create an extension from a URL (the server copies the file)')
    .requiredOption('--download-url <url>', 'http(s) URL of the zip')
    .requiredOption('--name <name>', 'extension name')
    .requiredOption('--version <version>', 'Elasticsearch version (plugins) or * / 8.* (bundles)')
    .addOption(typeOption().makeOptionMandatory())
    .option('--description <text>', 'description')
    .option('--json', 'print the created extension as JSON')
    .addHelpText(
      'after',
      examples('extrepo create --download-url https://mirror.example.com/analysis-icu-8.12.2.zip --name analysis-icu --version 8.12.2 --type plugin'),
    )
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/extension/create.js')).runCreate(options, f)));
  program
    .command('update')
    .description("change an extension's metadata (or, with --download-url, its file)")
    .argument('<id>', 'extension id')
    .option('--name <name>', 'new name')
    .option('--version <version>', 'new version')
    .option('--description <text>', 'new description')
    .option('--download-url <url>', 'copy a new file from this URL')
    .option('--json', 'print the updated extension as JSON')
    .addHelpText('after', examples("extrepo update 1234567890 --version '9.*'", 'extrepo update 1234567890 --description "Synonyms, 2026 edition"'))
    .action(async (id: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/extension/update.js')).runUpdate(id, options, f)),
    );
  program
    .command('rm')
    .description('delete an extension (asks first)')
    .argument('<id>', 'extension id')
    .option('-y, --yes', 'do not ask (needed when stdin is not a terminal)')
    .addHelpText(
      'after',
      examples('extrepo rm 1234567890', 'extrepo rm 1234567890 --yes') +
        '\n\nWithout --yes and without a terminal to ask on, rm refuses and exits with 2.',
    )
    .action(async (id: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/extension/rm.js')).runRm(id, options, f)),
    );
  program
    .command('pull')
    .description("download an extension's file, verify its size and sha256, optionally extract it")
    .argument('<id>', 'extension id')
    .option('-o, --output <file>', 'where to write the zip (default: <name>.zip here; none with only --extract)')
    .option('--extract <dir>', 'unpack into this directory (no path may leave it, no symlinks)')
    .option('--json', 'print {id, file, size, sha256} as JSON')
    .addHelpText(
      'after',
      examples('extrepo pull 1234567890', 'extrepo pull 1234567890 -o synonyms.zip', 'extrepo pull 1234567890 --extract ./config'),
    )
    .action(async (id: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/extension/pull.js')).runPull(id, options, f)),
    );

  // ---- users, keys, audit -----------------------------------------------------------------------
  const users = program
    .command('users')
    .description('manage users (platform admins)')
    .addHelpText('after', examples('extrepo users ls', 'extrepo users create ci --role ece_deployment_manager'));
  users
    .command('ls')
    .description('list users')
    .option('--include-disabled', 'also disabled users')
    .option('--json', "the server's JSON")
    .addHelpText('after', examples('extrepo users ls', 'extrepo users ls --include-disabled --json'))
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/users/users.js')).runUsersLs(options, f)));
  users
    .command('show')
    .description('show a user')
    .argument('<name>', 'user name')
    .option('--json', "the server's JSON")
    .addHelpText('after', examples('extrepo users show alice'))
    .action(async (name: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/users/users.js')).runUsersShow(name, options, f)),
    );
  users
    .command('create')
    .description('create a user; the password is asked for (or read from stdin)')
    .argument('<name>', 'user name')
    .option(
      '--role <role>',
      'a role (repeat for several): ece_platform_admin, ece_platform_viewer, ece_deployment_manager, ece_deployment_viewer',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--email <email>', 'e-mail address')
    .option('--full-name <name>', 'full name')
    .option('--json', "the server's JSON")
    .addHelpText(
      'after',
      examples(
        'extrepo users create ci --role ece_deployment_manager',
        'printf \'%s\\n\' "$PW" | extrepo users create ci --role ece_deployment_manager',
      ),
    )
    .action(async (name: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/users/users.js')).runUsersCreate(name, options, f)),
    );
  users
    .command('rm')
    .description('delete a user')
    .argument('<name>', 'user name')
    .option('--reassign-extensions-to <user>', "give the user's extensions to another user")
    .addHelpText('after', examples('extrepo users rm ci', 'extrepo users rm alice --reassign-extensions-to bob'))
    .action(async (name: string, options, command: Command) =>
      run(command, async (f) => (await import('./commands/users/users.js')).runUsersRm(name, options, f)),
    );

  const keys = program
    .command('keys')
    .description('manage API keys')
    .addHelpText('after', examples('extrepo keys ls', 'extrepo keys create --description "CI pipeline"'));
  keys
    .command('ls')
    .description('list your API keys')
    .option('--all', "everyone's (platform admins and viewers)")
    .option('--json', "the server's JSON")
    .addHelpText('after', examples('extrepo keys ls', 'extrepo keys ls --all --json'))
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/keys/keys.js')).runKeysLs(options, f)));
  keys
    .command('create')
    .description('create an API key; it is printed once, on stdout')
    .requiredOption('--description <text>', 'what the key is for')
    .option('--expiration <duration>', 'e.g. 30m, 12h, 7d, 4w, 1y (default: never)')
    .option('--json', "the server's JSON (with the key)")
    .addHelpText(
      'after',
      examples('extrepo keys create --description "CI pipeline" --expiration 90d', 'extrepo keys create --description deploy --json | jq -r .key'),
    )
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/keys/keys.js')).runKeysCreate(options, f)));
  keys
    .command('rm')
    .description('delete one of your API keys')
    .argument('<id>', 'key id')
    .addHelpText('after', examples('extrepo keys rm 0f3c…'))
    .action(async (id: string, _options, command: Command) => run(command, async (f) => (await import('./commands/keys/keys.js')).runKeysRm(id, f)));

  program
    .command('audit')
    .description('the audit trail, newest first (platform admins)')
    .option('--user <name>', 'only this user')
    .option('--action <action>', 'only this action (e.g. create-extension, login)')
    .option('--target <id>', 'only this target')
    .addOption(new Option('--outcome <outcome>', 'success or failure').choices(['success', 'failure']))
    .option('--since <time>', 'ISO 8601 time')
    .option('--until <time>', 'ISO 8601 time')
    .option('--size <n>', 'records per page (default 100, at most 1000)')
    .option('--from <n>', 'skip this many records')
    .option('--json', "the server's JSON")
    .addHelpText('after', examples('extrepo audit --action delete-extension', 'extrepo audit --outcome failure --since 2026-12-01T00:00:00Z --json'))
    .action(async (options, command: Command) => run(command, async (f) => (await import('./commands/audit/audit.js')).runAudit(options, f)));

  // ---- server side ------------------------------------------------------------------------------
  program
    .command('serve')
    .description('run the server (configured by the EXTREPO_* environment, see the README)')
    .option('--host <address>', 'EXTREPO_HOST')
    .option('--port <port>', 'EXTREPO_PORT')
    .option('--data-dir <dir>', 'EXTREPO_DATA_DIR')
    .addHelpText('after', examples('extrepo serve', 'EXTREPO_DATABASE_URL=postgres://… extrepo serve --host 0.0.0.0'))
    .action(async (options) => (await import('./commands/server/server-tools.js')).runServe(options));
  for (const [name, description, example] of [
    [
      'migrate',
      'move an embedded installation to PostgreSQL + S3 (arguments as for npm run migrate)',
      'extrepo migrate --from-data-dir ./data --to-database-url postgres://… --to-s3-bucket extrepo',
    ],
    ['gc', 'one garbage collection over the configured stores', 'extrepo gc'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('[args...]', 'passed on unchanged')
      .allowUnknownOption()
      .addHelpText('after', examples(example))
      .action(async (args: string[]) => {
        const code = await (await import('./commands/server/server-tools.js')).runTool(name, args);
        process.exitCode = code;
      });
  }
  return program;
}
