// Deployment requests as ECE clients send them, and extensions with files to reference.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { bundleZip, pluginZip } from './archives.js';
import type { TestServer } from './server.js';

export const DEPLOYMENTS = '/api/v1/deployments';
export const EXTENSIONS = '/api/v1/deployments/extensions';

export interface PlanEntry {
  name: string;
  url: string;
  elasticsearch_version: string;
}

/** A DeploymentCreateRequest with one Elasticsearch resource (what ecctl --file reads). */
export function createRequest(
  options: { name?: string; version?: string; plugins?: PlanEntry[]; bundles?: PlanEntry[]; extra?: Record<string, unknown> } = {},
) {
  const version = options.version ?? '8.15.0';
  return {
    name: options.name ?? `dep-${randomUUID().slice(0, 8)}`,
    metadata: { tags: [{ key: 'team', value: 'search' }] },
    resources: {
      elasticsearch: [
        {
          ref_id: 'main-elasticsearch',
          region: 'ece-region',
          plan: {
            cluster_topology: [{ id: 'hot_content', zone_count: 1, size: { value: 4096, resource: 'memory' } }],
            elasticsearch: {
              version,
              ...(options.plugins ? { user_plugins: options.plugins } : {}),
              ...(options.bundles ? { user_bundles: options.bundles } : {}),
            },
            ...options.extra,
          },
        },
      ],
    },
  };
}

export function updateRequest(options: Parameters<typeof createRequest>[0] & { prune?: boolean } = {}) {
  const { name, resources } = createRequest(options);
  return { name, prune_orphans: options.prune ?? false, resources };
}

export function entry(id: string, version = '8.15.0', name = `entry-${id}`): PlanEntry {
  return { name, url: `repo://${id}`, elasticsearch_version: version };
}

/** A plugin or bundle extension with its file uploaded; returns its id and the file. */
export async function extensionWithFile(
  server: TestServer,
  kind: 'plugin' | 'bundle',
  version: string,
  authorization?: string,
): Promise<{ id: string; zip: Buffer; name: string }> {
  const name = `${kind}-${randomUUID().slice(0, 8)}`;
  const headers: Record<string, string> = authorization ? { authorization } : {};
  const created = await server.api('POST', EXTENSIONS, { json: { name, version, extension_type: kind }, headers });
  assert.equal(created.status, 201, created.text);
  const zip = kind === 'plugin' ? await pluginZip(version) : await bundleZip(`${name}\n`);
  const uploaded = await server.api('PUT', `${EXTENSIONS}/${created.body.id}`, {
    body: zip,
    headers: { ...headers, 'content-type': 'application/zip' },
  });
  assert.equal(uploaded.status, 200, uploaded.text);
  return { id: created.body.id as string, zip, name };
}

/** Creates a deployment and returns its id. */
export async function createDeployment(server: TestServer, body: unknown, authorization?: string): Promise<string> {
  const response = await server.api('POST', DEPLOYMENTS, { json: body, ...(authorization ? { headers: { authorization } } : {}) });
  assert.equal(response.status, 201, response.text);
  return response.body.id as string;
}
