// The caller's own API keys: GET|POST|DELETE /users/auth/keys and GET|DELETE
// /users/auth/keys/{api_key_id} (ECE's get-api-keys, create-api-key, delete-api-keys, get-api-key,
// delete-api-key).
import type { FastifyInstance } from 'fastify';
import type { CreateApiKeyRequest, DeleteApiKeysRequest } from '../../../api-types.js';
import { apiKeyView, createKeyRefusal } from '../../../auth/api-key-service.js';
import { apiError } from '../../../errors.js';
import { noteForAudit, requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { fieldOf } from '../../plugins/error-replies.js';
import { refuseBodyAs } from '../../schema-refusal.js';
import { apiKeyIdParams, createApiKeyRequestSchema, deleteApiKeysRequestSchema, type ApiKeyIdParams } from '../../schemas.js';

const refuseDeleteKeys = refuseBodyAs(() => apiError('invalidJson', 'The body must be {"keys": ["<api key id>", …]}.', { fields: ['keys'] }));

export function registerOwnApiKeyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/users/auth/keys', async (request) => {
    const keys = await deps.keys.listOwn(requirePrincipal(request));
    return { keys: keys.map((record) => apiKeyView(record)) };
  });

  app.post<{ Body: CreateApiKeyRequest }>(
    '/api/v1/users/auth/keys',
    { schema: { body: createApiKeyRequestSchema }, schemaErrorFormatter: refuseBodyAs((issues) => createKeyRefusal(issues.map(fieldOf))) },
    async (request, reply) => {
      const { record, key } = await deps.keys.create(requirePrincipal(request), request.body);
      noteForAudit(request, { target: record.id });
      reply.code(201);
      return apiKeyView(record, key);
    },
  );

  app.delete<{ Body: DeleteApiKeysRequest }>(
    '/api/v1/users/auth/keys',
    { schema: { body: deleteApiKeysRequestSchema }, schemaErrorFormatter: refuseDeleteKeys },
    async (request) => {
      const deleted = await deps.keys.deleteManyOwn(requirePrincipal(request), request.body.keys);
      noteForAudit(request, { target: deleted.join(',') });
      return {};
    },
  );

  app.get<{ Params: ApiKeyIdParams }>('/api/v1/users/auth/keys/:api_key_id', { schema: { params: apiKeyIdParams } }, async (request) =>
    apiKeyView(await deps.keys.getOwn(requirePrincipal(request), request.params.api_key_id)),
  );

  app.delete<{ Params: ApiKeyIdParams }>('/api/v1/users/auth/keys/:api_key_id', { schema: { params: apiKeyIdParams } }, async (request) => {
    await deps.keys.deleteOwn(requirePrincipal(request), request.params.api_key_id);
    return {};
  });
}
