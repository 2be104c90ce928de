// GET|POST /users and GET|PATCH|DELETE /users/{user_name} (ECE's get-users, create-user, get-user,
// update-user, delete-user). DELETE takes our `reassign_extensions_to` query parameter.
import type { FastifyInstance } from 'fastify';
import { userView, type NewUser, type UserPatch } from '../../../auth/user-service.js';
import { noteForAudit, requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import type { RouteDeps } from '../../route-deps.js';
import { refuseUserBody } from '../../user-body-refusal.js';
import { createUserSchema, userNameParams, userPatchSchema, type UserNameParams } from '../../schemas.js';

type NameParams = { Params: UserNameParams };

export function registerUserRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/users', async (request) => {
    const users = await deps.users.list(requirePrincipal(request), booleanQuery(request.query, 'include_disabled') ?? false);
    return { users: users.map(userView) };
  });

  app.post<{ Body: NewUser }>(
    '/api/v1/users',
    {
      schema: { body: createUserSchema },
      schemaErrorFormatter: refuseUserBody(true),
      preValidation: async (request) => {
        // The audit trail names the user a refused request meant to create, as before the schema.
        const body = request.body as { user_name?: unknown } | undefined;
        if (typeof body?.user_name === 'string') noteForAudit(request, { target: body.user_name });
        deps.users.authorizeCreate(requirePrincipal(request));
      },
    },
    // ECE answers 200 (not 201) for a created user.
    async (request) => userView(await deps.users.create(requirePrincipal(request), request.body)),
  );

  app.get<NameParams>('/api/v1/users/:user_name', { schema: { params: userNameParams } }, async (request) =>
    userView(await deps.users.get(requirePrincipal(request), request.params.user_name)),
  );

  app.patch<NameParams & { Body: UserPatch }>(
    '/api/v1/users/:user_name',
    {
      schema: { params: userNameParams, body: userPatchSchema },
      schemaErrorFormatter: refuseUserBody(false),
      preValidation: async (request) => {
        await deps.users.precheckUpdate(requirePrincipal(request), request.params.user_name, request.body, false);
      },
    },
    async (request) => userView(await deps.users.update(requirePrincipal(request), request.params.user_name, request.body, false)),
  );

  app.delete<NameParams>('/api/v1/users/:user_name', { schema: { params: userNameParams } }, async (request) => {
    const raw = (request.query as Record<string, unknown>).reassign_extensions_to;
    const reassignTo = typeof raw === 'string' && raw !== '' ? raw : undefined;
    await deps.users.delete(requirePrincipal(request), request.params.user_name, reassignTo);
    return {};
  });
}
