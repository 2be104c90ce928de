// The schemaErrorFormatter of the routes that take a User (POST /users, PATCH /users/{user_name},
// PATCH /user): the schema's issues become the refusal those routes always gave (auth/user-service.ts).
import { userBodyRefusal } from '../auth/user-service.js';
import { fieldOf } from './plugins/error-replies.js';
import { refuseBodyAs } from './schema-refusal.js';

export function refuseUserBody(create: boolean) {
  return refuseBodyAs((issues) =>
    userBodyRefusal(
      issues.map((issue) => ({ field: fieldOf(issue), missing: issue.keyword === 'required' })),
      create,
    ),
  );
}
