// POST /deployments/extensions → exactly 201 (the Go clients fail on any other code, even 200).
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import type { CreateExtensionRequest } from '../../../api-types.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { abortOnClientGone } from '../../request-abort.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { createExtensionRequestSchema, extensionSchema } from '../../schemas.js';

export const CREATE_ROUTE = '/api/v1/deployments/extensions';

export function registerCreateExtension(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Body: CreateExtensionRequest }>(
    CREATE_ROUTE,
    { schema: { body: createExtensionRequestSchema, response: { 201: extensionSchema } } },
    async (request, reply) => {
      const record = await deps.service.create(request.body, requirePrincipal(request), abortOnClientGone(reply));
      reply.code(201).headers(resourceHeaders(record));
      return renderExtension(record, { fileUrl: fileUrlOf(deps, record) });
    },
  );
}
