// GET /api/v1/audit (ours; ECE has none): the audit trail, newest first, for platform admins.
// Query: size, from, user, action, target, outcome, since, until.
import type { FastifyInstance } from 'fastify';
import { auditView } from '../../../auth/audit-log.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';

export function registerListAudit(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/audit', async (request) => {
    const query = request.query as Record<string, unknown>;
    const strings: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(query)) if (typeof value === 'string') strings[key] = value;
    const result = await deps.audit.list(requirePrincipal(request), strings);
    return { total: result.total, from: result.from, size: result.size, records: result.records.map(auditView) };
  });
}
