// API keys as ECE manages them: every user creates, lists and deletes their own; platform admins
// (and, read-only, platform viewers) see and manage everyone's. A key is shown once, at creation.
import type { ApiKeyResponse } from '../api-types.js';
import { apiError } from '../errors.js';
import { isRole, rolesBeyond, type Principal } from '../domain/principal.js';
import { IdCollisionError, type ApiKeyRecord, type MetadataStore } from '../stores/metadata-store.js';
import { issueApiKey, parseExpiration } from './api-keys.js';
import { requirePermission } from './user-service.js';

type Json = Record<string, unknown>;

const DESCRIPTION_MAX = 255;

/** ECE's `ApiKeyResponse`; `key` only when it was just created. */
export function apiKeyView(record: ApiKeyRecord, key?: string): ApiKeyResponse {
  const view: ApiKeyResponse = {
    id: record.id,
    user_id: record.userId,
    description: record.description,
    creation_date: record.createdAt.toISOString(),
  };
  if (record.expiresAt !== null) view.expiration_date = record.expiresAt.toISOString();
  if (record.roles !== null) view.role_assignments = { platform: record.roles.map((role_id) => ({ role_id })) };
  if (key !== undefined) view.key = key;
  return view;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, field: string) {
  return apiError('keyInvalidInput', message, { fields: [field] });
}

/** Role ids named in a RoleAssignments object (platform and deployment scopes alike). */
function requestedRoles(assignments: unknown): string[] {
  if (!isObject(assignments)) throw invalid('role_assignments must be an object.', 'role_assignments');
  const roles: string[] = [];
  for (const scope of ['platform', 'deployment'] as const) {
    const list = assignments[scope];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(`role_assignments.${scope} must be an array.`, `role_assignments.${scope}`);
    for (const item of list) {
      const roleId = isObject(item) ? item.role_id : undefined;
      if (!isRole(roleId)) {
        throw invalid(`role_assignments.${scope}[].role_id must be one of the four ECE platform roles.`, `role_assignments.${scope}`);
      }
      roles.push(roleId);
    }
  }
  return [...new Set(roles)];
}

export class ApiKeyService {
  private readonly now: () => Date;

  constructor(
    private readonly store: MetadataStore,
    now?: () => Date,
  ) {
    this.now = now ?? (() => new Date());
  }

  async create(principal: Principal, body: unknown): Promise<{ record: ApiKeyRecord; key: string }> {
    if (!isObject(body)) throw invalid('The body must be a CreateApiKeyRequest object.', 'description');
    const description = body.description;
    if (typeof description !== 'string' || description.trim() === '' || description.length > DESCRIPTION_MAX) {
      throw invalid(`description is required: 1 to ${DESCRIPTION_MAX} characters.`, 'description');
    }
    const now = this.now();
    let expiresAt: Date | null = null;
    if (body.expiration !== undefined && body.expiration !== null && body.expiration !== '') {
      const ms = typeof body.expiration === 'string' ? parseExpiration(body.expiration) : null;
      if (ms === null) {
        throw invalid('expiration must be a duration such as "30m", "12h", "7d", "4w" or "1y".', 'expiration');
      }
      expiresAt = new Date(now.getTime() + ms);
    }
    // A key never has more than the roles in force for its creator now; by default exactly those.
    let roles: string[] = [...principal.roles];
    if (body.role_assignments !== undefined && body.role_assignments !== null) {
      const requested = requestedRoles(body.role_assignments);
      const beyond = rolesBeyond(principal, requested);
      if (beyond.length > 0) {
        // A credential never mints a stronger one (issue 9): 403, as for any other missing right.
        throw apiError('forbidden', `A key cannot have roles beyond those of the credential creating it: ${beyond.join(', ')}.`, {
          fields: ['role_assignments'],
        });
      }
      roles = requested;
    }
    for (let attempt = 1; ; attempt++) {
      const issued = issueApiKey(principal.userId, description, now, expiresAt, roles);
      try {
        await this.store.insertApiKey(issued.record);
        return issued;
      } catch (error) {
        if (!(error instanceof IdCollisionError) || attempt >= 3) throw error;
      }
    }
  }

  async listOwn(principal: Principal): Promise<ApiKeyRecord[]> {
    return this.store.listApiKeys(principal.userId);
  }

  async getOwn(principal: Principal, keyId: string): Promise<ApiKeyRecord> {
    return this.ofUser(principal.userId, keyId);
  }

  async deleteOwn(principal: Principal, keyId: string): Promise<void> {
    const deleted = await this.store.deleteApiKeys([keyId], principal.userId);
    if (deleted.length === 0) throw keyNotFound(keyId);
  }

  /** The ids come from a DeleteApiKeysRequest its route's schema has checked. */
  async deleteManyOwn(principal: Principal, ids: readonly string[]): Promise<string[]> {
    return this.store.deleteApiKeys([...ids], principal.userId);
  }

  async listAll(principal: Principal): Promise<ApiKeyRecord[]> {
    requirePermission(principal, 'keys.read_all', "reading other users' API keys");
    return this.store.listApiKeys();
  }

  async deleteManyOfUsers(principal: Principal, body: unknown): Promise<number> {
    requirePermission(principal, 'keys.write_all', "deleting other users' API keys");
    const list = isObject(body) ? body.user_api_keys : undefined;
    if (!Array.isArray(list) || list.some((item) => !isObject(item) || typeof item.user_id !== 'string' || typeof item.api_key_id !== 'string')) {
      throw apiError('invalidJson', 'The body must be {"user_api_keys": [{"user_id": …, "api_key_id": …}, …]}.', {
        fields: ['user_api_keys'],
      });
    }
    let deleted = 0;
    for (const item of list as Array<{ user_id: string; api_key_id: string }>) {
      deleted += (await this.store.deleteApiKeys([item.api_key_id], item.user_id)).length;
    }
    return deleted;
  }

  /** /users/{user_id}/auth/keys: admins and platform viewers for anyone; everyone for themselves. */
  async listOfUser(principal: Principal, userId: string): Promise<ApiKeyRecord[]> {
    await this.checkOtherUser(principal, userId, false);
    return this.store.listApiKeys(userId);
  }

  async getOfUser(principal: Principal, userId: string, keyId: string): Promise<ApiKeyRecord> {
    await this.checkOtherUser(principal, userId, false);
    return this.ofUser(userId, keyId);
  }

  async deleteAllOfUser(principal: Principal, userId: string): Promise<number> {
    await this.checkOtherUser(principal, userId, true);
    return this.store.deleteApiKeysOfUser(userId);
  }

  async deleteOfUser(principal: Principal, userId: string, keyId: string): Promise<void> {
    await this.checkOtherUser(principal, userId, true);
    const deleted = await this.store.deleteApiKeys([keyId], userId);
    if (deleted.length === 0) throw keyNotFound(keyId);
  }

  private async checkOtherUser(principal: Principal, userId: string, write: boolean): Promise<void> {
    if (userId !== principal.userId) {
      requirePermission(principal, write ? 'keys.write_all' : 'keys.read_all', "managing other users' API keys");
    }
    if ((await this.store.getUser(userId)) === null) {
      throw apiError('keyUserNotFound', `User [${userId}] not found.`);
    }
  }

  private async ofUser(userId: string, keyId: string): Promise<ApiKeyRecord> {
    const record = await this.store.findApiKey(keyId);
    if (record === null || record.userId !== userId) throw keyNotFound(keyId);
    return record;
  }
}

function keyNotFound(keyId: string) {
  return apiError('keyNotFound', `API key [${keyId}] not found.`);
}
