// extrepo audit: the audit trail (GET /audit, platform admins), newest first.
import type { Factory } from '../../factory.js';
import { printJson, printTable } from '../../output.js';

export interface AuditOptions {
  user?: string;
  action?: string;
  target?: string;
  outcome?: string;
  since?: string;
  until?: string;
  size?: string;
  from?: string;
  json?: boolean;
}

interface AuditRecord {
  at: string;
  user_id?: string;
  action: string;
  target?: string;
  outcome: string;
  status: number;
  error_code?: string;
}

export async function runAudit(options: AuditOptions, f: Factory): Promise<void> {
  const query = new URLSearchParams();
  for (const name of ['user', 'action', 'target', 'outcome', 'since', 'until', 'size', 'from'] as const) {
    const value = options[name];
    if (value !== undefined) query.set(name, value);
  }
  const client = await f.client();
  const text = query.toString();
  const answer = await client.json<{ total: number; records: AuditRecord[] }>('GET', `/audit${text ? `?${text}` : ''}`, undefined, f.signal);
  if (options.json) return printJson(f.io, answer);
  printTable(
    f.io,
    ['TIME', 'USER', 'ACTION', 'TARGET', 'OUTCOME', 'STATUS'],
    answer.records.map((record) => [
      record.at.slice(0, 19).replace('T', ' '),
      record.user_id ?? '-',
      record.action,
      record.target ?? '-',
      record.error_code ? `${record.outcome} (${record.error_code})` : record.outcome,
      String(record.status),
    ]),
  );
  f.io.err(`${answer.records.length} of ${answer.total} records\n`);
}
