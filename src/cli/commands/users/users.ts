// extrepo users ls|show|create|rm: the users API (ECE's, under /users).
import { CliError, UsageError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { printFields, printJson, printTable } from '../../output.js';
import { askPassword } from '../../prompt.js';

interface User {
  user_name: string;
  builtin?: boolean;
  full_name?: string;
  email?: string;
  security?: { roles?: string[]; enabled?: boolean };
  metadata?: { created_at?: string; last_login_at?: string };
}

const userPath = (name: string) => `/users/${encodeURIComponent(name)}`;

export async function runUsersLs(options: { json?: boolean; includeDisabled?: boolean }, f: Factory): Promise<void> {
  const client = await f.client();
  const answer = await client.json<{ users: User[] }>('GET', `/users${options.includeDisabled ? '?include_disabled=true' : ''}`, undefined, f.signal);
  if (options.json) return printJson(f.io, answer);
  printTable(
    f.io,
    ['NAME', 'ROLES', 'ENABLED', 'LAST LOGIN'],
    answer.users.map((user) => [
      user.user_name,
      (user.security?.roles ?? []).join(','),
      user.security?.enabled === false ? 'no' : 'yes',
      user.metadata?.last_login_at?.slice(0, 19).replace('T', ' ') ?? '-',
    ]),
  );
}

export async function runUsersShow(name: string, options: { json?: boolean }, f: Factory): Promise<void> {
  const client = await f.client();
  const user = await client.json<User>('GET', userPath(name), undefined, f.signal);
  if (options.json) return printJson(f.io, user);
  printFields(f.io, [
    ['name', user.user_name],
    ['full name', user.full_name],
    ['email', user.email],
    ['roles', (user.security?.roles ?? []).join(', ')],
    ['enabled', user.security?.enabled === false ? 'no' : 'yes'],
    ['built in', user.builtin ? 'yes' : undefined],
    ['created', user.metadata?.created_at],
    ['last login', user.metadata?.last_login_at],
  ]);
}

export interface UsersCreateOptions {
  role: string[];
  email?: string;
  fullName?: string;
  json?: boolean;
}

export async function runUsersCreate(name: string, options: UsersCreateOptions, f: Factory): Promise<void> {
  if (options.role.length === 0) throw new UsageError('give at least one --role (e.g. ece_deployment_manager)');
  const client = await f.client();
  const password = await askPassword(f.io, `Password for the new user ${name}: `);
  if (password === '') throw new CliError('no password given');
  const user = await client.json<User>(
    'POST',
    '/users',
    {
      user_name: name,
      ...(options.email ? { email: options.email } : {}),
      ...(options.fullName ? { full_name: options.fullName } : {}),
      security: { roles: options.role, password },
    },
    f.signal,
  );
  if (options.json) return printJson(f.io, user);
  f.io.err(`Created user ${user.user_name} (${(user.security?.roles ?? []).join(', ')}).\n`);
}

export async function runUsersRm(name: string, options: { reassignExtensionsTo?: string }, f: Factory): Promise<void> {
  const client = await f.client();
  const query = options.reassignExtensionsTo ? `?reassign_extensions_to=${encodeURIComponent(options.reassignExtensionsTo)}` : '';
  await client.json('DELETE', userPath(name) + query, undefined, f.signal);
  f.io.err(`Deleted user ${name}.\n`);
}
