// extrepo-test-backends: each
// The extrepo CLI's sign-in: login with a password (asked for, or the first line of stdin) or an
// API key, the profile file (mode 0600, under the user's config directory), EXTREPO_URL /
// EXTREPO_API_KEY, whoami, logout, and what a command says without credentials. Also the
// command line itself: --help with examples on every command, --version, usage errors.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertBuildIsFresh, CliHome } from './helpers/cli.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'admin-password-for-cli-tests';
let server: TestServer;
let home: CliHome;

before(async () => {
  await assertBuildIsFresh();
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: PASSWORD });
  home = await CliHome.create();
});
after(async () => {
  await home.remove();
  await server.close();
});

async function ownKeyIds(authorization: string): Promise<string[]> {
  const response = await server.api('GET', '/api/v1/users/auth/keys', { headers: { authorization } });
  assert.equal(response.status, 200, response.text);
  return (response.body.keys as Array<{ id: string }>).map((key) => key.id);
}

describe('login with a password', () => {
  test('reads the password from stdin when it is not a terminal, saves an API key (never the password) in a 0600 file', async () => {
    const result = await home.run(['login', '--url', server.url, '--user', 'admin'], { input: `${PASSWORD}\n` });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Logged in to .* as admin/);
    const mode = (await stat(home.configFile)).mode & 0o777;
    assert.equal(mode, 0o600);
    const text = await readFile(home.configFile, 'utf8');
    assert.ok(!text.includes(PASSWORD), 'the password is not stored');
    const profile = JSON.parse(text).profiles.default;
    assert.equal(profile.url, server.url);
    assert.equal(profile.user, 'admin');
    assert.ok((await ownKeyIds(`ApiKey ${ADMIN_KEY}`)).includes(profile.api_key_id), 'the saved key is a key of admin on the server');

    const whoami = await home.run(['whoami', '--json']);
    assert.equal(whoami.code, 0, whoami.stderr);
    const info = JSON.parse(whoami.stdout);
    assert.equal(info.user_name, 'admin');
    assert.equal(info.api_key_id, profile.api_key_id);
  });

  test('logout deletes the key that login made and forgets the profile', async () => {
    const profile = JSON.parse(await readFile(home.configFile, 'utf8')).profiles.default;
    const result = await home.run(['logout']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!(await ownKeyIds(`ApiKey ${ADMIN_KEY}`)).includes(profile.api_key_id), 'the key is gone on the server');
    assert.deepEqual(JSON.parse(await readFile(home.configFile, 'utf8')).profiles, {});
    const again = await home.run(['whoami']);
    assert.equal(again.code, 1);
  });

  test("a wrong password exits 1 with the server's code and message, and saves nothing", async () => {
    const other = await CliHome.create();
    try {
      const result = await other.run(['login', '--url', server.url, '--user', 'admin'], { input: 'not-the-password\n' });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^extrepo: root\.unauthenticated: /m);
      await assert.rejects(stat(other.configFile));
    } finally {
      await other.remove();
    }
  });
});

describe('login with an API key', () => {
  test('checks the key against the server and keeps one profile per --profile name', async () => {
    const result = await home.run(['login', '--profile', 'ci', '--url', server.url, '--api-key', ADMIN_KEY]);
    assert.equal(result.code, 0, result.stderr);
    const profiles = JSON.parse(await readFile(home.configFile, 'utf8')).profiles;
    assert.equal(profiles.ci.api_key, ADMIN_KEY);
    assert.equal(profiles.default, undefined);
    const whoami = await home.run(['whoami', '--profile', 'ci']);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stdout, /^user:\s+admin$/m);
    assert.match(whoami.stdout, /^profile:\s+ci$/m);
  });

  test('a key the server does not know is refused (exit 1) and not saved', async () => {
    const result = await home.run(['login', '--profile', 'bad', '--url', server.url, '--api-key', 'nope.nope']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /root\.unauthenticated/);
    assert.equal(JSON.parse(await readFile(home.configFile, 'utf8')).profiles.bad, undefined);
  });

  test('the profile file honours XDG_CONFIG_HOME', async () => {
    const config = path.join(home.dir, 'xdg');
    const result = await home.run(['login', '--url', server.url, '--api-key', ADMIN_KEY], { env: { XDG_CONFIG_HOME: config } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await stat(path.join(config, 'extrepo', 'config.json'))).mode & 0o777, 0o600);
  });
});

describe('credentials from the environment', () => {
  test('EXTREPO_URL and EXTREPO_API_KEY work without any profile', async () => {
    const fresh = await CliHome.create();
    try {
      const result = await fresh.run(['whoami'], { env: { EXTREPO_URL: server.url, EXTREPO_API_KEY: ADMIN_KEY } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^user:\s+admin$/m);
    } finally {
      await fresh.remove();
    }
  });

  test("EXTREPO_API_KEY overrides the profile's key", async () => {
    const result = await home.run(['whoami', '--profile', 'ci'], { env: { EXTREPO_API_KEY: 'wrong.key' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /root\.unauthenticated/);
  });

  test('without a profile or a key, a command says how to log in (exit 1)', async () => {
    const fresh = await CliHome.create();
    try {
      for (const args of [['ls'], ['whoami'], ['pull', '123'], ['push', '.']]) {
        const result = await fresh.run(args);
        assert.equal(result.code, 1, args.join(' '));
        assert.match(result.stderr, /not logged in: run `extrepo login --url .* --user NAME`/, args.join(' '));
      }
    } finally {
      await fresh.remove();
    }
  });
});

describe('the command line', () => {
  const COMMANDS = [
    ['login'],
    ['logout'],
    ['whoami'],
    ['ls'],
    ['show'],
    ['push'],
    ['create'],
    ['update'],
    ['rm'],
    ['pull'],
    ['users'],
    ['users', 'ls'],
    ['users', 'show'],
    ['users', 'create'],
    ['users', 'rm'],
    ['keys'],
    ['keys', 'ls'],
    ['keys', 'create'],
    ['keys', 'rm'],
    ['audit'],
    ['serve'],
    ['migrate'],
    ['gc'],
  ];

  test('--help on every command exits 0 and shows examples', async () => {
    for (const command of [[], ...COMMANDS]) {
      const result = await home.run([...command, '--help']);
      assert.equal(result.code, 0, `${command.join(' ')} --help: ${result.stderr}`);
      assert.match(result.stdout, /Examples:\n\s+\$ extrepo /, `${command.join(' ')} --help shows examples`);
    }
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    const result = await home.run(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${version}\n`);
  });

  test('usage errors exit 2: an unknown command or option, a missing argument, a bad choice, --user with --api-key', async () => {
    for (const args of [['frobnicate'], ['ls', '--bogus'], ['show'], ['ls', '--type', 'theme'], ['login', '--user', 'a', '--api-key', 'b']]) {
      const result = await home.run(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.ok(result.stderr.length > 0);
    }
  });
});
