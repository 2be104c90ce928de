// The id a request is logged, answered (x-request-id) and audited under. A client's X-Request-Id
// lets a proxy's trace follow the request, but it is the client's text: only a bounded id of plain
// characters is taken (no 10 KB ids in every log line and audit record, no markup or control
// characters for whoever reads them); anything else gets a generated UUID instead.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}
