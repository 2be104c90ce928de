// GET|PATCH /user (ECE's get-current-user and update-current-user): the caller's own account.
import type { FastifyInstance } from 'fastify';
import { userView } from '../../../auth/user-service.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';

export function registerCurrentUserRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/user', async (request) => {
    const principal = requirePrincipal(request);
    return userView(await deps.users.get(principal, principal.userId));
  });

  app.patch('/api/v1/user', async (request) => {
    const principal = requirePrincipal(request);
    return userView(await deps.users.update(principal, principal.userId, request.body, true));
  });
}
