// Query parameters are parsed by hand so that the JSON body schemas can run without type coercion
// (a number sent as "name" must be rejected, not turned into a string).
import { apiError } from '../errors.js';

export function booleanQuery(query: unknown, name: string): boolean | undefined {
  const value = (query as Record<string, unknown>)[name];
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw apiError('invalidRequest', `Query parameter ${name} must be true or false, got ${JSON.stringify(value)}.`, {
    fields: [name],
  });
}

export function versionQuery(query: unknown): number | undefined {
  const value = (query as Record<string, unknown>).version;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw apiError(
      'invalidRequest',
      `Query parameter version must be a whole number (the x-cloud-resource-version you read), got ${JSON.stringify(value)}.`,
      {
        fields: ['version'],
      },
    );
  }
  return Number(value);
}

/** A whole-number query parameter within [min, max], or `fallback` when absent. */
export function integerQuery(query: unknown, name: string, min: number, max: number, fallback: number): number {
  const value = (query as Record<string, unknown>)[name];
  if (value === undefined || value === '') return fallback;
  const number = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) {
    throw apiError('invalidRequest', `Query parameter ${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`, {
      fields: [name],
    });
  }
  return number;
}
