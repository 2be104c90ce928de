// extrepo-test-backends: each
// Credentials the ECE way over real HTTP: _login / _refresh / _logout / GET /users/auth, Bearer,
// Basic and ApiKey on every route, expiry, revocation, disabled users, restarts and throttling.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openFsBlobStore } from '../src/stores/fs/fs-blob-store.js';
import { openSqliteMetadataStore } from '../src/stores/sqlite/sqlite-metadata-store.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

const ADMIN_PASSWORD = 'correct horse battery staple';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string) => `Bearer ${token}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestServer;
before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD });
});
after(async () => {
  await server.close();
});

async function login(username: string, password: string, target = server) {
  return target.api('POST', '/api/v1/users/auth/_login', { json: { username, password }, headers: { authorization: '' } });
}

async function createUser(name: string, roles: string[], password = 'Sufficiently-long-pw-0123456789') {
  const response = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles, password } } });
  assert.equal(response.status, 200, response.text);
  return password;
}

describe('login', () => {
  test('the built-in admin logs in with EXTREPO_ADMIN_PASSWORD and gets a TokenResponse', async () => {
    const response = await login('admin', ADMIN_PASSWORD);
    assert.equal(response.status, 200, response.text);
    assert.match(response.body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const expires = Date.parse(response.body.session_expiration_time);
    assert.ok(expires > Date.now() + 29 * 60_000 && expires <= Date.now() + 30 * 60_000 + 1000, response.body.session_expiration_time);
    const list = await server.api('GET', '/api/v1/deployments/extensions', { headers: { authorization: bearer(response.body.token) } });
    assert.equal(list.status, 200);
  });

  test('needs no Authorization header, and ignores one', async () => {
    const response = await server.api('POST', '/api/v1/users/auth/_login', {
      json: { username: 'admin', password: ADMIN_PASSWORD },
      headers: { authorization: 'ApiKey nonsense' },
    });
    assert.equal(response.status, 200);
  });

  test('a wrong password or unknown user gives 401 root.unauthenticated without saying which', async () => {
    await createUser('wrongpw', ['ece_deployment_viewer']);
    const wrong = await login('wrongpw', 'not the password at all');
    const unknown = await login('nobody-here', 'not the password at all');
    for (const response of [wrong, unknown]) {
      assert.equal(response.status, 401);
      assert.equal(response.body.errors[0].code, 'root.unauthenticated');
      assert.equal(response.body.errors[0].message, 'The user name or password is not valid.');
      assert.ok(!response.text.includes('not the password'));
    }
  });

  test('a body without username or password is 400 naming the field', async () => {
    const response = await server.api('POST', '/api/v1/users/auth/_login', { json: { username: 'admin' }, headers: { authorization: '' } });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.errors[0].fields, ['password']);
  });
});

describe('who am I', () => {
  test('GET /users/auth tells the user, the method and the expiry of a token', async () => {
    const { body } = await login('admin', ADMIN_PASSWORD);
    const viaToken = await server.api('GET', '/api/v1/users/auth', { headers: { authorization: bearer(body.token) } });
    assert.equal(viaToken.status, 200);
    assert.equal(viaToken.body.user_name, 'admin');
    assert.equal(viaToken.body.authentication_method, 'token');
    assert.equal(viaToken.body.refresh_token_url, '/api/v1/users/auth/_refresh');
    assert.equal(viaToken.body.expires_at, body.session_expiration_time);
    const viaKey = await server.api('GET', '/api/v1/users/auth');
    assert.equal(viaKey.body.authentication_method, 'api_key');
    assert.equal(viaKey.body.api_key_id, 'env-admin-key');
    assert.deepEqual(viaKey.body.roles, ['ece_platform_admin']);
    const viaBasic = await server.api('GET', '/api/v1/users/auth', { headers: { authorization: basic('admin', ADMIN_PASSWORD) } });
    assert.equal(viaBasic.body.authentication_method, 'basic');
    assert.equal(viaBasic.body.expires_at, undefined);
  });
});

describe('refresh and logout', () => {
  test('refresh issues a new token and the old one stops working', async () => {
    const { body: first } = await login('admin', ADMIN_PASSWORD);
    const refreshed = await server.api('POST', '/api/v1/users/auth/_refresh', { headers: { authorization: bearer(first.token) } });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.notEqual(refreshed.body.token, first.token);
    const old = await server.api('GET', '/api/v1/user', { headers: { authorization: bearer(first.token) } });
    assert.equal(old.status, 401);
    const fresh = await server.api('GET', '/api/v1/user', { headers: { authorization: bearer(refreshed.body.token) } });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.user_name, 'admin');
    // Refreshing the revoked token again fails with ECE's code for this operation.
    const again = await server.api('POST', '/api/v1/users/auth/_refresh', { headers: { authorization: bearer(first.token) } });
    assert.equal(again.status, 401);
    assert.equal(again.body.errors[0].code, 'root.unauthorized');
  });

  test('refresh needs a token: an API key is refused with 401', async () => {
    const response = await server.api('POST', '/api/v1/users/auth/_refresh');
    assert.equal(response.status, 401);
    assert.equal(response.body.errors[0].code, 'root.unauthorized');
  });

  test('logout stops the token at once', async () => {
    const { body } = await login('admin', ADMIN_PASSWORD);
    const auth = { authorization: bearer(body.token) };
    assert.equal((await server.api('POST', '/api/v1/users/auth/_logout', { headers: auth })).status, 200);
    const after = await server.api('GET', '/api/v1/deployments/extensions', { headers: auth });
    assert.equal(after.status, 401);
    assert.equal(after.body.errors[0].code, 'root.unauthenticated');
  });

  test('a tampered or foreign token is refused', async () => {
    const { body } = await login('admin', ADMIN_PASSWORD);
    const [h, p, s] = body.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'someone' })).toString('base64url');
    for (const token of [`${h}.${forged}.${s}`, `${h}.${p}.${s.slice(0, -2)}AA`, 'not-a-token']) {
      const response = await server.api('GET', '/api/v1/user', { headers: { authorization: bearer(token) } });
      assert.equal(response.status, 401);
    }
  });
});

describe('credentials on every route', () => {
  test('missing or malformed credentials give 401 root.unauthenticated with x-cloud-error-codes', async () => {
    for (const authorization of ['', 'ApiKey wrong.key', 'Token abc', basic('admin', 'wrong password!'), 'Bearer x.y.z']) {
      for (const apiPath of ['/api/v1/deployments/extensions', '/api/v1/users', '/api/v1/users/auth/keys', '/api/v1/audit']) {
        const response = await server.api('GET', apiPath, { headers: { authorization } });
        assert.equal(response.status, 401, `${authorization} ${apiPath}`);
        assert.equal(response.body.errors[0].code, 'root.unauthenticated');
      }
    }
  });

  test('Basic works on every route, request after request', async () => {
    // That repeated Basic requests are not re-hashed each time is a cost, measured in the bench
    // (timing is no pass/fail criterion); what a test can hold is that every one of them passes.
    const auth = { authorization: basic('admin', ADMIN_PASSWORD) };
    for (let i = 0; i < 20; i++) assert.equal((await server.api('GET', '/api/v1/users', { headers: auth })).status, 200);
    for (const apiPath of ['/api/v1/deployments/extensions', '/api/v1/users/auth/keys', '/api/v1/audit']) {
      assert.equal((await server.api('GET', apiPath, { headers: auth })).status, 200, apiPath);
    }
  });
});

describe('disabled users', () => {
  test('disabling a user stops its tokens, Basic and API keys at once; enabling restores keys only', async () => {
    const password = await createUser('tobedisabled', ['ece_deployment_manager']);
    const { body: session } = await login('tobedisabled', password);
    const key = await server.api('POST', '/api/v1/users/auth/keys', {
      json: { description: 'ci' },
      headers: { authorization: bearer(session.token) },
    });
    assert.equal(key.status, 201);
    const credentials = [bearer(session.token), basic('tobedisabled', password), `ApiKey ${key.body.key}`];
    for (const authorization of credentials) {
      assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization } })).status, 200);
    }
    const disabled = await server.api('PATCH', '/api/v1/users/tobedisabled', { json: { security: { enabled: false } } });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.security.enabled, false);
    for (const authorization of credentials) {
      const response = await server.api('GET', '/api/v1/user', { headers: { authorization } });
      assert.equal(response.status, 401, authorization.split(' ')[0]);
    }
    const refused = await login('tobedisabled', password);
    assert.equal(refused.status, 401);
    assert.match(refused.body.errors[0].message, /is disabled; a platform admin can enable it again/);
    await server.api('PATCH', '/api/v1/users/tobedisabled', { json: { security: { enabled: true } } });
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: `ApiKey ${key.body.key}` } })).status, 200);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: bearer(session.token) } })).status, 401);
  });

  test('changing the password ends sessions and the old password at once', async () => {
    const password = await createUser('changer', ['ece_deployment_viewer']);
    const { body: session } = await login('changer', password);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: basic('changer', password) } })).status, 200);
    const changed = await server.api('PATCH', '/api/v1/user', {
      json: { security: { password: 'a brand new secret 42' } },
      headers: { authorization: bearer(session.token) },
    });
    assert.equal(changed.status, 200, changed.text);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: bearer(session.token) } })).status, 401);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: basic('changer', password) } })).status, 401);
    assert.equal((await login('changer', 'a brand new secret 42')).status, 200);
  });
});

describe('expiry', () => {
  test('a token expires after EXTREPO_TOKEN_TTL_SECONDS and cannot be refreshed then', async () => {
    const short = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD, EXTREPO_TOKEN_TTL_SECONDS: '1' });
    try {
      const { body } = await login('admin', ADMIN_PASSWORD, short);
      const expires = Date.parse(body.session_expiration_time);
      await sleep(Math.max(0, expires - Date.now()) + 1500);
      const auth = { authorization: bearer(body.token) };
      assert.equal((await short.api('GET', '/api/v1/user', { headers: auth })).status, 401);
      const refresh = await short.api('POST', '/api/v1/users/auth/_refresh', { headers: auth });
      assert.equal(refresh.status, 401);
      assert.equal(refresh.body.errors[0].code, 'root.unauthorized');
    } finally {
      await short.close();
    }
  });

  test('an API key with an expiration stops working after it', async () => {
    const response = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'short', expiration: '1s' } });
    assert.equal(response.status, 201);
    assert.ok(Date.parse(response.body.expiration_date) <= Date.now() + 1000);
    await sleep(Math.max(0, Date.parse(response.body.expiration_date) - Date.now()) + 500);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: `ApiKey ${response.body.key}` } })).status, 401);
  });
});

describe('restart', () => {
  test('tokens and keys survive a restart on the same data dir; the generated admin password is returned once', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-auth-restart-'));
    const start = async () => {
      const config = loadConfig({ EXTREPO_DATA_DIR: dataDir, EXTREPO_PORT: '0', EXTREPO_LOG_LEVEL: 'silent' });
      const store = await openSqliteMetadataStore(path.join(dataDir, 'extrepo.sqlite3'));
      const blobs = await openFsBlobStore(path.join(dataDir, 'blobs'));
      const app = await buildApp({ config, store, blobs, logger: false });
      const url = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
      return { app, url, close: async () => (await app.fastify.close(), await store.close(), await blobs.close()) };
    };
    try {
      const first = await start();
      const password = first.app.generatedAdminPassword;
      assert.ok(password !== null && password.length >= 20);
      const loginResponse = await fetch(`${first.url}/api/v1/users/auth/_login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      const { token } = (await loginResponse.json()) as { token: string };
      await first.close();

      const second = await start();
      assert.equal(second.app.generatedAdminPassword, null);
      const me = await fetch(`${second.url}/api/v1/user`, { headers: { authorization: bearer(token) } });
      assert.equal(me.status, 200);
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('throttling', () => {
  test('repeated failures for one user name answer 429 with Retry-After, even for the right password', async () => {
    const throttled = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await login('admin', `wrong password ${i}`, throttled)).status);
      assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
      assert.equal(statuses[5], 429);
      const blocked = await login('admin', ADMIN_PASSWORD, throttled);
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.errors[0].code, 'root.too_many_requests');
      const retryAfter = Number(blocked.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
      // Basic with the same user name is throttled too; API keys are not affected.
      assert.equal((await throttled.api('GET', '/api/v1/user', { headers: { authorization: basic('admin', ADMIN_PASSWORD) } })).status, 429);
      assert.equal((await throttled.api('GET', '/api/v1/user', { headers: { authorization: `ApiKey ${ADMIN_KEY}` } })).status, 200);
    } finally {
      await throttled.close();
    }
  });
});
