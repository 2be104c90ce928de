// Writes one audit record per change request (every POST, PUT, PATCH and DELETE under /api/v1 that
// reached a route), per sign-in and per failed Basic sign-in, once the answer is known. Actions are
// ECE's operationIds; targets are ids and names. Bodies and headers are never recorded.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../../auth/audit-log.js';
import { noteForAudit } from '../../plugins/authenticate.js';

const ACTIONS: Record<string, string> = {
  'POST /api/v1/deployments/extensions': 'create-extension',
  'POST /api/v1/deployments/extensions/:extension_id': 'update-extension',
  'PUT /api/v1/deployments/extensions/:extension_id': 'upload-extension',
  'DELETE /api/v1/deployments/extensions/:extension_id': 'delete-extension',
  'POST /api/v1/deployments': 'create-deployment',
  'PUT /api/v1/deployments/:deployment_id': 'update-deployment',
  'POST /api/v1/deployments/:deployment_id/_shutdown': 'shutdown-deployment',
  'DELETE /api/v1/deployments/:deployment_id': 'delete-deployment',
  'POST /api/v1/deployments/:deployment_id/_rotate_install_secret': 'rotate-deployment-install-secret',
  'POST /api/v1/deployments/extensions/:extension_id/versions/:file_version/_restore': 'restore-extension-file-version',
  'POST /api/v1/users': 'create-user',
  'PATCH /api/v1/users/:user_name': 'update-user',
  'DELETE /api/v1/users/:user_name': 'delete-user',
  'PATCH /api/v1/user': 'update-current-user',
  'POST /api/v1/users/auth/_login': 'login',
  'POST /api/v1/users/auth/_refresh': 'refresh-token',
  'POST /api/v1/users/auth/_logout': 'logout',
  'POST /api/v1/users/auth/keys': 'create-api-key',
  'DELETE /api/v1/users/auth/keys': 'delete-api-keys',
  'DELETE /api/v1/users/auth/keys/:api_key_id': 'delete-api-key',
  'DELETE /api/v1/users/auth/keys/_all': 'delete-users-api-keys',
  'DELETE /api/v1/users/:user_id/auth/keys': 'delete-user-api-keys',
  'DELETE /api/v1/users/:user_id/auth/keys/:api_key_id': 'delete-user-api-key',
};

// Creates whose id is only known from the answer.
const CREATES = new Set(['POST /api/v1/deployments/extensions', 'POST /api/v1/deployments']);

function targetOf(request: FastifyRequest): string | null {
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  const parts = [params.deployment_id, params.extension_id, params.user_name, params.user_id, params.api_key_id].filter(
    (part): part is string => part !== undefined,
  );
  return parts.length === 0 ? null : parts.join('/');
}

export function registerAuditTrail(app: FastifyInstance, audit: AuditLog): void {
  // The id of a new extension is only known from the answer.
  // Synchronous hooks: they run on every request (reads included), where an async hook's promise
  // per request is measurable; only a change request goes on to write its record.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (
      (reply.statusCode === 201 || reply.statusCode === 202) &&
      CREATES.has(`${request.method} ${request.routeOptions.url}`) &&
      typeof payload === 'string'
    ) {
      try {
        const id = (JSON.parse(payload) as { id?: unknown }).id;
        if (typeof id === 'string') noteForAudit(request, { target: id });
      } catch {
        // not JSON: nothing to note
      }
    }
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const note = request.auditNote;
    const action = note?.action ?? ACTIONS[`${request.method} ${request.routeOptions.url ?? ''}`];
    if (action === undefined) {
      done();
      return;
    }
    const failed = reply.statusCode >= 400;
    const errorCodes = reply.getHeader('x-cloud-error-codes');
    audit
      .record({
        at: new Date(),
        userId: request.principal?.userId ?? note?.userId ?? null,
        keyId: request.principal?.keyId ?? note?.keyId ?? null,
        action,
        target: note?.target ?? targetOf(request),
        outcome: failed ? 'failure' : 'success',
        status: reply.statusCode,
        errorCode: failed && errorCodes !== undefined ? String(errorCodes) : null,
        clientAddress: request.ip,
        requestId: request.id,
      })
      .then(() => done(), done);
  });
}
