// extrepo's browse parameters of GET /deployments/extensions (search, type, sort, size, cursor),
// documented in spec/extrepo-extensions-browse.swagger.json. Elastic's clients send none of them and
// get the whole list as before; any one of them asks for one sorted page with `total` and, when
// more follow, `next_cursor`. The cursor is opaque to clients: the sort it was made for and the
// last extension's sort key and id (keyset paging, so pages stay fast however deep).
import { apiError } from '../errors.js';
import { browseSortKey, type BrowseQuery, type BrowseSortField, type ExtensionRecord, type ExtensionType } from '../stores/metadata-store.js';

export const BROWSE_PARAMETERS = ['search', 'type', 'sort', 'size', 'cursor'] as const;
const SORT_FIELDS: readonly BrowseSortField[] = ['name', 'extension_type', 'version', 'size', 'sha256', 'last_modified'];
export const DEFAULT_BROWSE_SIZE = 50;
export const MAX_BROWSE_SIZE = 1000;
const MAX_SEARCH_LENGTH = 256;

interface CursorContent {
  /** sort field and direction the cursor belongs to */
  s: BrowseSortField;
  d: 'asc' | 'desc';
  k: string | number;
  i: string;
}

export function isBrowseRequest(query: unknown): boolean {
  const values = query as Record<string, unknown>;
  return BROWSE_PARAMETERS.some((name) => values[name] !== undefined);
}

function invalid(field: string, message: string) {
  return apiError('invalidRequest', message, { fields: [field] });
}

function stringParameter(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(name, `Query parameter ${name} must be given once.`);
  return value;
}

export type BrowseRequest = Omit<BrowseQuery, 'ownerId'>;

export function parseBrowseQuery(raw: unknown): BrowseRequest {
  const query = raw as Record<string, unknown>;
  const search = stringParameter(query, 'search');
  if (search !== undefined && search.length > MAX_SEARCH_LENGTH) {
    throw invalid('search', `search is ${search.length} characters long; the maximum is ${MAX_SEARCH_LENGTH}.`);
  }
  const type = stringParameter(query, 'type');
  if (type !== undefined && type !== 'plugin' && type !== 'bundle') {
    throw invalid('type', `type must be plugin or bundle, got ${JSON.stringify(type)}.`);
  }
  const [field = 'name', direction = 'asc', ...rest] = (stringParameter(query, 'sort') ?? 'name:asc').split(':');
  if (!SORT_FIELDS.includes(field as BrowseSortField) || (direction !== 'asc' && direction !== 'desc') || rest.length > 0) {
    throw invalid('sort', `sort must be <field> or <field>:asc|desc, with field one of ${SORT_FIELDS.join(', ')}.`);
  }
  const sizeText = stringParameter(query, 'size');
  const size = sizeText === undefined ? DEFAULT_BROWSE_SIZE : Number(sizeText);
  if (!/^\d{1,4}$/.test(sizeText ?? '50') || size < 1 || size > MAX_BROWSE_SIZE) {
    throw invalid('size', `size must be a whole number from 1 to ${MAX_BROWSE_SIZE}.`);
  }
  const request: BrowseRequest = { sort: field as BrowseSortField, descending: direction === 'desc', limit: size };
  if (search !== undefined) request.search = search;
  if (type !== undefined) request.type = type as ExtensionType;
  const cursor = stringParameter(query, 'cursor');
  if (cursor !== undefined) {
    const content = decodeCursor(cursor);
    if (content.s !== field || content.d !== direction) {
      throw invalid('cursor', `This cursor belongs to sort=${content.s}:${content.d}; send it with that sort, or start again without a cursor.`);
    }
    request.after = { key: content.k, id: content.i };
  }
  return request;
}

function decodeCursor(cursor: string): CursorContent {
  try {
    const content = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorContent;
    const keyOk = typeof content.k === 'string' || (typeof content.k === 'number' && Number.isFinite(content.k));
    if (SORT_FIELDS.includes(content.s) && (content.d === 'asc' || content.d === 'desc') && keyOk && typeof content.i === 'string') {
      return content;
    }
  } catch {
    // fall through to the refusal below
  }
  throw invalid('cursor', 'cursor is not one this server gave out: use the next_cursor of the previous page as it is.');
}

export function encodeCursor(request: BrowseRequest, last: ExtensionRecord): string {
  const content: CursorContent = {
    s: request.sort,
    d: request.descending ? 'desc' : 'asc',
    k: browseSortKey(last, request.sort),
    i: last.id,
  };
  return Buffer.from(JSON.stringify(content)).toString('base64url');
}
