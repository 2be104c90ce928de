// The deployments part of the metadata store: a registry of deployments, the Elasticsearch plan
// each one declares, its plan history, and which extensions its current plan references. extrepo
// orchestrates nothing: these are records of what a client declared, never of a running cluster.
// Both SQL stores implement it over the same database as the extensions, so that "an extension a
// current plan references cannot be deleted" is one transaction (and a foreign key) on either side.
// The rules are in test/contract/deployment-store.contract.ts.

/** A metadata item of the deployment (ECE's MetadataItem). */
export interface DeploymentTag {
  key: string;
  value: string;
}

/** The one Elasticsearch resource a deployment registers, with its current plan (kept verbatim). */
export interface StoredElasticsearch {
  refId: string;
  /** extrepo's id of the resource (32 hex characters, like ECE's). */
  resourceId: string;
  region: string;
  displayName: string | null;
  /** ElasticsearchClusterSettings as sent, or null. */
  settings: unknown;
  /** ElasticsearchClusterPlan exactly as sent. */
  plan: Record<string, unknown>;
  planAttemptId: string;
  planStartedAt: Date;
  /** Who stored the plan and how (ECE's ChangeSourceInfo), e.g. update-deployment by admin. */
  planAction?: string;
  planUserId?: string;
}

export interface DeploymentRecord {
  readonly id: string;
  readonly name: string;
  readonly alias: string | null;
  readonly ownerId: string | null;
  readonly requestId: string | null;
  readonly tags: readonly DeploymentTag[];
  /** null once an update with prune_orphans removed it. */
  readonly elasticsearch: StoredElasticsearch | null;
  readonly shutdownAt: Date | null;
  /** Changing it (rotation) invalidates every install URL handed out for this deployment. */
  readonly installSalt: string;
  readonly resourceVersion: number;
  readonly createdAt: Date;
  readonly modifiedAt: Date;
}

/** A plan that was replaced (or whose resource was pruned), newest last. */
export interface PlanHistoryEntry {
  elasticsearch: StoredElasticsearch;
  endedAt: Date;
}

export interface NewDeployment {
  id: string;
  name: string;
  alias: string | null;
  ownerId: string | null;
  requestId: string | null;
  tags: DeploymentTag[];
  elasticsearch: StoredElasticsearch;
  /** Ids of the extensions the plan references as repo://<id>. */
  references: string[];
  installSalt: string;
  now: Date;
}

export interface DeploymentChanges {
  name: string;
  alias: string | null;
  tags: DeploymentTag[];
  /**
   * undefined keeps the Elasticsearch resource and its plan; a value (or null, to prune it)
   * replaces them, sends the previous plan to the history and replaces the references.
   */
  elasticsearch?: StoredElasticsearch | null;
  references?: string[];
  now: Date;
}

/** Another deployment of this owner was created with this request_id; nothing was written. */
export class RequestIdReplayError extends Error {
  override name = 'RequestIdReplayError';
  constructor(readonly existing: DeploymentRecord) {
    super(`request_id already used by deployment ${existing.id}`);
  }
}

/** Some referenced extensions do not exist (any more); nothing was written. */
export class MissingExtensionsError extends Error {
  override name = 'MissingExtensionsError';
  constructor(readonly ids: string[]) {
    super(`extensions ${ids.join(', ')} do not exist`);
  }
}

/** The deployment was not shut down first; nothing was deleted. */
export class DeploymentRunningError extends Error {
  override name = 'DeploymentRunningError';
}

export interface DeploymentListOptions {
  /** Only deployments of this owner; undefined lists all. */
  ownerId?: string;
}

export interface DeploymentStore {
  /**
   * Inserts at resource version 1 with its references, atomically. IdCollisionError if the id
   * exists, RequestIdReplayError if the owner already used the request id, MissingExtensionsError
   * if a referenced extension does not exist.
   */
  insertDeployment(deployment: NewDeployment): Promise<DeploymentRecord>;
  getDeployment(id: string): Promise<DeploymentRecord | null>;
  /** The owner's deployment created with this request id, if any. */
  getDeploymentByRequestId(ownerId: string | null, requestId: string): Promise<DeploymentRecord | null>;
  /** Ordered by creation time, then id. */
  listDeployments(options?: DeploymentListOptions): Promise<DeploymentRecord[]>;
  /**
   * Applies the changes and bumps the resource version. NotFoundError, VersionConflictError
   * (with expectedVersion), MissingExtensionsError. A new plan clears the shut-down state.
   */
  updateDeployment(id: string, changes: DeploymentChanges, expectedVersion?: number): Promise<DeploymentRecord>;
  /** Marks it shut down (idempotent: the first time is kept). NotFoundError. */
  shutdownDeployment(id: string, now: Date): Promise<DeploymentRecord>;
  /** Deletes it with its history and references. NotFoundError, DeploymentRunningError. */
  deleteDeployment(id: string): Promise<DeploymentRecord>;
  /** Replaces the install salt (and bumps the version). NotFoundError. */
  rotateInstallSalt(id: string, salt: string, now: Date): Promise<DeploymentRecord>;
  /** Oldest first. */
  planHistory(id: string): Promise<PlanHistoryEntry[]>;
  /** Whether the deployment's current plan references the extension. */
  referencesExtension(deploymentId: string, extensionId: string): Promise<boolean>;
  /**
   * For each extension id, the deployments whose current plan references it (creation order, at
   * most `limit` each), only those of `ownerId` when given.
   */
  deploymentsReferencing(
    extensionIds: readonly string[],
    options: { ownerId?: string; limit: number },
  ): Promise<Map<string, Array<{ id: string; name: string; ownerId: string | null }>>>;
}

/** How the SQL stores keep StoredElasticsearch in one JSON column. */
export function elasticsearchToJson(value: StoredElasticsearch | null): string | null {
  if (value === null) return null;
  return JSON.stringify({ ...value, planStartedAt: value.planStartedAt.toISOString() });
}

export function elasticsearchFromJson(text: string | null): StoredElasticsearch | null {
  if (text === null) return null;
  const parsed = JSON.parse(text) as StoredElasticsearch & { planStartedAt: string };
  return { ...parsed, planStartedAt: new Date(parsed.planStartedAt) };
}
