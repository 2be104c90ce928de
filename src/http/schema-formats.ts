// String formats of our own that route schemas use, for rules JSON Schema cannot spell. A rule kept
// in the schema (not after it, in the handler) is checked in the schema's field order, so a body with
// several wrong fields is refused for the same field as before the schema.
import { parseExpiration } from '../auth/api-keys.js';

/** Ajv's `formats` option (src/app.ts). */
export const schemaFormats = {
  /** CreateApiKeyRequest's expiration: a duration such as "7d" ('' is no expiration). */
  'extrepo-duration': (text: string) => text === '' || parseExpiration(text) !== null,
};
