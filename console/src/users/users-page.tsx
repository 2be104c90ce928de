// Users, for platform admins: create (with roles and a first password), change roles, disable or
// enable, reset the password, delete (handing the user's extensions to another user).
import {
  EuiBadge,
  EuiBasicTable,
  EuiButton,
  EuiCallOut,
  EuiCheckboxGroup,
  EuiConfirmModal,
  EuiFieldPassword,
  EuiFieldText,
  EuiFlyout,
  EuiFlyoutBody,
  EuiFlyoutFooter,
  EuiFlyoutHeader,
  EuiForm,
  EuiFormRow,
  EuiPageTemplate,
  EuiSelect,
  EuiSpacer,
  EuiTitle,
  useGeneratedHtmlId,
  type EuiBasicTableColumn,
} from '@elastic/eui';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiFailure } from '../api/client';
import { ROLES, type Role, type UserView } from '../api/types';
import { useSignedIn } from '../session/session';

type Editing = { kind: 'create' } | { kind: 'roles'; user: UserView } | { kind: 'password'; user: UserView } | null;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function UserFlyout({ editing, onClose, onSaved }: { editing: Exclude<Editing, null>; onClose: () => void; onSaved: () => void }) {
  const { api } = useSignedIn();
  const titleId = useGeneratedHtmlId();
  const [userName, setUserName] = useState('');
  const [fullName, setFullName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Role[]>(editing.kind === 'roles' ? editing.user.security.roles : ['ece_deployment_viewer']);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const title =
    editing.kind === 'create'
      ? 'Create user'
      : editing.kind === 'roles'
        ? `Roles of ${editing.user.user_name}`
        : `Reset the password of ${editing.user.user_name}`;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setFailure(null);
    setFieldErrors({});
    try {
      if (editing.kind === 'create') await api.createUser(userName, roles, password, fullName || undefined);
      else if (editing.kind === 'roles') await api.patchUser(editing.user.user_name, { security: { roles } });
      else await api.patchUser(editing.user.user_name, { security: { password } });
      onSaved();
    } catch (error) {
      setSaving(false);
      if (error instanceof ApiFailure && error.fields.length > 0) setFieldErrors({ [error.fields[0]!]: error.message });
      else setFailure(errorText(error));
    }
  }

  const rowError = (field: string) => ({ isInvalid: field in fieldErrors, error: fieldErrors[field] });
  return (
    <EuiFlyout onClose={onClose} size="s" aria-labelledby={titleId} ownFocus>
      <EuiFlyoutHeader hasBorder>
        <EuiTitle size="s">
          <h2 id={titleId}>{title}</h2>
        </EuiTitle>
      </EuiFlyoutHeader>
      <EuiFlyoutBody>
        <EuiForm component="form" id="userForm" onSubmit={submit}>
          {editing.kind === 'create' && (
            <>
              <EuiFormRow label="User name" {...rowError('user_name')}>
                <EuiFieldText name="user_name" value={userName} onChange={(e) => setUserName(e.target.value)} />
              </EuiFormRow>
              <EuiFormRow label="Full name" labelAppend={<small>optional</small>} {...rowError('full_name')}>
                <EuiFieldText name="full_name" value={fullName} onChange={(e) => setFullName(e.target.value)} />
              </EuiFormRow>
            </>
          )}
          {editing.kind !== 'roles' && (
            <EuiFormRow
              label={editing.kind === 'create' ? 'Password' : 'New password'}
              helpText="At least 8 characters, not containing the user name. Signed-in sessions of this user end."
              {...rowError('security.password')}
            >
              <EuiFieldPassword
                name="password"
                type="dual"
                autoComplete="new-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </EuiFormRow>
          )}
          {editing.kind !== 'password' && (
            <EuiFormRow label="Roles" {...rowError('security.roles')} hasChildLabel={false}>
              <EuiCheckboxGroup
                legend={{ children: 'Roles', display: 'hidden' }}
                options={ROLES.map((role) => ({ id: `role-${role}`, label: role }))}
                idToSelectedMap={Object.fromEntries(ROLES.map((role) => [`role-${role}`, roles.includes(role)]))}
                onChange={(id) => {
                  const role = id.replace('role-', '') as Role;
                  setRoles((current) => (current.includes(role) ? current.filter((r) => r !== role) : [...current, role]));
                }}
              />
            </EuiFormRow>
          )}
          {failure !== null && (
            <EuiCallOut title="Not saved" color="danger" iconType="error" role="alert">
              <p>{failure}</p>
            </EuiCallOut>
          )}
        </EuiForm>
      </EuiFlyoutBody>
      <EuiFlyoutFooter>
        <EuiButton type="submit" form="userForm" fill isLoading={saving}>
          {editing.kind === 'create' ? 'Create user' : 'Save'}
        </EuiButton>
      </EuiFlyoutFooter>
    </EuiFlyout>
  );
}

export function UsersPage() {
  const { api, session } = useSignedIn();
  const [users, setUsers] = useState<UserView[]>([]);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<UserView | null>(null);
  const [reassignTo, setReassignTo] = useState('');
  const deleteTitleId = useGeneratedHtmlId();

  const load = useCallback(() => {
    setLoading(true);
    api
      .listUsers()
      .then((answer) => setUsers(answer.users))
      .catch((error) => setFailure(errorText(error)))
      .finally(() => setLoading(false));
  }, [api]);
  useEffect(load, [load]);

  const act = (what: Promise<unknown>) =>
    what.then(load).catch((error) => {
      setFailure(errorText(error));
    });

  const columns: Array<EuiBasicTableColumn<UserView>> = [
    { field: 'user_name', name: 'User name' },
    { field: 'full_name', name: 'Full name', render: (name?: string) => name ?? '—' },
    {
      name: 'Roles',
      render: (user: UserView) =>
        user.security.roles.map((role) => (
          <EuiBadge key={role} color="hollow">
            {role}
          </EuiBadge>
        )),
    },
    {
      name: 'Status',
      render: (user: UserView) =>
        user.security.enabled ? <EuiBadge color="success">enabled</EuiBadge> : <EuiBadge color="default">disabled</EuiBadge>,
    },
    {
      name: 'Actions',
      actions: [
        { name: 'Roles', description: 'Change the roles', icon: 'users', type: 'icon', onClick: (user) => setEditing({ kind: 'roles', user }) },
        {
          name: 'Reset password',
          description: 'Set a new password',
          icon: 'lock',
          type: 'icon',
          onClick: (user) => setEditing({ kind: 'password', user }),
        },
        {
          name: 'Disable or enable',
          description: 'Disable (or enable) this user',
          icon: 'eyeSlash',
          type: 'icon',
          available: (user) => user.user_name !== session.info.user_name,
          onClick: (user) => void act(api.patchUser(user.user_name, { security: { enabled: !user.security.enabled } })),
        },
        {
          name: 'Delete',
          description: 'Delete this user',
          icon: 'trash',
          type: 'icon',
          color: 'danger',
          available: (user) => !user.builtin && user.user_name !== session.info.user_name,
          onClick: (user) => {
            setReassignTo('');
            setDeleting(user);
          },
        },
      ],
    },
  ];

  return (
    <EuiPageTemplate panelled={false}>
      <EuiPageTemplate.Header
        pageTitle="Users"
        rightSideItems={[
          <EuiButton key="create" fill iconType="plusCircle" onClick={() => setEditing({ kind: 'create' })}>
            Create user
          </EuiButton>,
        ]}
      />
      <EuiPageTemplate.Section>
        {failure !== null && (
          <>
            <EuiCallOut title="That did not work" color="danger" iconType="error" role="alert" onDismiss={() => setFailure(null)}>
              <p>{failure}</p>
            </EuiCallOut>
            <EuiSpacer size="m" />
          </>
        )}
        <EuiBasicTable<UserView>
          tableCaption="Users"
          items={users}
          itemId="user_name"
          columns={columns}
          loading={loading}
          data-test-subj="usersTable"
        />
      </EuiPageTemplate.Section>
      {editing !== null && (
        <UserFlyout
          editing={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            load();
          }}
        />
      )}
      {deleting !== null && (
        <EuiConfirmModal
          aria-labelledby={deleteTitleId}
          titleProps={{ id: deleteTitleId }}
          title={`Delete ${deleting.user_name}?`}
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const user = deleting;
            setDeleting(null);
            void act(api.deleteUser(user.user_name, reassignTo || undefined));
          }}
          cancelButtonText="Keep the user"
          confirmButtonText={`Delete ${deleting.user_name}`}
          buttonColor="danger"
          defaultFocusedButton="cancel"
        >
          <p>The user, its sessions and its API keys are deleted.</p>
          <EuiFormRow label="Give this user's extensions and deployments to" helpText="Required if the user owns extensions or deployments.">
            <EuiSelect
              value={reassignTo}
              onChange={(e) => setReassignTo(e.target.value)}
              options={[
                { value: '', text: 'Nobody (the user owns none)' },
                ...users.filter((user) => user.user_name !== deleting.user_name).map((user) => ({ value: user.user_name, text: user.user_name })),
              ]}
            />
          </EuiFormRow>
        </EuiConfirmModal>
      )}
    </EuiPageTemplate>
  );
}
