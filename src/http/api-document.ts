// The API document as served (GET /api/v1/api-docs/swagger.json and the Swagger UI page beside it):
// Elastic's extracts merged with extrepo's own part (spec.ts), described as extrepo, at the address
// it is reached on. Elastic's document says "Elastic Cloud Enterprise API", version "1", https only
// and no host, which is true of ECE but not of this server.
import type { FastifyRequest } from 'fastify';
import { EXTREPO_VERSION } from '../version.js';
import { swaggerDocument } from './spec.js';

type JsonObject = { [key: string]: unknown };

const DESCRIPTION =
  "extrepo, an extension repository that speaks Elastic Cloud Enterprise's deployment extensions API " +
  '(ECE API version 1, as of ECE 3.8) on the wire, plus its users, authentication and API keys. ' +
  'Everything marked `x-extrepo: true` (the Audit tag, its operation and definitions, and the `sha256` of a file) ' +
  "is extrepo's own addition; the rest is Elastic's specification (Apache-2.0, see spec/NOTICE.md).";

/** The served document minus host, schemes and basePath, built once. */
const base: JsonObject = (() => {
  const document = structuredClone(swaggerDocument);
  document.info = {
    title: 'extrepo',
    version: EXTREPO_VERSION,
    description: DESCRIPTION,
    'x-ece-api-version': (swaggerDocument.info as JsonObject).version,
    license: { name: 'Apache-2.0' },
  };
  const definitions = document.definitions as Record<string, JsonObject>;
  const fileMetadata = definitions.ExtensionFileMetadata!;
  fileMetadata.properties = {
    ...(fileMetadata.properties as JsonObject),
    sha256: { type: 'string', description: 'The sha256 of the file, in hex, as extrepo computed it.', 'x-extrepo': true },
  };
  return document;
})();

/**
 * The document for one request: host, scheme and base path are those of EXTREPO_PUBLIC_URL when
 * set (the address clients are given), else of the request itself (its Host header and protocol).
 */
export function servedApiDocument(request: FastifyRequest, publicUrl: string | null): JsonObject {
  let host: string;
  let scheme: string;
  let prefix = '';
  if (publicUrl !== null) {
    const url = new URL(publicUrl);
    host = url.host;
    scheme = url.protocol.replace(/:$/, '');
    prefix = url.pathname.replace(/\/+$/, '');
  } else {
    host = request.host;
    scheme = request.protocol;
  }
  return { ...base, host, schemes: [scheme], basePath: `${prefix}${base.basePath as string}` };
}
