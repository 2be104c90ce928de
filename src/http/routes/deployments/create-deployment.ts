// POST /deployments (ECE's create-deployment): 201 with the created resources; 202 with the first
// deployment when the caller's request_id was seen before (cloud-sdk-go accepts both); 200 with
// validate_only=true, which validates everything (references included) and stores nothing.
import type { FastifyInstance } from 'fastify';
import { createResponse, deploymentHeaders } from '../../../domain/deployment-view.js';
import { apiError } from '../../../errors.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import type { RouteDeps } from '../../route-deps.js';
import { deploymentCreateRequestSchema } from './schemas.js';

const REQUEST_ID_MIN = 32;
const REQUEST_ID_MAX = 128;

export function registerCreateDeployment(app: FastifyInstance, deps: RouteDeps): void {
  app.post('/api/v1/deployments', { schema: { body: deploymentCreateRequestSchema } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const validateOnly = booleanQuery(query, 'validate_only') === true;
    if (query.template_id !== undefined && query.template_id !== '') {
      throw apiError('invalidRequest', 'extrepo has no deployment templates: send the resources in the body instead of template_id.', {
        fields: ['template_id'],
      });
    }
    const requestId = query.request_id;
    if (requestId !== undefined && (typeof requestId !== 'string' || requestId.length < REQUEST_ID_MIN || requestId.length > REQUEST_ID_MAX)) {
      throw apiError('invalidRequest', `request_id must be ${REQUEST_ID_MIN} to ${REQUEST_ID_MAX} characters long.`, { fields: ['request_id'] });
    }
    const outcome = await deps.deployments.create(
      request.body,
      { ...(typeof requestId === 'string' ? { requestId } : {}), validateOnly },
      requirePrincipal(request),
    );
    if (validateOnly) return reply.code(200).send(createResponse(outcome.record, false));
    reply.code(outcome.replayed ? 202 : 201).headers(deploymentHeaders(outcome.record));
    return createResponse(outcome.record, outcome.created);
  });
}
