// The web console (console/, built by `npm run build:console` into dist/console) served at `/` on
// the API's own port. It lives in its own encapsulated scope, so its security headers and its
// fallback route touch console responses only: everything under /api keeps the API's
// BasicFailedReply answers, unknown API routes included.
//
// - Hashed files under /assets/ are served by @fastify/static, pre-compressed (brotli, gzip) and
//   cached for a year as immutable: a new build has new names.
// - Every other GET that is not an API path answers index.html (the single-page app routes it),
//   revalidated on each load (no-cache) and carrying this response's CSP nonce.
// - Content-Security-Policy via @fastify/helmet: scripts only from this origin (no inline script, no
//   eval); <style> elements only with the nonce, because EUI's Emotion injects them at run time
//   (console/src/style-nonce.ts hands the nonce to every library that does); no framing.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { declarePublicScope } from '../plugins/authenticate.js';
import { MAX_PATH_PARAM_LENGTH, overlongParameter } from '../plugins/protocol-errors.js';

const NONCE_PLACEHOLDER = '__CSP_NONCE__';
const ONE_YEAR_SECONDS = 365 * 24 * 3600;

/** The package root (where package.json is), from src/http/console or dist/http/console alike. */
function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Where `npm run build:console` puts the console. */
export function defaultConsoleDir(): string {
  return path.join(packageRoot(), 'dist', 'console');
}

/** Files that are not there: /assets/ holds only what the build made, never the app. */
function isMissingAsset(url: string): boolean {
  return url.startsWith('/assets/');
}

export const CONSOLE_CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * Registers the console if it has been built; returns false (and serves nothing) if `dir` has no
 * index.html, so a server started from a checkout without a build still serves the API.
 */
function hasOverlongSegment(url: string): boolean {
  const pathname = url.split('?', 1)[0]!;
  return pathname.split('/').some((segment) => segment.length > MAX_PATH_PARAM_LENGTH);
}

export async function registerConsole(app: FastifyInstance, dir: string): Promise<boolean> {
  const indexFile = path.join(dir, 'index.html');
  if (!existsSync(indexFile)) return false;
  const indexTemplate = readFileSync(indexFile, 'utf8');
  // Unknown API paths are more specific than the console's /* and stay outside its scope: they get
  // the API's own 404 (BasicFailedReply) without the console's headers. This wildcard also catches
  // what the router would have refused for a path parameter over its limit, so that is answered
  // here as the router's refusal is (414, http/plugins/protocol-errors.ts).
  for (const url of ['/api', '/api/*']) {
    app.get(url, { config: { unknownPaths: true } }, (request, reply) => {
      if (hasOverlongSegment(request.url)) throw overlongParameter();
      return reply.callNotFound();
    });
  }
  await app.register(async (scope) => {
    // The console's page and assets need no credentials: the page signs in through the API.
    declarePublicScope(scope);
    await scope.register(helmet, {
      enableCSPNonces: true,
      contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP_DIRECTIVES },
      // Served over plain HTTP too; HSTS belongs to the TLS terminator in front of extrepo.
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'no-referrer' },
      frameguard: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
    });
    await scope.register(fastifyStatic, {
      root: path.join(dir, 'assets'),
      prefix: '/assets/',
      preCompressed: true,
      cacheControl: false,
      dotfiles: 'ignore',
      index: false,
      setHeaders: (reply) => {
        reply.header('cache-control', `public, max-age=${ONE_YEAR_SECONDS}, immutable`);
      },
    });
    scope.get('/*', async (request, reply) => {
      if (isMissingAsset(request.url)) return reply.callNotFound();
      const html = indexTemplate.replaceAll(NONCE_PLACEHOLDER, reply.cspNonce.style);
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
    });
  });
  return true;
}
