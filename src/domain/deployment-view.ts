// Renders stored deployments in ECE's shapes. Only what extrepo knows is answered: the stored plan
// (verbatim), its history, ids, names, tags and dates. What only a running cluster could tell
// (healthy, status, topology, Elasticsearch and snapshot information, endpoints, credentials) is
// left out; spec/extrepo-deployments.swagger.json relaxes ECE's `required` for exactly those, and
// `status` appears only as "stopped" once the deployment was shut down through the API.
import type { DeploymentRecord, PlanHistoryEntry, StoredElasticsearch } from '../stores/deployment-store.js';

type Json = Record<string, unknown>;

const OTHER_KINDS = ['kibana', 'apm', 'appsearch', 'enterprise_search', 'integrations_server'] as const;

/** ECE's DeploymentResource for the one Elasticsearch resource. */
function resourceOf(es: StoredElasticsearch): Json {
  return { ref_id: es.refId, id: es.resourceId, kind: 'elasticsearch', region: es.region };
}

export function createResponse(record: DeploymentRecord, created: boolean): Json {
  const view: Json = { id: record.id, name: record.name, created, resources: record.elasticsearch ? [resourceOf(record.elasticsearch)] : [] };
  if (record.alias !== null) view.alias = record.alias;
  return view;
}

export function listingData(record: DeploymentRecord): Json {
  return { id: record.id, name: record.name, resources: record.elasticsearch ? [resourceOf(record.elasticsearch)] : [] };
}

function emptyOrphaned(): Json {
  return Object.fromEntries(['elasticsearch', ...OTHER_KINDS].map((kind) => [kind, []]));
}

export function updateResponse(record: DeploymentRecord, pruned: StoredElasticsearch | null, hidePruned: boolean): Json {
  const view: Json = { id: record.id, name: record.name, resources: record.elasticsearch ? [resourceOf(record.elasticsearch)] : [] };
  if (record.alias !== null) view.alias = record.alias;
  if (!hidePruned) {
    const orphaned = emptyOrphaned();
    if (pruned !== null) orphaned.elasticsearch = [{ id: pruned.resourceId, dependents: [] }];
    view.shutdown_resources = orphaned;
  }
  return view;
}

/** DeploymentShutdownResponse and DeploymentDeleteResponse: nothing is orphaned in a registry. */
export function lifecycleResponse(record: DeploymentRecord): Json {
  return { id: record.id, name: record.name, orphaned: emptyOrphaned() };
}

function planInfo(es: StoredElasticsearch, endedAt: Date | null): Json {
  const info: Json = {
    plan_attempt_id: es.planAttemptId,
    plan: es.plan,
    // No attempt to apply a plan is ever made, so nothing is logged and nothing warned.
    plan_attempt_log: [],
    warnings: [],
    source: {
      action: es.planAction ?? 'update-deployment',
      date: es.planStartedAt.toISOString(),
      facilitator: 'extrepo',
      ...(es.planUserId ? { user_id: es.planUserId } : {}),
    },
  };
  if (endedAt !== null) info.plan_end_time = endedAt.toISOString();
  return info;
}

export interface GetOptions {
  showPlans: boolean;
  showPlanHistory: boolean;
  showSettings: boolean;
  history: PlanHistoryEntry[];
}

export function getResponse(record: DeploymentRecord, options: GetOptions): Json {
  const resources: Json = emptyOrphaned();
  const es = record.elasticsearch;
  if (es !== null) {
    const plansInfo: Json = {
      history: options.showPlanHistory
        ? options.history
            .filter((entry) => entry.elasticsearch.resourceId === es.resourceId)
            .map((entry) => planInfo(entry.elasticsearch, entry.endedAt))
        : [],
    };
    if (options.showPlans) plansInfo.current = planInfo(es, null);
    const info: Json = {
      cluster_id: es.resourceId,
      cluster_name: es.displayName ?? record.name,
      deployment_id: record.id,
      region: es.region,
      plan_info: plansInfo,
      metadata: { last_modified: record.modifiedAt.toISOString(), version: record.resourceVersion },
      associated_kibana_clusters: [],
      associated_apm_clusters: [],
      associated_appsearch_clusters: [],
      associated_enterprise_search_clusters: [],
      external_links: [],
    };
    if (record.shutdownAt !== null) info.status = 'stopped';
    if (options.showSettings && es.settings !== null && es.settings !== undefined) info.settings = es.settings;
    resources.elasticsearch = [{ ref_id: es.refId, id: es.resourceId, region: es.region, info }];
  }
  const view: Json = {
    id: record.id,
    name: record.name,
    resources,
    metadata: {
      last_modified: record.modifiedAt.toISOString(),
      ...(es ? { last_resource_plan_modified: es.planStartedAt.toISOString() } : {}),
      ...(record.ownerId !== null ? { owner_id: record.ownerId } : {}),
      tags: record.tags.map((tag) => ({ key: tag.key, value: tag.value })),
    },
  };
  if (record.alias !== null) view.alias = record.alias;
  return view;
}

/** The x-cloud-resource-* headers. */
export function deploymentHeaders(record: DeploymentRecord): Record<string, string> {
  return {
    'x-cloud-resource-version': String(record.resourceVersion),
    'x-cloud-resource-created': record.createdAt.toISOString(),
    'x-cloud-resource-last-modified': record.modifiedAt.toISOString(),
  };
}
