// Deployments in the PostgreSQL store, shared by every instance. The race that matters: one
// instance deletes an extension while another stores a plan that references it. A plan takes a
// share lock on each extension row it references (SELECT … FOR SHARE) before inserting the
// references; a delete takes the row's exclusive lock (FOR UPDATE) and only then looks for
// references, in a new statement that sees whatever committed before it got the lock. Whichever
// locks first wins: a plan that comes second finds the row gone (MissingExtensionsError), a delete
// that comes second finds the reference (ExtensionInUseError). The foreign key from
// deployment_extensions to extensions backs both up.
import type pg from 'pg';
import { DeploymentRunningError, MissingExtensionsError, RequestIdReplayError, elasticsearchToJson } from '../deployment-store.js';
import type { DeploymentChanges, DeploymentListOptions, DeploymentRecord, DeploymentStore } from '../deployment-store.js';
import type { NewDeployment, PlanHistoryEntry } from '../deployment-store.js';
import { IdCollisionError, NotFoundError } from '../metadata-store.js';
import { checkChangeable } from '../sql/change-rules.js';
import { toDeployment, toPlanHistoryEntry, toReferencingDeployment, type DeploymentRow } from '../sql/deployment-rows.js';
import type { ReferencingDeployment } from '../sql/deployment-rows.js';

const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::int8`;

const COLUMNS = `id, name, alias, owner_id, request_id, tags, elasticsearch, ${epochMs('shutdown_at')} AS shutdown_at,
  install_salt, resource_version, ${epochMs('created_at')} AS created_at, ${epochMs('modified_at')} AS modified_at`;

type Transaction = <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

export class PostgresDeploymentStore implements DeploymentStore {
  constructor(
    /** Queries outside transactions, with outages classified (see postgres-metadata-store.ts). */
    private readonly pool: { query: pg.Pool['query'] },
    private readonly transaction: Transaction,
  ) {}

  async insertDeployment(deployment: NewDeployment): Promise<DeploymentRecord> {
    try {
      return await this.transaction(async (client) => {
        const result = await client.query<DeploymentRow>(
          `INSERT INTO deployments (id, name, alias, owner_id, request_id, tags, elasticsearch, install_salt,
             resource_version, created_at, modified_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)
           RETURNING ${COLUMNS}`,
          [
            deployment.id,
            deployment.name,
            deployment.alias,
            deployment.ownerId,
            deployment.requestId,
            JSON.stringify(deployment.tags),
            elasticsearchToJson(deployment.elasticsearch),
            deployment.installSalt,
            deployment.now,
          ],
        );
        await this.writeReferences(client, deployment.id, deployment.references);
        return toDeployment(result.rows[0]!);
      });
    } catch (error) {
      const code = (error as { code?: string; constraint?: string }).code;
      const constraint = (error as { constraint?: string }).constraint;
      if (code === UNIQUE_VIOLATION && constraint === 'deployments_by_request' && deployment.requestId !== null) {
        // Another instance created it with this request id first: answer with that one.
        const existing = await this.getDeploymentByRequestId(deployment.ownerId, deployment.requestId);
        if (existing) throw new RequestIdReplayError(existing);
      }
      if (code === UNIQUE_VIOLATION && constraint === 'deployments_pkey') {
        throw new IdCollisionError(`deployment ${deployment.id} already exists`);
      }
      throw error;
    }
  }

  /**
   * Replaces the references under a share lock on every referenced extension row, refusing (and
   * so rolling back) if any extension is missing. Ids are locked in sorted order, so two plans
   * never deadlock on each other.
   */
  private async writeReferences(client: pg.PoolClient, deploymentId: string, references: readonly string[]): Promise<void> {
    const unique = [...new Set(references)].sort();
    if (unique.length > 0) {
      const found = await client.query<{ id: string }>('SELECT id FROM extensions WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE', [unique]);
      const present = new Set(found.rows.map((row) => row.id));
      const missing = unique.filter((id) => !present.has(id));
      if (missing.length > 0) throw new MissingExtensionsError(missing);
    }
    await client.query('DELETE FROM deployment_extensions WHERE deployment_id = $1', [deploymentId]);
    if (unique.length > 0) {
      try {
        await client.query('INSERT INTO deployment_extensions (deployment_id, extension_id) SELECT $1, unnest($2::text[])', [deploymentId, unique]);
      } catch (error) {
        if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw new MissingExtensionsError(unique);
        throw error;
      }
    }
  }

  async getDeployment(id: string): Promise<DeploymentRecord | null> {
    const result = await this.pool.query<DeploymentRow>(`SELECT ${COLUMNS} FROM deployments WHERE id = $1`, [id]);
    return result.rows[0] ? toDeployment(result.rows[0]) : null;
  }

  async getDeploymentByRequestId(ownerId: string | null, requestId: string): Promise<DeploymentRecord | null> {
    const result = await this.pool.query<DeploymentRow>(`SELECT ${COLUMNS} FROM deployments WHERE coalesce(owner_id, '') = $1 AND request_id = $2`, [
      ownerId ?? '',
      requestId,
    ]);
    return result.rows[0] ? toDeployment(result.rows[0]) : null;
  }

  async listDeployments(options: DeploymentListOptions = {}): Promise<DeploymentRecord[]> {
    const result =
      options.ownerId === undefined
        ? await this.pool.query<DeploymentRow>(`SELECT ${COLUMNS} FROM deployments ORDER BY created_at, id`)
        : await this.pool.query<DeploymentRow>(`SELECT ${COLUMNS} FROM deployments WHERE owner_id = $1 ORDER BY created_at, id`, [options.ownerId]);
    return result.rows.map(toDeployment);
  }

  private async lockForChange(client: pg.PoolClient, id: string, expectedVersion: number | undefined): Promise<DeploymentRow> {
    const result = await client.query<DeploymentRow>(`SELECT ${COLUMNS} FROM deployments WHERE id = $1 FOR UPDATE`, [id]);
    return checkChangeable('deployment', id, result.rows[0], (found) => found.resource_version, expectedVersion);
  }

  async updateDeployment(id: string, changes: DeploymentChanges, expectedVersion?: number): Promise<DeploymentRecord> {
    return this.transaction(async (client) => {
      const current = await this.lockForChange(client, id, expectedVersion);
      let elasticsearch = current.elasticsearch;
      let shutdownAt: Date | null = current.shutdown_at === null ? null : new Date(Number(current.shutdown_at));
      if (changes.elasticsearch !== undefined) {
        if (current.elasticsearch !== null) {
          await client.query(
            `INSERT INTO deployment_plan_history (deployment_id, seq, elasticsearch, ended_at)
             SELECT $1, coalesce(max(seq), 0) + 1, $2, $3 FROM deployment_plan_history WHERE deployment_id = $1`,
            [id, current.elasticsearch, changes.now],
          );
        }
        elasticsearch = elasticsearchToJson(changes.elasticsearch);
        if (changes.elasticsearch !== null) shutdownAt = null;
        await this.writeReferences(client, id, changes.references ?? []);
      }
      const result = await client.query<DeploymentRow>(
        `UPDATE deployments SET name = $2, alias = $3, tags = $4, elasticsearch = $5, shutdown_at = $6,
           resource_version = resource_version + 1, modified_at = $7
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, changes.name, changes.alias, JSON.stringify(changes.tags), elasticsearch, shutdownAt, changes.now],
      );
      return toDeployment(result.rows[0]!);
    });
  }

  async shutdownDeployment(id: string, now: Date): Promise<DeploymentRecord> {
    return this.transaction(async (client) => {
      const current = await this.lockForChange(client, id, undefined);
      if (current.shutdown_at !== null) return toDeployment(current);
      const result = await client.query<DeploymentRow>(
        `UPDATE deployments SET shutdown_at = $2, resource_version = resource_version + 1, modified_at = $2
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, now],
      );
      return toDeployment(result.rows[0]!);
    });
  }

  async deleteDeployment(id: string): Promise<DeploymentRecord> {
    return this.transaction(async (client) => {
      const current = await this.lockForChange(client, id, undefined);
      if (current.shutdown_at === null) throw new DeploymentRunningError(`deployment ${id} is not shut down`);
      await client.query('DELETE FROM deployments WHERE id = $1', [id]);
      return toDeployment(current);
    });
  }

  async rotateInstallSalt(id: string, salt: string, now: Date): Promise<DeploymentRecord> {
    const result = await this.pool.query<DeploymentRow>(
      `UPDATE deployments SET install_salt = $2, resource_version = resource_version + 1, modified_at = $3
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, salt, now],
    );
    if (!result.rows[0]) throw new NotFoundError(`deployment ${id} does not exist`);
    return toDeployment(result.rows[0]);
  }

  async planHistory(id: string): Promise<PlanHistoryEntry[]> {
    const result = await this.pool.query<{ elasticsearch: string; ended_at: string }>(
      `SELECT elasticsearch, ${epochMs('ended_at')} AS ended_at FROM deployment_plan_history WHERE deployment_id = $1 ORDER BY seq`,
      [id],
    );
    return result.rows.map(toPlanHistoryEntry);
  }

  async referencesExtension(deploymentId: string, extensionId: string): Promise<boolean> {
    const result = await this.pool.query('SELECT 1 FROM deployment_extensions WHERE deployment_id = $1 AND extension_id = $2', [
      deploymentId,
      extensionId,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async deploymentsReferencing(
    extensionIds: readonly string[],
    options: { ownerId?: string; limit: number },
  ): Promise<Map<string, Array<{ id: string; name: string; ownerId: string | null }>>> {
    const unique = [...new Set(extensionIds)];
    const result = new Map<string, ReferencingDeployment[]>(unique.map((id) => [id, []]));
    if (unique.length === 0) return result;
    // One query for a whole page of extensions; the per-extension limit is applied by rank.
    const rows = await this.pool.query<{ extension_id: string; id: string; name: string; owner_id: string | null }>(
      `SELECT extension_id, id, name, owner_id FROM (
         SELECT r.extension_id, d.id, d.name, d.owner_id,
           row_number() OVER (PARTITION BY r.extension_id ORDER BY d.created_at, d.id) AS n
         FROM deployment_extensions r JOIN deployments d ON d.id = r.deployment_id
         WHERE r.extension_id = ANY($1::text[]) AND ($2::text IS NULL OR d.owner_id = $2)
       ) ranked WHERE n <= $3 ORDER BY extension_id, n`,
      [unique, options.ownerId ?? null, options.limit],
    );
    for (const row of rows.rows) result.get(row.extension_id)!.push(toReferencingDeployment(row));
    return result;
  }
}
