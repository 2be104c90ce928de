// The audit trail: one record per change (extensions, users, keys) and per sign-in, success or
// failure. Records carry ids and names, never a secret; nothing in the API edits or deletes them.
import type { AuditRecord as AuditRecordView } from '../api-types.js';
import { hasPermission, type Principal } from '../domain/principal.js';
import { apiError } from '../errors.js';
import type { AuditEntry, AuditOutcome, AuditQuery, AuditRecord, MetadataStore } from '../stores/metadata-store.js';

export const AUDIT_MAX_PAGE = 1000;
export const AUDIT_DEFAULT_PAGE = 100;

export function auditView(record: AuditRecord): AuditRecordView {
  const view: AuditRecordView = {
    id: record.id,
    at: record.at.toISOString(),
    action: record.action,
    outcome: record.outcome,
    status: record.status,
  };
  if (record.userId !== null) view.user_id = record.userId;
  if (record.keyId !== null) view.api_key_id = record.keyId;
  if (record.target !== null) view.target = record.target;
  if (record.errorCode !== null) view.error_code = record.errorCode;
  if (record.clientAddress !== null) view.client_address = record.clientAddress;
  if (record.requestId !== null) view.request_id = record.requestId;
  return view;
}

export class AuditLog {
  constructor(
    private readonly store: MetadataStore,
    private readonly onError: (error: unknown, entry: AuditEntry) => void,
  ) {}

  /** Never throws: a failed audit write is reported through onError, not to the client. */
  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.store.appendAudit(entry);
    } catch (error) {
      this.onError(error, entry);
    }
  }

  async list(
    principal: Principal,
    query: Record<string, string | undefined>,
  ): Promise<{ total: number; from: number; size: number; records: AuditRecord[] }> {
    if (!hasPermission(principal, 'audit.read')) {
      throw apiError('forbidden', 'Only platform admins may read the audit log.');
    }
    const parsed: AuditQuery = {
      from: integer(query.from, 'from', 0, Number.MAX_SAFE_INTEGER, 0),
      size: integer(query.size, 'size', 0, AUDIT_MAX_PAGE, AUDIT_DEFAULT_PAGE),
    };
    if (query.user) parsed.userId = query.user;
    if (query.action) parsed.action = query.action;
    if (query.target) parsed.target = query.target;
    if (query.outcome) {
      if (query.outcome !== 'success' && query.outcome !== 'failure') {
        throw apiError('invalidRequest', 'outcome must be success or failure.', { fields: ['outcome'] });
      }
      parsed.outcome = query.outcome as AuditOutcome;
    }
    if (query.since) parsed.since = date(query.since, 'since');
    if (query.until) parsed.until = date(query.until, 'until');
    const result = await this.store.listAudit(parsed);
    return { ...result, from: parsed.from, size: parsed.size };
  }
}

function integer(raw: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw apiError('invalidRequest', `${name} must be a whole number from ${min} to ${max}.`, { fields: [name] });
  }
  return value;
}

function date(raw: string, name: string): Date {
  const value = new Date(raw);
  if (Number.isNaN(value.getTime())) {
    throw apiError('invalidRequest', `${name} must be an ISO 8601 date-time such as 2025-01-31T12:00:00Z.`, { fields: [name] });
  }
  return value;
}
