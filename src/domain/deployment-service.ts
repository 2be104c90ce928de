// The deployments domain: a registry of deployments and the extensions their plans use, on ECE's
// model. extrepo starts no cluster: a deployment is what its client declared (name, tags, one
// Elasticsearch resource and its plan), plus the plan history and the references that keep the
// extensions it uses from being deleted. Ownership and roles follow the extensions' rules
// (principal.ts): platform admins and viewers see every deployment, others their own; admins
// change any, deployment managers their own. Knows nothing of HTTP; failures are ApiErrors.
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, apiError } from '../errors.js';
import {
  DeploymentRunningError,
  MissingExtensionsError,
  RequestIdReplayError,
  type DeploymentRecord,
  type PlanHistoryEntry,
  type StoredElasticsearch,
} from '../stores/deployment-store.js';
import { IdCollisionError, NotFoundError, VersionConflictError, type MetadataStore } from '../stores/metadata-store.js';
import { readDeploymentRequest, type ElasticsearchPayload } from './deployment-request.js';
import { newInstallSalt } from './install-links.js';
import { resolvePlanReferences, type ResolvedReference } from './plan-references.js';
import { mayChangeExtension, mayChangeExtensions, maySee, seesAllExtensions, type Principal } from './principal.js';

/** ECE documents at most 10,000 deployments in an extension's `deployments` list. */
export const DEPLOYMENTS_PER_EXTENSION = 10_000;

const ID_ATTEMPTS = 5;

/** ECE's deployment and resource ids: 32 hex characters (ecctl refuses any other length). */
export function newDeploymentId(): string {
  return randomBytes(16).toString('hex');
}

export interface CreateOptions {
  requestId?: string;
  validateOnly?: boolean;
}

export interface CreateOutcome {
  record: DeploymentRecord;
  /** false for a validate_only answer and for a request_id seen before. */
  created: boolean;
  /** A request_id seen before: the first deployment is answered. */
  replayed: boolean;
}

export interface UpdateOutcome {
  record: DeploymentRecord;
  /** The Elasticsearch resource this update shut down (prune_orphans), if any. */
  pruned: StoredElasticsearch | null;
}

export interface DeploymentServiceOptions {
  store: MetadataStore;
  now?: () => Date;
  newId?: () => string;
}

export class DeploymentService {
  private readonly store: MetadataStore;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(options: DeploymentServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? newDeploymentId;
  }

  async list(principal: Principal): Promise<DeploymentRecord[]> {
    return this.store.deployments.listDeployments(seesAllExtensions(principal) ? {} : { ownerId: principal.userId });
  }

  /** The deployment, if it exists and the caller may see it; otherwise deployments.deployment_not_found. */
  async get(id: string, principal: Principal): Promise<DeploymentRecord> {
    const record = await this.store.deployments.getDeployment(id);
    if (record === null || !maySee(principal, record.ownerId)) throw notFound(id);
    return record;
  }

  async history(record: DeploymentRecord): Promise<PlanHistoryEntry[]> {
    return this.store.deployments.planHistory(record.id);
  }

  async create(body: unknown, options: CreateOptions, principal: Principal): Promise<CreateOutcome> {
    if (!mayChangeExtensions(principal)) throw apiError('forbidden', 'Your role does not allow creating deployments.');
    const request = readDeploymentRequest(body);
    if (request.elasticsearch === undefined) {
      throw apiError('invalidJson', 'A deployment needs one Elasticsearch resource in resources.elasticsearch (with its plan).', {
        fields: ['resources.elasticsearch'],
      });
    }
    const requestId = options.requestId ?? null;
    if (requestId !== null && !options.validateOnly) {
      const replay = await this.store.deployments.getDeploymentByRequestId(principal.userId, requestId);
      if (replay !== null) return { record: replay, created: false, replayed: true };
    }
    const references = await this.resolve(request.elasticsearch, principal);
    const now = this.now();
    for (let attempt = 1; ; attempt++) {
      const id = this.newId();
      const draft = {
        id,
        name: request.name ?? id,
        alias: request.alias ?? null,
        ownerId: principal.userId,
        requestId,
        tags: request.tags ?? [],
        elasticsearch: this.stored(request.elasticsearch, null, 'create-deployment', principal, now),
        references: referencedIds(references),
        installSalt: newInstallSalt(),
        now,
      };
      if (options.validateOnly) {
        const record: DeploymentRecord = { ...draft, shutdownAt: null, resourceVersion: 0, createdAt: now, modifiedAt: now };
        return { record, created: false, replayed: false };
      }
      try {
        return { record: await this.mapStoreErrors(id, () => this.store.deployments.insertDeployment(draft)), created: true, replayed: false };
      } catch (error) {
        if (error instanceof RequestIdReplayError) return { record: error.existing, created: false, replayed: true };
        if (!(error instanceof IdCollisionError) || attempt >= ID_ATTEMPTS) throw error;
      }
    }
  }

  async update(
    id: string,
    body: unknown,
    options: { validateOnly?: boolean; expectedVersion?: number },
    principal: Principal,
  ): Promise<UpdateOutcome> {
    const current = await this.getForChange(id, principal);
    const request = readDeploymentRequest(body);
    const prune = (body as { prune_orphans?: unknown }).prune_orphans === true;
    const now = this.now();
    let elasticsearch: StoredElasticsearch | null | undefined;
    let references: string[] | undefined;
    let pruned: StoredElasticsearch | null = null;
    const es = request.elasticsearch;
    if (es !== undefined) {
      const same = current.elasticsearch !== null && current.elasticsearch.refId === es.refId;
      if (current.elasticsearch !== null && !same) {
        if (!prune) {
          throw apiError(
            'invalidJson',
            `The deployment's Elasticsearch resource is ${current.elasticsearch.refId}, not ${es.refId}; a deployment registers one. Send prune_orphans=true to replace it.`,
            { fields: ['resources.elasticsearch[0].ref_id'] },
          );
        }
        pruned = current.elasticsearch;
      }
      references = referencedIds(await this.resolve(es, principal));
      elasticsearch = this.stored(es, same ? current.elasticsearch!.resourceId : null, 'update-deployment', principal, now);
    } else if (prune && current.elasticsearch !== null) {
      // prune_orphans: what the request does not mention is shut down, so the plan's references go.
      pruned = current.elasticsearch;
      elasticsearch = null;
      references = [];
    }
    const changes = {
      name: request.name ?? current.name,
      alias: request.alias === undefined ? current.alias : request.alias,
      tags: request.tags ?? [...current.tags],
      ...(elasticsearch === undefined ? {} : { elasticsearch, references: references ?? [] }),
      now,
    };
    if (options.validateOnly) {
      const record: DeploymentRecord = {
        ...current,
        ...changes,
        elasticsearch: elasticsearch === undefined ? current.elasticsearch : elasticsearch,
      };
      return { record, pruned };
    }
    const record = await this.mapStoreErrors(id, () => this.store.deployments.updateDeployment(id, changes, options.expectedVersion));
    return { record, pruned };
  }

  async shutdown(id: string, principal: Principal): Promise<DeploymentRecord> {
    await this.getForChange(id, principal);
    return this.mapStoreErrors(id, () => this.store.deployments.shutdownDeployment(id, this.now()));
  }

  async delete(id: string, principal: Principal): Promise<DeploymentRecord> {
    await this.getForChange(id, principal);
    return this.mapStoreErrors(id, () => this.store.deployments.deleteDeployment(id));
  }

  async rotateInstallSecret(id: string, principal: Principal): Promise<DeploymentRecord> {
    await this.getForChange(id, principal);
    return this.mapStoreErrors(id, () => this.store.deployments.rotateInstallSalt(id, newInstallSalt(), this.now()));
  }

  /**
   * The current plan's plugins and bundles, each with its extension (null for an external URL),
   * for the self-managed install files. Read access to the deployment is enough.
   */
  async installReferences(id: string, principal: Principal): Promise<{ record: DeploymentRecord; references: ResolvedReference[] }> {
    const record = await this.get(id, principal);
    if (record.elasticsearch === null) return { record, references: [] };
    const payload = readDeploymentRequest({ resources: { elasticsearch: [elasticsearchPayloadOf(record.elasticsearch)] } }).elasticsearch!;
    const references: ResolvedReference[] = [];
    for (const [kind, entries] of [
      ['plugin', payload.plugins],
      ['bundle', payload.bundles],
    ] as const) {
      for (const entry of entries) {
        const match = /^repo:\/\/([^/?#\s]+)$/.exec(entry.url);
        // The stored plan was validated when it was written and its repo:// entries are the stored
        // references, which keep their extensions from being deleted; skip one that is gone anyway.
        const extension = match ? await this.store.getExtension(match[1]!) : null;
        if (match && extension === null) continue;
        references.push({ entry, kind, extension });
      }
    }
    return { record, references };
  }

  /** include_deployments: per extension, the ids of the deployments the caller may see whose current plan uses it. */
  async deploymentIdsReferencing(extensionIds: readonly string[], principal: Principal): Promise<Map<string, string[]>> {
    const found = await this.store.deployments.deploymentsReferencing(extensionIds, {
      ...(seesAllExtensions(principal) ? {} : { ownerId: principal.userId }),
      limit: DEPLOYMENTS_PER_EXTENSION,
    });
    return new Map([...found].map(([extensionId, deployments]) => [extensionId, deployments.map((d) => d.id)]));
  }

  private async getForChange(id: string, principal: Principal): Promise<DeploymentRecord> {
    const record = await this.get(id, principal);
    if (!mayChangeExtension(principal, record.ownerId)) {
      throw apiError('forbidden', `You may read deployment [${id}] but not change it.`);
    }
    return record;
  }

  private async resolve(payload: ElasticsearchPayload, principal: Principal): Promise<ResolvedReference[]> {
    return resolvePlanReferences(payload, async (extensionId) => {
      const extension = await this.store.getExtension(extensionId);
      if (extension === null) return null;
      return maySee(principal, extension.ownerId) ? extension : null;
    });
  }

  private stored(payload: ElasticsearchPayload, resourceId: string | null, action: string, principal: Principal, now: Date): StoredElasticsearch {
    return {
      refId: payload.refId,
      resourceId: resourceId ?? newDeploymentId(),
      region: payload.region,
      displayName: payload.displayName,
      settings: payload.settings,
      plan: payload.plan,
      planAttemptId: randomUUID(),
      planStartedAt: now,
      planAction: action,
      planUserId: principal.userId,
    };
  }

  private async mapStoreErrors<T>(id: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error instanceof NotFoundError) throw notFound(id);
      if (error instanceof VersionConflictError) {
        throw apiError(
          'deploymentVersionConflict',
          `Deployment [${id}] is at version ${error.actual}, not ${error.expected}: it changed since you read it. Read it again and retry.`,
        );
      }
      if (error instanceof DeploymentRunningError) {
        throw apiError('deploymentNotShutdown', `Deployment [${id}] is not shut down: POST /deployments/${id}/_shutdown first, then delete it.`);
      }
      if (error instanceof MissingExtensionsError) {
        // Deleted between our check and the write (another request or instance): nothing was stored.
        throw apiError('invalidPlan', `The plan references extensions [${error.ids.join(', ')}], which no longer exist.`, {
          fields: ['resources.elasticsearch[0].plan.elasticsearch'],
        });
      }
      throw error;
    }
  }
}

function referencedIds(references: ResolvedReference[]): string[] {
  return references.flatMap((reference) => (reference.extension === null ? [] : [reference.extension.id]));
}

/** The stored resource back in ECE's ElasticsearchPayload form. */
export function elasticsearchPayloadOf(stored: StoredElasticsearch): Record<string, unknown> {
  const payload: Record<string, unknown> = { ref_id: stored.refId, region: stored.region, plan: stored.plan };
  if (stored.displayName !== null) payload.display_name = stored.displayName;
  if (stored.settings !== null && stored.settings !== undefined) payload.settings = stored.settings;
  return payload;
}

export function notFound(id: string): ApiError {
  return apiError('deploymentNotFound', `Deployment [${id}] not found.`);
}
