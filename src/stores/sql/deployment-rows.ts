// A deployment row as both SQL stores read it (keyed, times as epoch milliseconds: numbers from
// SQLite, int8 decimal strings from pg), and the record built from it.
import { elasticsearchFromJson, type DeploymentRecord, type DeploymentTag, type PlanHistoryEntry } from '../deployment-store.js';

export interface DeploymentRow {
  id: string;
  name: string;
  alias: string | null;
  owner_id: string | null;
  request_id: string | null;
  /** A JSON array of tags. */
  tags: string;
  /** The plan's Elasticsearch part as JSON, or null. */
  elasticsearch: string | null;
  shutdown_at: number | string | null;
  install_salt: string;
  resource_version: number;
  created_at: number | string;
  modified_at: number | string;
}

export function toDeployment(row: DeploymentRow): DeploymentRecord {
  return {
    id: row.id,
    name: row.name,
    alias: row.alias,
    ownerId: row.owner_id,
    requestId: row.request_id,
    tags: JSON.parse(row.tags) as DeploymentTag[],
    elasticsearch: elasticsearchFromJson(row.elasticsearch),
    shutdownAt: row.shutdown_at === null ? null : new Date(Number(row.shutdown_at)),
    installSalt: row.install_salt,
    resourceVersion: row.resource_version,
    createdAt: new Date(Number(row.created_at)),
    modifiedAt: new Date(Number(row.modified_at)),
  };
}

/** A deployment that references an extension, as ExtensionInUseError and deploymentsReferencing name it. */
export interface ReferencingDeployment {
  id: string;
  name: string;
  ownerId: string | null;
}

export function toReferencingDeployment(row: { id: string; name: string; owner_id: string | null }): ReferencingDeployment {
  return { id: row.id, name: row.name, ownerId: row.owner_id };
}

/** A row of deployment_plan_history: a plan that was replaced, and when. */
export function toPlanHistoryEntry(row: { elasticsearch: string; ended_at: number | string }): PlanHistoryEntry {
  return { elasticsearch: elasticsearchFromJson(row.elasticsearch)!, endedAt: new Date(Number(row.ended_at)) };
}
