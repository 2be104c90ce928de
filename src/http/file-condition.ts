// A replacement conditional on the bytes the caller last saw (issue 13): `?if_sha256=<hex>` or
// `If-Match` with the file's ETag (the download's strong ETag is `"<sha256>"`). extrepo's addition,
// for PUT (upload) and POST (update, which re-fetches a download_url); ECE clients send neither.
import type { FastifyRequest } from 'fastify';
import type { FileCondition } from '../domain/extension-service.js';
import { apiError } from '../errors.js';

const SHA256 = /^[0-9a-fA-F]{64}$/;

export function fileConditionOf(request: FastifyRequest): FileCondition | undefined {
  const query = sha256Query(request.query);
  const header = ifMatchHeader(request.headers['if-match']);
  if (query === undefined) return header;
  if (header === undefined || header === 'any') return [query];
  // Both given: both must hold. Disjoint conditions can never hold, and are answered as a conflict.
  return header.includes(query) ? [query] : [];
}

function sha256Query(query: unknown): string | undefined {
  const value = (query as Record<string, unknown>).if_sha256;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !SHA256.test(value)) {
    throw apiError(
      'invalidRequest',
      `Query parameter if_sha256 must be the 64 hex digits of a sha256 (file_metadata.sha256), got ${JSON.stringify(value)}.`,
      {
        fields: ['if_sha256'],
      },
    );
  }
  return value.toLowerCase();
}

/** `*`, or the sha256s of the strong entity tags listed; weak tags never match (RFC 9110 §13.1.1). */
function ifMatchHeader(header: string | string[] | undefined): FileCondition | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return 'any';
  const hashes: string[] = [];
  for (const raw of value.split(',')) {
    const tag = raw.trim();
    if (tag === '') continue;
    const match = /^(W\/)?"([^"]*)"$/.exec(tag);
    if (match === null) {
      throw apiError(
        'invalidRequest',
        `If-Match must list entity tags such as "<sha256>" (the file's ETag, quotes included) or be *, got ${JSON.stringify(value)}.`,
        {
          fields: ['If-Match'],
        },
      );
    }
    const opaque = match[2]!;
    if (match[1] === undefined && SHA256.test(opaque)) hashes.push(opaque.toLowerCase());
  }
  return hashes;
}
