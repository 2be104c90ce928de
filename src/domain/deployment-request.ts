// What extrepo reads from ECE's DeploymentCreateRequest / DeploymentUpdateRequest: the name, alias,
// tags and the one Elasticsearch resource (ref_id, region, plan). The plan itself is kept verbatim;
// only plan.elasticsearch.{version, user_plugins, user_bundles} is interpreted. Everything here is
// shape; whether the referenced extensions may be used is plan-references.ts.
import { apiError } from '../errors.js';
import type { DeploymentTag } from '../stores/deployment-store.js';

/** The kinds of resource ECE knows besides Elasticsearch; extrepo registers none of them. */
const OTHER_KINDS = ['kibana', 'apm', 'appsearch', 'enterprise_search', 'integrations_server'] as const;

export const NAME_MAX = 1024;

export interface ElasticsearchPayload {
  refId: string;
  region: string;
  displayName: string | null;
  settings: unknown;
  plan: Record<string, unknown>;
  /** plan.elasticsearch.version */
  version: string;
  plugins: PlanEntry[];
  bundles: PlanEntry[];
}

/** One user_plugins / user_bundles entry, with the field path that names it in errors. */
export interface PlanEntry {
  name: string;
  url: string;
  elasticsearchVersion: string;
  field: string;
}

export interface DeploymentRequest {
  name: string | undefined;
  alias: string | null | undefined;
  tags: DeploymentTag[] | undefined;
  /** undefined: the request names no Elasticsearch resource. */
  elasticsearch: ElasticsearchPayload | undefined;
}

const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

type Json = Record<string, unknown>;

function invalid(field: string, message: string) {
  return apiError('invalidJson', message, { fields: [field] });
}

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** Reads the parts extrepo interprets; the JSON schema (ECE's definitions) has checked the types. */
export function readDeploymentRequest(body: unknown): DeploymentRequest {
  const request = asObject(body) ?? {};
  const resources = asObject(request.resources) ?? {};
  for (const kind of OTHER_KINDS) {
    const list = resources[kind];
    if (Array.isArray(list) && list.length > 0) {
      throw invalid(
        `resources.${kind}`,
        `extrepo registers Elasticsearch resources only (it is a registry of extensions, not an orchestrator): remove resources.${kind}.`,
      );
    }
  }
  const name = typeof request.name === 'string' ? request.name : undefined;
  if (name !== undefined && (name.trim() === '' || name.length > NAME_MAX)) {
    throw invalid('name', `name must be 1 to ${NAME_MAX} characters.`);
  }
  const alias = typeof request.alias === 'string' ? (request.alias === '' ? null : request.alias) : undefined;
  const metadata = asObject(request.metadata);
  const tags = Array.isArray(metadata?.tags)
    ? (metadata.tags as Array<{ key: string; value: string }>).map(({ key, value }) => ({ key, value }))
    : undefined;
  const list = resources.elasticsearch;
  let elasticsearch: ElasticsearchPayload | undefined;
  if (Array.isArray(list) && list.length > 0) {
    if (list.length > 1) {
      throw invalid('resources.elasticsearch', 'A deployment registers one Elasticsearch resource; send exactly one in resources.elasticsearch.');
    }
    elasticsearch = readElasticsearch(list[0] as Json);
  }
  return { name, alias, tags, elasticsearch };
}

function readElasticsearch(payload: Json): ElasticsearchPayload {
  const base = 'resources.elasticsearch[0]';
  const plan = payload.plan as Json;
  const configuration = asObject(plan.elasticsearch) ?? {};
  const version = configuration.version;
  if (typeof version !== 'string' || !VERSION.test(version)) {
    throw invalid(
      `${base}.plan.elasticsearch.version`,
      `${base}.plan.elasticsearch.version must be the Elasticsearch version of the plan, such as 8.15.0: plugins and bundles are checked against it.`,
    );
  }
  if (typeof payload.ref_id !== 'string' || payload.ref_id === '') throw invalid(`${base}.ref_id`, `${base}.ref_id must not be empty.`);
  return {
    refId: payload.ref_id,
    region: payload.region as string,
    displayName: typeof payload.display_name === 'string' ? payload.display_name : null,
    settings: payload.settings ?? null,
    plan,
    version,
    plugins: entries(configuration.user_plugins, `${base}.plan.elasticsearch.user_plugins`),
    bundles: entries(configuration.user_bundles, `${base}.plan.elasticsearch.user_bundles`),
  };
}

function entries(value: unknown, field: string): PlanEntry[] {
  if (!Array.isArray(value)) return [];
  return (value as Array<{ name: string; url: string; elasticsearch_version: string }>).map((entry, index) => ({
    name: entry.name,
    url: entry.url,
    elasticsearchVersion: entry.elasticsearch_version,
    field: `${field}[${index}]`,
  }));
}
