// The behaviour every DeploymentStore (MetadataStore.deployments) must have, run against SQLite and
// PostgreSQL: atomic inserts with their references, request_id replays per owner, versions, the plan
// history, shut-down before delete, install salts, and the rule that ties deployments to extensions
// (a reference needs an existing extension; an extension a current plan references cannot be deleted).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  DeploymentRunningError,
  MissingExtensionsError,
  RequestIdReplayError,
  type NewDeployment,
  type StoredElasticsearch,
} from '../../src/stores/deployment-store.js';
import { ExtensionInUseError, IdCollisionError, NotFoundError, VersionConflictError, type MetadataStore } from '../../src/stores/metadata-store.js';
import type { OpenMetadataStore } from './metadata-store.contract.js';

const T0 = Date.UTC(2024, 5, 6, 7, 8, 9, 123);
const hex = () => randomBytes(16).toString('hex');

function es(version = '8.15.0', refId = 'main-elasticsearch'): StoredElasticsearch {
  return {
    refId,
    resourceId: hex(),
    region: 'ece-region',
    displayName: null,
    settings: null,
    plan: { cluster_topology: [], elasticsearch: { version }, future: { kept: [1, 'two'] } },
    planAttemptId: randomUUID(),
    planStartedAt: new Date(T0),
  };
}

function newDeployment(overrides: Partial<NewDeployment> = {}): NewDeployment {
  return {
    id: hex(),
    name: 'search',
    alias: null,
    ownerId: 'owner-1',
    requestId: null,
    tags: [{ key: 'team', value: 'a' }],
    elasticsearch: es(),
    references: [],
    installSalt: 'salt-1',
    now: new Date(T0),
    ...overrides,
  };
}

export function deploymentStoreContract(name: string, open: OpenMetadataStore): void {
  describe(`DeploymentStore contract: ${name}`, () => {
    let store: MetadataStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await cleanup?.();
    });

    async function extension(): Promise<string> {
      const id = `ext-${randomUUID()}`;
      await store.insertExtension({
        id,
        name: 'e',
        version: '*',
        extensionType: 'bundle',
        description: null,
        downloadUrl: null,
        file: null,
        ownerId: 'owner-1',
        now: new Date(T0),
      });
      return id;
    }

    test('insert then get returns the same fields, plan kept verbatim, at version 1', async () => {
      const draft = newDeployment({ alias: 'alias-1' });
      const inserted = await store.deployments.insertDeployment(draft);
      const read = await store.deployments.getDeployment(draft.id);
      assert.deepEqual(read, inserted);
      assert.equal(read!.resourceVersion, 1);
      assert.deepEqual(read!.elasticsearch, draft.elasticsearch);
      assert.equal(read!.createdAt.getTime(), T0);
      assert.equal(read!.shutdownAt, null);
      assert.equal(await store.deployments.getDeployment(hex()), null);
    });

    test('a duplicate id is IdCollisionError; a request id used again by its owner is RequestIdReplayError with the first', async () => {
      const first = await store.deployments.insertDeployment(newDeployment({ requestId: 'r'.repeat(40), ownerId: 'replayer' }));
      await assert.rejects(store.deployments.insertDeployment(newDeployment({ id: first.id })), IdCollisionError);
      await assert.rejects(
        store.deployments.insertDeployment(newDeployment({ requestId: 'r'.repeat(40), ownerId: 'replayer' })),
        (error: unknown) => error instanceof RequestIdReplayError && error.existing.id === first.id,
      );
      assert.equal((await store.deployments.getDeploymentByRequestId('replayer', 'r'.repeat(40)))!.id, first.id);
      assert.equal(await store.deployments.getDeploymentByRequestId('replayer', 's'.repeat(40)), null);
      // Request ids are per owner.
      assert.equal(await store.deployments.getDeploymentByRequestId('someone-else', 'r'.repeat(40)), null);
      await store.deployments.insertDeployment(newDeployment({ requestId: 'r'.repeat(40), ownerId: 'someone-else' }));
    });

    test('references need existing extensions: MissingExtensionsError writes nothing', async () => {
      const present = await extension();
      const draft = newDeployment({ references: [present, 'ext-missing'] });
      await assert.rejects(
        store.deployments.insertDeployment(draft),
        (error: unknown) => error instanceof MissingExtensionsError && error.ids.join() === 'ext-missing',
      );
      assert.equal(await store.deployments.getDeployment(draft.id), null);
    });

    test('an extension a current plan references cannot be deleted until the plan drops it or the deployment is deleted', async () => {
      const used = await extension();
      const deployment = await store.deployments.insertDeployment(newDeployment({ name: 'user-of-it', references: [used] }));
      assert.equal(await store.deployments.referencesExtension(deployment.id, used), true);
      await assert.rejects(
        store.deleteExtension(used),
        (error: unknown) =>
          error instanceof ExtensionInUseError && error.deployments[0]!.name === 'user-of-it' && error.deployments[0]!.id === deployment.id,
      );
      assert.ok(await store.getExtension(used));
      const referencing = await store.deployments.deploymentsReferencing([used], { limit: 10 });
      assert.deepEqual(
        referencing.get(used)!.map((d) => d.id),
        [deployment.id],
      );
      assert.deepEqual((await store.deployments.deploymentsReferencing([used], { ownerId: 'nobody', limit: 10 })).get(used), []);
      await store.deployments.updateDeployment(deployment.id, {
        name: 'user-of-it',
        alias: null,
        tags: [],
        elasticsearch: es(),
        references: [],
        now: new Date(T0 + 1),
      });
      assert.equal(await store.deployments.referencesExtension(deployment.id, used), false);
      await store.deleteExtension(used);
    });

    test('update bumps the version, honours expectedVersion, and sends the replaced plan to the history', async () => {
      const draft = newDeployment();
      await store.deployments.insertDeployment(draft);
      const next = es('8.15.1');
      next.resourceId = draft.elasticsearch.resourceId;
      const updated = await store.deployments.updateDeployment(
        draft.id,
        { name: 'renamed', alias: 'a', tags: [], elasticsearch: next, references: [], now: new Date(T0 + 1000) },
        1,
      );
      assert.equal(updated.resourceVersion, 2);
      assert.equal(updated.name, 'renamed');
      assert.deepEqual(updated.elasticsearch, next);
      await assert.rejects(
        store.deployments.updateDeployment(draft.id, { name: 'x', alias: null, tags: [], now: new Date() }, 1),
        VersionConflictError,
      );
      await assert.rejects(store.deployments.updateDeployment(hex(), { name: 'x', alias: null, tags: [], now: new Date() }), NotFoundError);
      const metadataOnly = await store.deployments.updateDeployment(draft.id, { name: 'again', alias: null, tags: [], now: new Date(T0 + 2000) });
      assert.deepEqual(metadataOnly.elasticsearch, next);
      const history = await store.deployments.planHistory(draft.id);
      assert.equal(history.length, 1);
      assert.deepEqual(history[0]!.elasticsearch, draft.elasticsearch);
      assert.equal(history[0]!.endedAt.getTime(), T0 + 1000);
      // Pruning the resource: null, and its plan joins the history.
      const pruned = await store.deployments.updateDeployment(draft.id, {
        name: 'again',
        alias: null,
        tags: [],
        elasticsearch: null,
        references: [],
        now: new Date(T0 + 3000),
      });
      assert.equal(pruned.elasticsearch, null);
      assert.equal((await store.deployments.planHistory(draft.id)).length, 2);
    });

    test('delete needs a shut-down deployment; shutdown is idempotent; a new plan clears it', async () => {
      const draft = newDeployment();
      await store.deployments.insertDeployment(draft);
      await assert.rejects(store.deployments.deleteDeployment(draft.id), DeploymentRunningError);
      const down = await store.deployments.shutdownDeployment(draft.id, new Date(T0 + 5));
      assert.equal(down.shutdownAt!.getTime(), T0 + 5);
      assert.equal((await store.deployments.shutdownDeployment(draft.id, new Date(T0 + 9))).shutdownAt!.getTime(), T0 + 5);
      const restarted = await store.deployments.updateDeployment(draft.id, {
        name: 'n',
        alias: null,
        tags: [],
        elasticsearch: es(),
        references: [],
        now: new Date(T0 + 10),
      });
      assert.equal(restarted.shutdownAt, null);
      await store.deployments.shutdownDeployment(draft.id, new Date(T0 + 11));
      const deleted = await store.deployments.deleteDeployment(draft.id);
      assert.equal(deleted.id, draft.id);
      assert.equal(await store.deployments.getDeployment(draft.id), null);
      assert.deepEqual(await store.deployments.planHistory(draft.id), []);
      await assert.rejects(store.deployments.deleteDeployment(draft.id), NotFoundError);
      await assert.rejects(store.deployments.shutdownDeployment(draft.id, new Date()), NotFoundError);
    });

    test('rotating the install salt replaces it and bumps the version', async () => {
      const draft = newDeployment();
      await store.deployments.insertDeployment(draft);
      const rotated = await store.deployments.rotateInstallSalt(draft.id, 'salt-2', new Date(T0 + 1));
      assert.equal(rotated.installSalt, 'salt-2');
      assert.equal(rotated.resourceVersion, 2);
      await assert.rejects(store.deployments.rotateInstallSalt(hex(), 's', new Date()), NotFoundError);
    });

    test('list is in creation order and filters by owner', async () => {
      const owner = `lister-${randomUUID()}`;
      const one = await store.deployments.insertDeployment(newDeployment({ ownerId: owner, now: new Date(T0 + 1) }));
      const two = await store.deployments.insertDeployment(newDeployment({ ownerId: owner, now: new Date(T0 + 2) }));
      assert.deepEqual(
        (await store.deployments.listDeployments({ ownerId: owner })).map((d) => d.id),
        [one.id, two.id],
      );
      const all = (await store.deployments.listDeployments()).map((d) => d.id);
      assert.ok(all.includes(one.id) && all.includes(two.id));
    });
  });
}
