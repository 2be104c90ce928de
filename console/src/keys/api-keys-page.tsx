// API keys: everyone manages their own; platform admins also see (and revoke) every user's. A new
// key is shown once, with a copy button: the server keeps only its hash.
import {
  EuiBasicTable,
  EuiButton,
  EuiButtonIcon,
  EuiCallOut,
  EuiCodeBlock,
  EuiConfirmModal,
  EuiCopy,
  EuiFieldText,
  EuiFlexGroup,
  EuiFlexItem,
  EuiForm,
  EuiFormRow,
  EuiModal,
  EuiModalBody,
  EuiModalFooter,
  EuiModalHeader,
  EuiModalHeaderTitle,
  EuiPageTemplate,
  EuiSelect,
  EuiSpacer,
  EuiTab,
  EuiTabs,
  useGeneratedHtmlId,
  type EuiBasicTableColumn,
} from '@elastic/eui';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { ApiKeyResponse as ApiKey } from '../api/types';
import { formatDate } from '../extensions/format';
import { useSignedIn } from '../session/session';

const EXPIRATIONS = [
  { value: '', text: 'Never' },
  { value: '7d', text: '7 days' },
  { value: '30d', text: '30 days' },
  { value: '90d', text: '90 days' },
  { value: '1y', text: '1 year' },
];

export function ApiKeysPage() {
  const { api, abilities, session } = useSignedIn();
  const [scope, setScope] = useState<'own' | 'all'>('own');
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<string | null>(null);
  const [description, setDescription] = useState('');
  const [expiration, setExpiration] = useState('');
  const [descriptionError, setDescriptionError] = useState<string | null>(null);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const createdTitleId = useGeneratedHtmlId();
  const revokeTitleId = useGeneratedHtmlId();

  const load = useCallback(() => {
    setLoading(true);
    (scope === 'all' ? api.listAllKeys() : api.listOwnKeys())
      .then((answer) => setKeys(answer.keys))
      .catch((error: Error) => setFailure(error.message))
      .finally(() => setLoading(false));
  }, [api, scope]);
  useEffect(load, [load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    if (description.trim() === '') {
      setDescriptionError('Say what the key is for, such as "CI pipeline".');
      return;
    }
    try {
      setCreated(await api.createKey(description, expiration || undefined));
      setDescription('');
      load();
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    }
  }

  const columns: Array<EuiBasicTableColumn<ApiKey>> = [
    { field: 'description', name: 'Description' },
    ...(scope === 'all' ? [{ field: 'user_id', name: 'User' } as EuiBasicTableColumn<ApiKey>] : []),
    { field: 'id', name: 'Id', render: (id: string) => <code>{id}</code> },
    { field: 'creation_date', name: 'Created', render: (date: string) => formatDate(date) },
    { field: 'expiration_date', name: 'Expires', render: (date?: string) => (date ? formatDate(date) : 'never') },
    {
      name: 'Actions',
      actions: [
        {
          name: 'Revoke',
          description: 'Revoke this key',
          icon: 'trash',
          type: 'icon',
          color: 'danger',
          available: () => scope === 'own' || abilities.administer,
          onClick: (key) => setRevoking(key),
        },
      ],
    },
  ];

  return (
    <EuiPageTemplate panelled={false}>
      <EuiPageTemplate.Header pageTitle="API keys" description="Keys authenticate scripts and tools (Authorization: ApiKey <key>) with your roles." />
      <EuiPageTemplate.Section>
        <EuiForm component="form" onSubmit={create}>
          <EuiFlexGroup alignItems="flexEnd" gutterSize="m">
            <EuiFlexItem>
              <EuiFormRow label="Description" isInvalid={descriptionError !== null} error={descriptionError ?? undefined} fullWidth>
                <EuiFieldText
                  name="keyDescription"
                  value={description}
                  fullWidth
                  onChange={(e) => {
                    setDescription(e.target.value);
                    setDescriptionError(null);
                  }}
                />
              </EuiFormRow>
            </EuiFlexItem>
            <EuiFlexItem grow={false}>
              <EuiFormRow label="Expires after">
                <EuiSelect name="keyExpiration" value={expiration} options={EXPIRATIONS} onChange={(e) => setExpiration(e.target.value)} />
              </EuiFormRow>
            </EuiFlexItem>
            <EuiFlexItem grow={false}>
              <EuiButton type="submit" fill iconType="plusCircle">
                Create API key
              </EuiButton>
            </EuiFlexItem>
          </EuiFlexGroup>
        </EuiForm>
        <EuiSpacer size="l" />
        {abilities.administer && (
          <EuiTabs size="s">
            <EuiTab isSelected={scope === 'own'} onClick={() => setScope('own')}>
              My keys
            </EuiTab>
            <EuiTab isSelected={scope === 'all'} onClick={() => setScope('all')}>
              All users' keys
            </EuiTab>
          </EuiTabs>
        )}
        {failure !== null && (
          <EuiCallOut title="That did not work" color="danger" iconType="error" role="alert" onDismiss={() => setFailure(null)}>
            <p>{failure}</p>
          </EuiCallOut>
        )}
        <EuiBasicTable<ApiKey> tableCaption="API keys" items={keys} itemId="id" columns={columns} loading={loading} data-test-subj="keysTable" />
      </EuiPageTemplate.Section>
      {created !== null && (
        <EuiModal onClose={() => setCreated(null)} aria-labelledby={createdTitleId}>
          <EuiModalHeader>
            <EuiModalHeaderTitle id={createdTitleId}>Copy your new API key now</EuiModalHeaderTitle>
          </EuiModalHeader>
          <EuiModalBody>
            <p>This is the only time it is shown: extrepo keeps only its hash.</p>
            <EuiSpacer size="s" />
            <EuiFlexGroup gutterSize="s" alignItems="center" responsive={false}>
              <EuiFlexItem>
                <EuiCodeBlock data-test-subj="newApiKey" isCopyable={false} paddingSize="s" fontSize="s">
                  {created.key ?? ''}
                </EuiCodeBlock>
              </EuiFlexItem>
              <EuiFlexItem grow={false}>
                <EuiCopy textToCopy={created.key ?? ''}>
                  {(copy) => <EuiButtonIcon iconType="copy" onClick={copy} aria-label="Copy the API key" />}
                </EuiCopy>
              </EuiFlexItem>
            </EuiFlexGroup>
          </EuiModalBody>
          <EuiModalFooter>
            <EuiButton fill onClick={() => setCreated(null)}>
              I have copied it
            </EuiButton>
          </EuiModalFooter>
        </EuiModal>
      )}
      {revoking !== null && (
        <EuiConfirmModal
          aria-labelledby={revokeTitleId}
          titleProps={{ id: revokeTitleId }}
          title={`Revoke "${revoking.description}"?`}
          onCancel={() => setRevoking(null)}
          onConfirm={() => {
            const key = revoking;
            setRevoking(null);
            api
              .revokeKey(key, session.info.user_name)
              .then(load)
              .catch((error: Error) => setFailure(error.message));
          }}
          cancelButtonText="Keep it"
          confirmButtonText="Revoke"
          buttonColor="danger"
          defaultFocusedButton="cancel"
        >
          <p>Whatever uses this key stops being able to sign in at once.</p>
        </EuiConfirmModal>
      )}
    </EuiPageTemplate>
  );
}
