// Everyone's API keys, for platform admins (and platform viewers, read-only): GET|DELETE
// /users/auth/keys/_all and GET|DELETE /users/{user_id}/auth/keys[/{api_key_id}].
import type { FastifyInstance } from 'fastify';
import { apiKeyView } from '../../../auth/api-key-service.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';

type UserParams = { Params: { user_id: string } };
type UserKeyParams = { Params: { user_id: string; api_key_id: string } };

export function registerUsersApiKeyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/users/auth/keys/_all', async (request) => {
    const keys = await deps.keys.listAll(requirePrincipal(request));
    return { keys: keys.map((record) => apiKeyView(record)) };
  });

  app.delete('/api/v1/users/auth/keys/_all', async (request) => {
    await deps.keys.deleteManyOfUsers(requirePrincipal(request), request.body);
    return {};
  });

  app.get<UserParams>('/api/v1/users/:user_id/auth/keys', async (request) => {
    const keys = await deps.keys.listOfUser(requirePrincipal(request), request.params.user_id);
    return { keys: keys.map((record) => apiKeyView(record)) };
  });

  app.delete<UserParams>('/api/v1/users/:user_id/auth/keys', async (request) => {
    await deps.keys.deleteAllOfUser(requirePrincipal(request), request.params.user_id);
    return {};
  });

  app.get<UserKeyParams>('/api/v1/users/:user_id/auth/keys/:api_key_id', async (request) =>
    apiKeyView(await deps.keys.getOfUser(requirePrincipal(request), request.params.user_id, request.params.api_key_id)),
  );

  app.delete<UserKeyParams>('/api/v1/users/:user_id/auth/keys/:api_key_id', async (request) => {
    await deps.keys.deleteOfUser(requirePrincipal(request), request.params.user_id, request.params.api_key_id);
    return {};
  });
}
