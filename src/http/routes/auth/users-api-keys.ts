// Everyone's API keys, for platform admins (and platform viewers, read-only): GET|DELETE
// /users/auth/keys/_all and GET|DELETE /users/{user_id}/auth/keys[/{api_key_id}].
import type { FastifyInstance } from 'fastify';
import type { DeleteUsersApiKeysRequest } from '../../../api-types.js';
import { apiKeyView } from '../../../auth/api-key-service.js';
import { apiError } from '../../../errors.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { refuseBodyAs } from '../../schema-refusal.js';
import { deleteUsersApiKeysRequestSchema, userApiKeyParams, userIdParams, type UserApiKeyParams, type UserIdParams } from '../../schemas.js';

type UserParams = { Params: UserIdParams };
type UserKeyParams = { Params: UserApiKeyParams };

const refuseDeleteOfUsers = refuseBodyAs(() =>
  apiError('invalidJson', 'The body must be {"user_api_keys": [{"user_id": …, "api_key_id": …}, …]}.', { fields: ['user_api_keys'] }),
);

export function registerUsersApiKeyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/users/auth/keys/_all', async (request) => {
    const keys = await deps.keys.listAll(requirePrincipal(request));
    return { keys: keys.map((record) => apiKeyView(record)) };
  });

  app.delete<{ Body: DeleteUsersApiKeysRequest }>(
    '/api/v1/users/auth/keys/_all',
    {
      schema: { body: deleteUsersApiKeysRequestSchema },
      schemaErrorFormatter: refuseDeleteOfUsers,
      // A caller without the right learns that first, whatever the body (as before the schema).
      preValidation: async (request) => deps.keys.authorizeDeleteManyOfUsers(requirePrincipal(request)),
    },
    async (request) => {
      await deps.keys.deleteManyOfUsers(requirePrincipal(request), request.body);
      return {};
    },
  );

  app.get<UserParams>('/api/v1/users/:user_id/auth/keys', { schema: { params: userIdParams } }, async (request) => {
    const keys = await deps.keys.listOfUser(requirePrincipal(request), request.params.user_id);
    return { keys: keys.map((record) => apiKeyView(record)) };
  });

  app.delete<UserParams>('/api/v1/users/:user_id/auth/keys', { schema: { params: userIdParams } }, async (request) => {
    await deps.keys.deleteAllOfUser(requirePrincipal(request), request.params.user_id);
    return {};
  });

  app.get<UserKeyParams>('/api/v1/users/:user_id/auth/keys/:api_key_id', { schema: { params: userApiKeyParams } }, async (request) =>
    apiKeyView(await deps.keys.getOfUser(requirePrincipal(request), request.params.user_id, request.params.api_key_id)),
  );

  app.delete<UserKeyParams>('/api/v1/users/:user_id/auth/keys/:api_key_id', { schema: { params: userApiKeyParams } }, async (request) => {
    await deps.keys.deleteOfUser(requirePrincipal(request), request.params.user_id, request.params.api_key_id);
    return {};
  });
}
