// The rules a plan's user_plugins / user_bundles entries must follow (Elastic's extension docs, D1/D2;
// terraform-provider-ec#997 for duplicates). Each failure is ECE's clusters.cluster_invalid_plan with
// `fields` naming the entry. A repo://<id> entry must name an extension the caller may see; an
// http(s) entry is recorded as an external reference and not fetched or checked.
import { apiError, type ApiError } from '../errors.js';
import type { ExtensionRecord } from '../stores/metadata-store.js';
import type { ElasticsearchPayload, PlanEntry } from './deployment-request.js';

const REPO_URL = /^repo:\/\/([^/?#\s]+)$/;

export interface ResolvedReference {
  entry: PlanEntry;
  kind: 'plugin' | 'bundle';
  /** Set for repo:// entries. */
  extension: ExtensionRecord | null;
}

function planError(field: string, message: string): ApiError {
  return apiError('invalidPlan', message, { fields: [field] });
}

/** The extension id of a repo:// URL, or null for anything else. */
export function repoId(url: string): string | null {
  return REPO_URL.exec(url)?.[1] ?? null;
}

function isExternal(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Whether a bundle's version (`*`, `8.*` or exact) covers the Elasticsearch version. */
export function bundleCovers(bundleVersion: string, elasticsearchVersion: string): boolean {
  if (bundleVersion === '*') return true;
  const major = /^(\d+)\.\*$/.exec(bundleVersion)?.[1];
  if (major !== undefined) return elasticsearchVersion.split('.')[0] === major;
  return bundleVersion === elasticsearchVersion;
}

/**
 * Checks every entry of the plan; `lookup` returns the extension if it exists and the caller may
 * see it (null otherwise, so an invisible extension reads exactly like a missing one).
 */
export async function resolvePlanReferences(
  payload: ElasticsearchPayload,
  lookup: (id: string) => Promise<ExtensionRecord | null>,
): Promise<ResolvedReference[]> {
  const resolved: ResolvedReference[] = [];
  const seen = new Map<string, string>();
  const all = [
    ...payload.plugins.map((entry) => ({ entry, kind: 'plugin' as const })),
    ...payload.bundles.map((entry) => ({ entry, kind: 'bundle' as const })),
  ];
  for (const { entry, kind } of all) {
    if (entry.elasticsearchVersion !== payload.version) {
      throw planError(
        `${entry.field}.elasticsearch_version`,
        `${entry.field}.elasticsearch_version is ${entry.elasticsearchVersion}, but the plan's Elasticsearch version is ${payload.version}; they must be equal.`,
      );
    }
    const id = repoId(entry.url);
    if (id === null) {
      if (!isExternal(entry.url)) {
        throw planError(
          `${entry.field}.url`,
          `${entry.field}.url must be repo://<extension id> or an http(s) URL, not ${JSON.stringify(entry.url)}.`,
        );
      }
      resolved.push({ entry, kind, extension: null });
      continue;
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      throw planError(
        `${entry.field}.url`,
        `${entry.field} references extension [${id}] again (already ${earlier}); reference each extension once per plan.`,
      );
    }
    seen.set(id, entry.field);
    const extension = await lookup(id);
    if (extension === null) {
      throw planError(`${entry.field}.url`, `${entry.field}.url references extension [${id}], which does not exist or which you may not use.`);
    }
    checkExtension(entry, kind, extension, payload.version);
    resolved.push({ entry, kind, extension });
  }
  return resolved;
}

function checkExtension(entry: PlanEntry, kind: 'plugin' | 'bundle', extension: ExtensionRecord, version: string): void {
  const field = `${entry.field}.url`;
  if (extension.extensionType !== kind) {
    const list = extension.extensionType === 'plugin' ? 'user_plugins' : 'user_bundles';
    throw planError(field, `Extension [${extension.id}] is a ${extension.extensionType}: reference it in ${list}, not here.`);
  }
  if (extension.file === null) {
    throw planError(field, `Extension [${extension.id}] has no file yet: upload its zip before a plan references it.`);
  }
  if (kind === 'plugin' && extension.version !== version) {
    throw planError(
      field,
      `Plugin extension [${extension.id}] is built for Elasticsearch ${extension.version}, but the plan runs ${version}; a plugin's version must equal it exactly.`,
    );
  }
  if (kind === 'bundle' && !bundleCovers(extension.version, version)) {
    throw planError(field, `Bundle extension [${extension.id}] has version ${extension.version}, which does not cover Elasticsearch ${version}.`);
  }
}
