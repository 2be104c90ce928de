// GET|PATCH /user (ECE's get-current-user and update-current-user): the caller's own account.
import type { FastifyInstance } from 'fastify';
import { userView, type UserPatch } from '../../../auth/user-service.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { userPatchSchema } from '../../schemas.js';
import { refuseUserBody } from '../../user-body-refusal.js';

export function registerCurrentUserRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/user', async (request) => {
    const principal = requirePrincipal(request);
    return userView(await deps.users.get(principal, principal.userId));
  });

  app.patch<{ Body: UserPatch }>(
    '/api/v1/user',
    {
      schema: { body: userPatchSchema },
      schemaErrorFormatter: refuseUserBody(false),
      preValidation: async (request) => {
        const principal = requirePrincipal(request);
        await deps.users.precheckUpdate(principal, principal.userId, request.body, true);
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      return userView(await deps.users.update(principal, principal.userId, request.body, true));
    },
  );
}
