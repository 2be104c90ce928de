// The audit trail, for platform admins: every change and sign-in, newest first, filtered by user,
// action, outcome and time, a page at a time (GET /api/v1/audit).
import {
  EuiBadge,
  EuiBasicTable,
  EuiCallOut,
  EuiFieldText,
  EuiFlexGroup,
  EuiFlexItem,
  EuiFormRow,
  EuiPageTemplate,
  EuiSelect,
  EuiSpacer,
  type Criteria,
  type EuiBasicTableColumn,
} from '@elastic/eui';
import { useEffect, useState } from 'react';
import type { AuditQuery, AuditRecord, AuditRecords as AuditAnswer } from '../api/types';
import { formatDate } from '../extensions/format';
import { useSignedIn } from '../session/session';

/** A datetime-local value (local time) as the ISO 8601 instant the API takes. */
function toIso(local: string): string | undefined {
  if (local === '') return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function AuditPage() {
  const { api } = useSignedIn();
  const [user, setUser] = useState('');
  const [action, setAction] = useState('');
  const [outcome, setOutcome] = useState<'' | 'success' | 'failure'>('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [pageIndex, setPageIndex] = useState(0);
  const [pageSize, setPageSize] = useState(25);
  const [answer, setAnswer] = useState<AuditAnswer | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => setPageIndex(0), [user, action, outcome, since, until]);
  useEffect(() => {
    let current = true;
    const query: AuditQuery = { from: pageIndex * pageSize, size: pageSize };
    if (user) query.user = user;
    if (action) query.action = action;
    if (outcome) query.outcome = outcome;
    const sinceIso = toIso(since);
    const untilIso = toIso(until);
    if (sinceIso) query.since = sinceIso;
    if (untilIso) query.until = untilIso;
    setLoading(true);
    const timer = setTimeout(() => {
      api
        .listAudit(query)
        .then((page) => {
          if (!current) return;
          setAnswer(page);
          setFailure(null);
        })
        .catch((error: Error) => current && setFailure(error.message))
        .finally(() => current && setLoading(false));
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, user, action, outcome, since, until, pageIndex, pageSize]);

  const columns: Array<EuiBasicTableColumn<AuditRecord>> = [
    { field: 'at', name: 'Time', render: (at: string) => formatDate(at) },
    { field: 'user_id', name: 'User', render: (value?: string) => value ?? '—' },
    { field: 'action', name: 'Action' },
    { field: 'target', name: 'Target', render: (value?: string) => value ?? '—' },
    {
      field: 'outcome',
      name: 'Outcome',
      render: (value: string, record: AuditRecord) => (
        <EuiBadge color={value === 'success' ? 'success' : 'danger'}>
          {value} {record.status}
          {record.error_code ? ` ${record.error_code}` : ''}
        </EuiBadge>
      ),
    },
    { field: 'client_address', name: 'Client', render: (value?: string) => value ?? '—' },
  ];

  return (
    <EuiPageTemplate panelled={false} restrictWidth={false}>
      <EuiPageTemplate.Header pageTitle="Audit trail" description="Every change and every sign-in, successful or not, newest first." />
      <EuiPageTemplate.Section>
        <EuiFlexGroup gutterSize="m" wrap>
          <EuiFlexItem>
            <EuiFormRow label="User">
              <EuiFieldText name="auditUser" value={user} onChange={(e) => setUser(e.target.value)} />
            </EuiFormRow>
          </EuiFlexItem>
          <EuiFlexItem>
            <EuiFormRow label="Action" helpText="Such as create-extension, login, delete-user">
              <EuiFieldText name="auditAction" value={action} onChange={(e) => setAction(e.target.value)} />
            </EuiFormRow>
          </EuiFlexItem>
          <EuiFlexItem grow={false}>
            <EuiFormRow label="Outcome">
              <EuiSelect
                value={outcome}
                onChange={(e) => setOutcome(e.target.value as '' | 'success' | 'failure')}
                options={[
                  { value: '', text: 'Any' },
                  { value: 'success', text: 'Success' },
                  { value: 'failure', text: 'Failure' },
                ]}
              />
            </EuiFormRow>
          </EuiFlexItem>
          <EuiFlexItem grow={false}>
            <EuiFormRow label="Since">
              <EuiFieldText type="datetime-local" name="auditSince" value={since} onChange={(e) => setSince(e.target.value)} />
            </EuiFormRow>
          </EuiFlexItem>
          <EuiFlexItem grow={false}>
            <EuiFormRow label="Until">
              <EuiFieldText type="datetime-local" name="auditUntil" value={until} onChange={(e) => setUntil(e.target.value)} />
            </EuiFormRow>
          </EuiFlexItem>
        </EuiFlexGroup>
        <EuiSpacer size="m" />
        {failure !== null && (
          <>
            <EuiCallOut title="The audit trail could not be loaded" color="danger" iconType="error" role="alert">
              <p>{failure}</p>
            </EuiCallOut>
            <EuiSpacer size="m" />
          </>
        )}
        <EuiBasicTable<AuditRecord>
          tableCaption="Audit records"
          items={answer?.records ?? []}
          itemId="id"
          columns={columns}
          loading={loading}
          pagination={{ pageIndex, pageSize, totalItemCount: answer?.total ?? 0, pageSizeOptions: [25, 50, 100] }}
          onChange={({ page }: Criteria<AuditRecord>) => {
            if (page) {
              setPageIndex(page.index);
              setPageSize(page.size);
            }
          }}
          data-test-subj="auditTable"
        />
      </EuiPageTemplate.Section>
    </EuiPageTemplate>
  );
}
