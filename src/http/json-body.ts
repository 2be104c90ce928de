// Parsing a JSON request body so that what is stored reads back exactly as sent (issue 9.4).
// Bytes that are not UTF-8 would otherwise become U+FFFD, silently; and a lone UTF-16 surrogate
// (JSON allows the escape "\ud800") has no UTF-8 form, so SQLite and PostgreSQL would each store
// something else than what the client sent and GET answered. Both are refused, naming the problem,
// rather than stored altered. An empty body is no body: ecctl's DELETE carries
// Content-Type: application/json without one.
import { apiError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// With the u flag a regex reads code points, so a surrogate pair is one astral character and only an
// unpaired surrogate falls in this range (String.isWellFormed is ES2024, beyond our TypeScript lib).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw apiError('invalidJson', `The request body is not valid UTF-8 (at byte ${firstInvalidByte(body)}); send JSON encoded as UTF-8.`);
  }
  text = text.trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw apiError('invalidJson', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  const field = fieldWithLoneSurrogate(value, '');
  if (field !== null) {
    throw apiError(
      'invalidJson',
      `${field === '' ? 'The body' : field} holds an unpaired UTF-16 surrogate (such as \\ud800 without its pair), which is not text and cannot be stored.`,
      field === '' ? {} : { fields: [field] },
    );
  }
  return value;
}

/** The dotted path of the first string (or key) that is not well-formed UTF-16, or null. */
function fieldWithLoneSurrogate(value: unknown, path: string): string | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : null;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = fieldWithLoneSurrogate(item, path);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (LONE_SURROGATE.test(key)) return path;
    const found = fieldWithLoneSurrogate(item, at);
    if (found !== null) return found;
  }
  return null;
}

function firstInvalidByte(body: Buffer): number {
  // The longest prefix that decodes (as the start of a stream), found by bisection: only on a refusal.
  let low = 0;
  let high = body.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (isValidPrefix(body.subarray(0, mid))) low = mid;
    else high = mid - 1;
  }
  return low;
}

function isValidPrefix(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}
