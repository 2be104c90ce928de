// API keys as ECE manages them: every user creates, lists and deletes their own; platform admins
// (and, read-only, platform viewers) see and manage everyone's. A key is shown once, at creation.
import type { ApiKeyResponse, CreateApiKeyRequest, DeleteUsersApiKeysRequest, RoleAssignments } from '../api-types.js';
import { apiError } from '../errors.js';
import { rolesBeyond, type Principal } from '../domain/principal.js';
import { IdCollisionError, type ApiKeyRecord, type MetadataStore } from '../stores/metadata-store.js';
import { issueApiKey, parseExpiration } from './api-keys.js';
import { requirePermission } from './user-service.js';

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

function invalid(message: string, field: string) {
  return apiError('keyInvalidInput', message, { fields: [field] });
}

const SCOPES = ['platform', 'deployment'] as const;

/**
 * The refusal of a body that is no CreateApiKeyRequest (its route's schema), given the fields the
 * schema's issues name: the first wrong field in the order the fields were always checked in.
 */
export function createKeyRefusal(fields: readonly string[]) {
  if (fields.includes('')) return invalid('The body must be a CreateApiKeyRequest object.', 'description');
  if (fields.includes('description')) return invalid(`description is required: 1 to ${DESCRIPTION_MAX} characters.`, 'description');
  if (fields.includes('expiration')) {
    return invalid('expiration must be a duration such as "30m", "12h", "7d", "4w" or "1y".', 'expiration');
  }
  if (fields.includes('role_assignments')) return invalid('role_assignments must be an object.', 'role_assignments');
  for (const scope of SCOPES) {
    const field = `role_assignments.${scope}`;
    if (fields.includes(field)) return invalid(`${field} must be an array.`, field);
    if (fields.some((named) => named.startsWith(`${field}.`))) {
      return invalid(`${field}[].role_id must be one of the four ECE platform roles.`, field);
    }
  }
  return invalid('The body must be a CreateApiKeyRequest object.', 'description');
}

/** Role ids named in the platform and deployment scopes of a RoleAssignments its schema has checked. */
function requestedRoles(assignments: RoleAssignments): string[] {
  const roles = SCOPES.flatMap((scope) => (assignments[scope] ?? []).map((item) => item.role_id));
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

  /** The body is a CreateApiKeyRequest its route's schema has checked (http/schemas.ts). */
  async create(principal: Principal, body: CreateApiKeyRequest): Promise<{ record: ApiKeyRecord; key: string }> {
    const description = body.description;
    // The schema counts characters; the store's limit counts UTF-16 units, as String.length does.
    if (description.length > DESCRIPTION_MAX) throw createKeyRefusal(['description']);
    const now = this.now();
    let expiresAt: Date | null = null;
    if (typeof body.expiration === 'string' && body.expiration !== '') {
      expiresAt = new Date(now.getTime() + parseExpiration(body.expiration)!);
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

  /** The right DELETE /users/auth/keys/_all needs, checked before its body is (a 403 comes before a 400). */
  authorizeDeleteManyOfUsers(principal: Principal): void {
    requirePermission(principal, 'keys.write_all', "deleting other users' API keys");
  }

  /** The keys come from a DeleteUsersApiKeysRequest its route's schema has checked. */
  async deleteManyOfUsers(principal: Principal, body: DeleteUsersApiKeysRequest): Promise<number> {
    this.authorizeDeleteManyOfUsers(principal);
    let deleted = 0;
    for (const item of body.user_api_keys) {
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
