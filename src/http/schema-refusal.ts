// A route whose body the spec's schema checks, but whose refusal predates the schema: its error code,
// wording and fields are part of the wire behaviour (clients and tests read them), so the route turns
// the schema's issues into its own ApiError instead of the generic "does not comply with schema".
import type { FastifySchemaValidationError, RouteShorthandOptions } from 'fastify';
import type { ApiError } from '../errors.js';
import { fieldOf } from './plugins/error-replies.js';

type SchemaErrorFormatter = NonNullable<RouteShorthandOptions['schemaErrorFormatter']>;

/** Fastify's route option schemaErrorFormatter, answering `refusal(issues)` for any schema issue. */
export function refuseBodyAs(refusal: (issues: readonly FastifySchemaValidationError[]) => ApiError): SchemaErrorFormatter {
  return (issues) => refusal(issues);
}

/** The distinct fields the issues name, in the order of `order` ('' is the body as a whole). */
export function fieldsOf(issues: readonly FastifySchemaValidationError[], order: readonly string[]): string[] {
  const named = new Set(issues.map((issue) => fieldOf(issue)));
  return order.filter((field) => named.has(field));
}
