// extrepo show ID: one extension; key: value lines, or the API's JSON with --json.
import type { Factory } from '../../factory.js';
import { printJson } from '../../output.js';
import { extensionPath, printExtension, type Extension } from './extension.js';

export interface ShowOptions {
  json?: boolean;
  includeDeployments?: boolean;
}

export async function runShow(id: string, options: ShowOptions, f: Factory): Promise<void> {
  const client = await f.client();
  const query = options.includeDeployments ? '?include_deployments=true' : '';
  const extension = await client.json<Extension>('GET', extensionPath(id) + query, undefined, f.signal);
  if (options.json) return printJson(f.io, extension);
  printExtension(f.io, extension);
}
