// Deployments in the embedded SQLite store (the same database as the extensions). better-sqlite3
// runs each IMMEDIATE transaction to completion on the calling tick, so a plan that adds a
// reference and the delete of that extension can never interleave in this process.
import type Database from 'better-sqlite3';
import { DeploymentRunningError, MissingExtensionsError, RequestIdReplayError, elasticsearchToJson } from '../deployment-store.js';
import type { DeploymentChanges, DeploymentListOptions, DeploymentRecord, DeploymentStore } from '../deployment-store.js';
import type { NewDeployment, PlanHistoryEntry } from '../deployment-store.js';
import { checkChangeable } from '../sql/change-rules.js';
import { rethrowCollision } from '../sql/dialect.js';
import { toDeployment, toPlanHistoryEntry, toReferencingDeployment, type DeploymentRow } from '../sql/deployment-rows.js';
import type { ReferencingDeployment } from '../sql/deployment-rows.js';
import { SQLITE_DIALECT } from './sqlite-dialect.js';

export class SqliteDeploymentStore implements DeploymentStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare(`INSERT INTO deployments (id, name, alias, owner_id, request_id, tags, elasticsearch, shutdown_at,
          install_salt, resource_version, created_at, modified_at)
        VALUES (@id, @name, @alias, @owner_id, @request_id, @tags, @elasticsearch, @shutdown_at,
          @install_salt, @resource_version, @created_at, @modified_at)`),
      get: db.prepare('SELECT * FROM deployments WHERE id = ?'),
      byRequest: db.prepare("SELECT * FROM deployments WHERE coalesce(owner_id, '') = ? AND request_id = ?"),
      listAll: db.prepare('SELECT * FROM deployments ORDER BY created_at, id'),
      listByOwner: db.prepare('SELECT * FROM deployments WHERE owner_id = ? ORDER BY created_at, id'),
      update: db.prepare(`UPDATE deployments SET name = @name, alias = @alias, tags = @tags, elasticsearch = @elasticsearch,
          shutdown_at = @shutdown_at, install_salt = @install_salt, resource_version = @resource_version,
          modified_at = @modified_at
        WHERE id = @id`),
      delete: db.prepare('DELETE FROM deployments WHERE id = ?'),
      extensionExists: db.prepare('SELECT 1 FROM extensions WHERE id = ?').pluck(),
      addReference: db.prepare('INSERT INTO deployment_extensions (deployment_id, extension_id) VALUES (?, ?)'),
      clearReferences: db.prepare('DELETE FROM deployment_extensions WHERE deployment_id = ?'),
      references: db.prepare('SELECT 1 FROM deployment_extensions WHERE deployment_id = ? AND extension_id = ?').pluck(),
      nextSeq: db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM deployment_plan_history WHERE deployment_id = ?').pluck(),
      addHistory: db.prepare('INSERT INTO deployment_plan_history (deployment_id, seq, elasticsearch, ended_at) VALUES (?, ?, ?, ?)'),
      history: db.prepare('SELECT elasticsearch, ended_at FROM deployment_plan_history WHERE deployment_id = ? ORDER BY seq'),
      referencing: db.prepare(`SELECT d.id, d.name, d.owner_id FROM deployment_extensions r
        JOIN deployments d ON d.id = r.deployment_id
        WHERE r.extension_id = ? ORDER BY d.created_at, d.id LIMIT ?`),
      referencingOwned: db.prepare(`SELECT d.id, d.name, d.owner_id FROM deployment_extensions r
        JOIN deployments d ON d.id = r.deployment_id
        WHERE r.extension_id = ? AND d.owner_id = ? ORDER BY d.created_at, d.id LIMIT ?`),
    };
  }

  async insertDeployment(deployment: NewDeployment): Promise<DeploymentRecord> {
    const now = deployment.now.getTime();
    const row: DeploymentRow = {
      id: deployment.id,
      name: deployment.name,
      alias: deployment.alias,
      owner_id: deployment.ownerId,
      request_id: deployment.requestId,
      tags: JSON.stringify(deployment.tags),
      elasticsearch: elasticsearchToJson(deployment.elasticsearch),
      shutdown_at: null,
      install_salt: deployment.installSalt,
      resource_version: 1,
      created_at: now,
      modified_at: now,
    };
    this.db
      .transaction(() => {
        if (deployment.requestId !== null) {
          const existing = this.statements.byRequest.get(deployment.ownerId ?? '', deployment.requestId) as DeploymentRow | undefined;
          if (existing) throw new RequestIdReplayError(toDeployment(existing));
        }
        try {
          this.statements.insert.run(row);
        } catch (error) {
          rethrowCollision(SQLITE_DIALECT, error, `deployment ${deployment.id}`);
        }
        this.writeReferences(deployment.id, deployment.references);
      })
      .immediate();
    return toDeployment(row);
  }

  /** Replaces the references, refusing (and so rolling back) if any extension is missing. */
  private writeReferences(deploymentId: string, references: readonly string[]): void {
    const unique = [...new Set(references)];
    const missing = unique.filter((id) => this.statements.extensionExists.get(id) === undefined);
    if (missing.length > 0) throw new MissingExtensionsError(missing);
    this.statements.clearReferences.run(deploymentId);
    for (const id of unique) this.statements.addReference.run(deploymentId, id);
  }

  async getDeployment(id: string): Promise<DeploymentRecord | null> {
    const row = this.statements.get.get(id) as DeploymentRow | undefined;
    return row ? toDeployment(row) : null;
  }

  async getDeploymentByRequestId(ownerId: string | null, requestId: string): Promise<DeploymentRecord | null> {
    const row = this.statements.byRequest.get(ownerId ?? '', requestId) as DeploymentRow | undefined;
    return row ? toDeployment(row) : null;
  }

  async listDeployments(options: DeploymentListOptions = {}): Promise<DeploymentRecord[]> {
    const rows = (
      options.ownerId === undefined ? this.statements.listAll.all() : this.statements.listByOwner.all(options.ownerId)
    ) as DeploymentRow[];
    return rows.map(toDeployment);
  }

  async updateDeployment(id: string, changes: DeploymentChanges, expectedVersion?: number): Promise<DeploymentRecord> {
    const modifiedAt = changes.now.getTime();
    return this.db
      .transaction((): DeploymentRecord => {
        const current = this.readForChange(id, expectedVersion);
        const next: DeploymentRow = {
          ...current,
          name: changes.name,
          alias: changes.alias,
          tags: JSON.stringify(changes.tags),
          resource_version: current.resource_version + 1,
          modified_at: modifiedAt,
        };
        if (changes.elasticsearch !== undefined) {
          if (current.elasticsearch !== null) {
            const seq = this.statements.nextSeq.get(id) as number;
            this.statements.addHistory.run(id, seq, current.elasticsearch, modifiedAt);
          }
          next.elasticsearch = elasticsearchToJson(changes.elasticsearch);
          // A new plan is applied: in ECE that starts the resources again.
          if (changes.elasticsearch !== null) next.shutdown_at = null;
          this.writeReferences(id, changes.references ?? []);
        }
        this.statements.update.run(next);
        return toDeployment(next);
      })
      .immediate();
  }

  private readForChange(id: string, expectedVersion: number | undefined): DeploymentRow {
    const row = this.statements.get.get(id) as DeploymentRow | undefined;
    return checkChangeable('deployment', id, row, (found) => found.resource_version, expectedVersion);
  }

  async shutdownDeployment(id: string, now: Date): Promise<DeploymentRecord> {
    return this.db
      .transaction((): DeploymentRecord => {
        const current = this.readForChange(id, undefined);
        if (current.shutdown_at !== null) return toDeployment(current);
        const next = { ...current, shutdown_at: now.getTime(), resource_version: current.resource_version + 1, modified_at: now.getTime() };
        this.statements.update.run(next);
        return toDeployment(next);
      })
      .immediate();
  }

  async deleteDeployment(id: string): Promise<DeploymentRecord> {
    return this.db
      .transaction((): DeploymentRecord => {
        const current = this.readForChange(id, undefined);
        if (current.shutdown_at === null) throw new DeploymentRunningError(`deployment ${id} is not shut down`);
        this.statements.delete.run(id);
        return toDeployment(current);
      })
      .immediate();
  }

  async rotateInstallSalt(id: string, salt: string, now: Date): Promise<DeploymentRecord> {
    return this.db
      .transaction((): DeploymentRecord => {
        const current = this.readForChange(id, undefined);
        const next = { ...current, install_salt: salt, resource_version: current.resource_version + 1, modified_at: now.getTime() };
        this.statements.update.run(next);
        return toDeployment(next);
      })
      .immediate();
  }

  async planHistory(id: string): Promise<PlanHistoryEntry[]> {
    const rows = this.statements.history.all(id) as Array<{ elasticsearch: string; ended_at: number }>;
    return rows.map(toPlanHistoryEntry);
  }

  async referencesExtension(deploymentId: string, extensionId: string): Promise<boolean> {
    return this.statements.references.get(deploymentId, extensionId) !== undefined;
  }

  async deploymentsReferencing(
    extensionIds: readonly string[],
    options: { ownerId?: string; limit: number },
  ): Promise<Map<string, Array<{ id: string; name: string; ownerId: string | null }>>> {
    const result = new Map<string, ReferencingDeployment[]>();
    for (const extensionId of new Set(extensionIds)) {
      const rows = (
        options.ownerId === undefined
          ? this.statements.referencing.all(extensionId, options.limit)
          : this.statements.referencingOwned.all(extensionId, options.ownerId, options.limit)
      ) as Array<{ id: string; name: string; owner_id: string | null }>;
      result.set(extensionId, rows.map(toReferencingDeployment));
    }
    return result;
  }
}
