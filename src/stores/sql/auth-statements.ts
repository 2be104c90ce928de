// The statements of the auth tables, built once per dialect (a store builds them when it opens, and
// the SQLite driver prepares each text once: see sqlite-metadata-store.ts).
import { API_KEY_COLUMNS, AUDIT_COLUMNS, SESSION_COLUMNS, USER_COLUMNS } from './auth-rows.js';
import { placeholders, type SqlDialect } from './dialect.js';

export type AuthStatements = ReturnType<typeof authStatements>;

export function authStatements(dialect: SqlDialect) {
  const p = (position: number) => dialect.placeholder(position);
  const getUser = `SELECT * FROM users WHERE user_name = ${p(1)}`;
  return {
    insertApiKey: `INSERT INTO api_keys (${API_KEY_COLUMNS}) VALUES (${placeholders(dialect, 7)})`,
    findApiKey: `SELECT * FROM api_keys WHERE id = ${p(1)}`,
    countApiKeys: 'SELECT count(*) AS n FROM api_keys',
    listApiKeys: 'SELECT * FROM api_keys ORDER BY created_at, id',
    listApiKeysOfUser: `SELECT * FROM api_keys WHERE user_id = ${p(1)} ORDER BY created_at, id`,
    deleteApiKeys: `DELETE FROM api_keys WHERE ${dialect.inList('id', p(1))} RETURNING id`,
    deleteApiKeysOwnedBy: `DELETE FROM api_keys WHERE ${dialect.inList('id', p(1))} AND user_id = ${p(2)} RETURNING id`,
    deleteApiKeysOfUser: `DELETE FROM api_keys WHERE user_id = ${p(1)}`,

    insertUser: `INSERT INTO users (${USER_COLUMNS}) VALUES (${placeholders(dialect, 12)})`,
    getUser,
    lockUser: `${getUser}${dialect.forUpdate}`,
    listUsers: 'SELECT * FROM users ORDER BY user_name',
    updateUser: `UPDATE users SET full_name = ${p(1)}, email = ${p(2)}, roles = ${p(3)}, enabled = ${p(4)},
        password_hash = ${p(5)}, updated_at = ${p(6)}, updated_by = ${p(7)}
      WHERE user_name = ${p(8)}`,
    deleteUser: `DELETE FROM users WHERE user_name = ${p(1)}`,
    enabledUsers: `SELECT enabled, roles FROM users WHERE enabled = ${p(1)}`,
    recordLogin: `UPDATE users SET last_login_at = ${p(1)} WHERE user_name = ${p(2)}`,
    countOwned: `SELECT (SELECT count(*) FROM extensions WHERE owner_id = ${p(1)}) AS extensions,
        (SELECT count(*) FROM deployments WHERE owner_id = ${p(2)}) AS deployments`,
    reassignOwned: `UPDATE extensions SET owner_id = ${p(1)} WHERE owner_id = ${p(2)}`,
    // A request_id is unique per owner: the heir may have used the same one, and the deleted
    // user will never repeat a request, so the handed-over deployments forget theirs.
    reassignOwnedDeployments: `UPDATE deployments SET owner_id = ${p(1)}, request_id = NULL WHERE owner_id = ${p(2)}`,

    insertSession: `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (${placeholders(dialect, 5)})`,
    getSession: `SELECT * FROM sessions WHERE id = ${p(1)}`,
    revokeSession: `UPDATE sessions SET revoked_at = ${p(1)} WHERE id = ${p(2)} AND revoked_at IS NULL`,
    revokeSessionsOfUser: `UPDATE sessions SET revoked_at = ${p(1)} WHERE user_id = ${p(2)} AND revoked_at IS NULL`,
    deleteSessionsOfUser: `DELETE FROM sessions WHERE user_id = ${p(1)}`,
    deleteExpiredSessions: `DELETE FROM sessions WHERE expires_at < ${p(1)}`,

    appendAudit: `INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${placeholders(dialect, 10)})`,
  };
}
