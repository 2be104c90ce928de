// GET /api/v1/api-docs/ : the API document as a page people can read (Swagger UI), next to the
// document itself (operations.ts). Every asset is served from the @fastify/swagger-ui package, so the
// page works without Internet access; the online validator badge is turned off for the same reason.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import { servedApiDocument } from '../api-document.js';
import { declarePublicScope } from '../plugins/authenticate.js';
import { swaggerDocument } from '../spec.js';

export const API_DOCS_PAGE_PREFIX = '/api/v1/api-docs';

export async function registerApiDocsPage(app: FastifyInstance, config: Config): Promise<void> {
  // Static mode: the document is ours (spec/), not generated from the routes.
  await app.register(swagger, { mode: 'static', specification: { document: swaggerDocument as never } });
  // The page and its assets are public, like the document (its routes are the plugin's: one scope).
  await app.register(async (scope) => {
    declarePublicScope(scope);
    await scope.register(swaggerUi, {
      routePrefix: API_DOCS_PAGE_PREFIX,
      uiConfig: { validatorUrl: null, deepLinking: true },
      // The page loads ./json: the same document as swagger.json, for the same host and scheme.
      transformSpecificationClone: false,
      transformSpecification: (_document, request) => servedApiDocument(request, config.publicUrl),
      theme: { title: 'extrepo API' },
    });
  });
}
