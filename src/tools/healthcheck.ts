// A health probe for container runtimes (the Dockerfile's HEALTHCHECK): GET /healthz on this
// machine's extrepo, on the port and with the scheme its own settings say, then exit 0 (healthy) or
// 1. It needs no curl in the image, and follows EXTREPO_PORT / EXTREPO_TLS_* instead of hard-coding them.
//
//   node dist/tools/healthcheck.js
import http from 'node:http';
import https from 'node:https';

const env = process.env;
const port = Number(env.EXTREPO_PORT || 12400);
const configured = (env.EXTREPO_HOST || '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
// A wildcard listener is reached on loopback.
const host = configured === '0.0.0.0' ? '127.0.0.1' : configured === '::' ? '::1' : configured;
const tls = Boolean(env.EXTREPO_TLS_CERT);
// The certificate names the public host, not loopback: this probe checks liveness, not identity.
const client = tls ? https : http;

const request = client.get({ host, port, path: '/healthz', timeout: 5000, rejectUnauthorized: false }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (error) => {
  process.stderr.write(`extrepo healthcheck: ${tls ? 'https' : 'http'}://${host}:${port}/healthz: ${error.message}\n`);
  process.exit(1);
});
