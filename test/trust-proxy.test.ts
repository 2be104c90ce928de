// extrepo-test-backends: each
// Behind a load balancer (EXTREPO_TRUST_PROXY): the client address in the audit trail and the login
// throttle is the one the trusted proxy forwards; without the setting, X-Forwarded-For is ignored.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

const ADMIN_PASSWORD = 'correct horse battery staple';
const ATTACKER = '203.0.113.7';
const ADMIN_DESK = '198.51.100.9';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const server = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env });
  servers.push(server);
  return server;
}

function login(server: TestServer, username: string, password: string, forwardedFor: string) {
  return server.api('POST', '/api/v1/users/auth/_login', {
    json: { username, password },
    headers: { authorization: '', 'x-forwarded-for': forwardedFor },
  });
}

/** 20 failed sign-ins from one address, each for another user name (so only the address counts). */
async function failTwentyTimes(server: TestServer, from: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    statuses.push((await login(server, `nobody-${randomBytes(4).toString('hex')}`, 'not the password', from)).status);
  }
  return statuses;
}

async function auditAddresses(server: TestServer, action: string): Promise<unknown[]> {
  const page = await server.api('GET', `/api/v1/audit?size=100&action=${action}`);
  assert.equal(page.status, 200, page.text);
  return (page.body.records as Array<Record<string, unknown>>).map((record) => record.client_address);
}

describe('behind a trusted proxy (EXTREPO_TRUST_PROXY)', () => {
  test('20 failed sign-ins from one forwarded address do not lock out another forwarded address', async () => {
    const server = await serverWith({ EXTREPO_TRUST_PROXY: '127.0.0.1' });
    const statuses = await failTwentyTimes(server, ATTACKER);
    assert.deepEqual(new Set(statuses), new Set([401]));
    assert.equal((await login(server, 'nobody', 'still not it', ATTACKER)).status, 429, 'the attacker is throttled');
    const admin = await login(server, 'admin', ADMIN_PASSWORD, ADMIN_DESK);
    assert.equal(admin.status, 200, admin.text);
  });

  test('the audit trail records the forwarded client address, the last one the proxy added', async () => {
    const server = await serverWith({ EXTREPO_TRUST_PROXY: 'loopback' });
    // A client may send its own X-Forwarded-For; the proxy appends the address it saw.
    assert.equal((await login(server, 'admin', ADMIN_PASSWORD, `10.9.9.9, ${ADMIN_DESK}`)).status, 200);
    assert.deepEqual(await auditAddresses(server, 'login'), [ADMIN_DESK]);
  });

  test('a hop count trusts that many proxies', async () => {
    const server = await serverWith({ EXTREPO_TRUST_PROXY: '2' });
    assert.equal((await login(server, 'admin', ADMIN_PASSWORD, `${ATTACKER}, ${ADMIN_DESK}`)).status, 200);
    assert.deepEqual(await auditAddresses(server, 'login'), [ATTACKER]);
  });

  test('a peer that is not a trusted proxy cannot choose its address', async () => {
    const server = await serverWith({ EXTREPO_TRUST_PROXY: '10.0.0.0/8' });
    assert.equal((await login(server, 'admin', ADMIN_PASSWORD, ADMIN_DESK)).status, 200);
    assert.deepEqual(await auditAddresses(server, 'login'), ['127.0.0.1']);
  });
});

describe('without EXTREPO_TRUST_PROXY', () => {
  test('X-Forwarded-For is ignored: every client shares the socket address, in the throttle and the audit trail', async () => {
    const server = await serverWith({});
    await failTwentyTimes(server, ATTACKER);
    assert.equal((await login(server, 'admin', ADMIN_PASSWORD, ADMIN_DESK)).status, 429);
    const addresses = await auditAddresses(server, 'login');
    assert.ok(addresses.length > 0);
    assert.deepEqual(new Set(addresses), new Set(['127.0.0.1']));
  });
});
