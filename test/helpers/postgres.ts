// A throwaway PostgreSQL for tests. With EXTREPO_TEST_DATABASE_URL set, each call gets a fresh
// database on that server (dropped at stop); otherwise each call starts its own PostgreSQL 15
// cluster in a temp dir (about a second), tuned for speed over durability, and removes it at stop.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const PG_BIN = process.env.EXTREPO_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  url: string;
  stop: () => Promise<void>;
}

/** A cluster of one test's own, which the test may stop and start again on the same port (an outage). */
export interface RestartablePostgres extends TestPostgres {
  /** Stops the server (fast shutdown: sessions are cut, connections refused from then on). */
  halt: () => Promise<void>;
  /** Starts it again on the same port, with its data. */
  resume: () => Promise<void>;
}

/** Always a cluster of its own (never EXTREPO_TEST_DATABASE_URL's server: a test may stop this one). */
export function startRestartablePostgres(): Promise<RestartablePostgres> {
  return startCluster();
}

export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env.EXTREPO_TEST_DATABASE_URL;
  return external ? freshDatabase(external) : startCluster();
}

/** Runs one statement on the server's maintenance connection (CREATE/DROP DATABASE). */
export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a database `name` on the server and returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A new, uniquely named database on an existing server. */
async function freshDatabase(serverUrl: string): Promise<TestPostgres> {
  const name = `extrepo_test_${randomBytes(6).toString('hex')}`;
  return {
    url: await createDatabase(serverUrl, name),
    // FORCE (PostgreSQL 13+) disconnects sessions a failed test may have leaked.
    stop: () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** initdb refuses to run as root: as root, run the server tools as the `postgres` OS user. */
async function postgresUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const lookup = async () => {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--home', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres']);
    return lookup();
  }
}

async function startCluster(): Promise<RestartablePostgres> {
  try {
    await fs.access(path.join(PG_BIN, 'initdb'));
  } catch {
    throw new Error(
      `PostgreSQL 15 server binaries not found in ${PG_BIN}: install them (apt-get install postgresql-15) ` +
        'or point EXTREPO_TEST_DATABASE_URL at a server',
    );
  }
  const user = await postgresUser();
  const asPostgres = (tool: string, args: string[]) =>
    user ? run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, tool), ...args]) : run(path.join(PG_BIN, tool), args);

  const root = await fs.mkdtemp('/tmp/pgtest.');
  const data = path.join(root, 'data');
  let started = false;
  try {
    if (user) await fs.chown(root, user.uid, user.gid);
    await fs.chmod(root, 0o700);
    await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    // Another process may grab the port between freePort() and start: retry a few times.
    let port = 0;
    const options = () =>
      [`-p ${port}`, `-k ${root}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'].join(' ');
    const pgStart = () => asPostgres('pg_ctl', ['-D', data, '-l', path.join(root, 'server.log'), '-w', '-t', '30', '-o', options(), 'start']);
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      try {
        await pgStart();
        started = true;
        break;
      } catch (error) {
        if (attempt >= 3) {
          const log = await fs.readFile(path.join(root, 'server.log'), 'utf8').catch(() => '');
          throw new Error(`PostgreSQL did not start: ${String(error)}\n${log}`);
        }
      }
    }
    await asPostgres('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'app']);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/app`,
      stop: async () => {
        await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
        await fs.rm(root, { recursive: true, force: true });
      },
      halt: async () => {
        await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      },
      resume: async () => {
        await pgStart();
      },
    };
  } catch (error) {
    if (started) await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
}
