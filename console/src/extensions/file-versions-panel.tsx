// An extension's file history (extrepo's file versions, spec/extrepo-file-versions.swagger.json):
// every file it had, newest first, each downloadable; for those who may change the extension, any
// version but the current one can be restored after a confirmation that names it.
import {
  EuiBadge,
  EuiBasicTable,
  EuiButtonEmpty,
  EuiCallOut,
  EuiConfirmModal,
  EuiLink,
  EuiPanel,
  EuiSpacer,
  EuiText,
  EuiTitle,
  useGeneratedHtmlId,
  type EuiBasicTableColumn,
} from '@elastic/eui';
import { useEffect, useState } from 'react';
import type { ExtensionFileVersion, ExtensionView } from '../api/types';
import { useSession } from '../session/session';
import { formatBytes, formatDate, shortSha } from './format';

function sourceOf(version: ExtensionFileVersion): string {
  if (version.source.kind === 'download_url') return `copied from ${version.source.download_url ?? 'a download URL'}`;
  return version.source.form === 'multipart' ? 'uploaded (form)' : 'uploaded';
}

export function FileVersionsPanel({
  extension,
  canRestore,
  reloadKey,
  onRestored,
}: {
  extension: ExtensionView;
  canRestore: boolean;
  /** Changes when the extension's file changed on this page (a replacement), so the list is read again. */
  reloadKey: string;
  onRestored(extension: ExtensionView, version: ExtensionFileVersion): void;
}) {
  const { api } = useSession();
  const [versions, setVersions] = useState<ExtensionFileVersion[] | null>(null);
  const [total, setTotal] = useState(0);
  const [failure, setFailure] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<ExtensionFileVersion | null>(null);
  const [restoring, setRestoring] = useState(false);
  const titleId = useGeneratedHtmlId();

  useEffect(() => {
    let current = true;
    api
      .listFileVersions(extension.id)
      .then((page) => {
        if (!current) return;
        setVersions(page.versions);
        setTotal(page.total);
        setFailure(null);
      })
      .catch((error: Error) => current && setFailure(`The file history could not be loaded. ${error.message}`));
    return () => {
      current = false;
    };
  }, [api, extension.id, reloadKey]);

  async function restore(version: ExtensionFileVersion) {
    setRestoring(true);
    try {
      const restored = await api.restoreFileVersion(extension.id, version.version);
      setConfirming(null);
      onRestored(restored, version);
    } catch (error) {
      setConfirming(null);
      setFailure(`Version ${version.version} was not restored; the file is unchanged. ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setRestoring(false);
    }
  }

  const columns: Array<EuiBasicTableColumn<ExtensionFileVersion>> = [
    {
      field: 'version',
      name: 'Version',
      render: (number: number, version: ExtensionFileVersion) => (
        <span>
          {number}{' '}
          {version.current && (
            <EuiBadge color="success" data-test-subj="currentFileVersion">
              current
            </EuiBadge>
          )}
        </span>
      ),
    },
    { field: 'sha256', name: 'sha256', render: (sha256: string) => <code title={sha256}>{shortSha(sha256)}</code> },
    { field: 'size', name: 'Size', align: 'right', render: (size: number) => formatBytes(size) },
    { field: 'created', name: 'Stored', render: (created: string) => formatDate(created) },
    { field: 'created_by', name: 'By', render: (by: string | undefined) => by ?? '—' },
    { name: 'Source', render: (version: ExtensionFileVersion) => sourceOf(version) },
    {
      name: 'Actions',
      render: (version: ExtensionFileVersion) => (
        <span>
          <EuiLink href={version.url} download={`${extension.name}-file-${version.version}.zip`} aria-label={`Download version ${version.version}`}>
            Download
          </EuiLink>
          {canRestore && !version.current && (
            <>
              {' '}
              <EuiButtonEmpty size="xs" iconType="refresh" onClick={() => setConfirming(version)} aria-label={`Restore version ${version.version}`}>
                Restore
              </EuiButtonEmpty>
            </>
          )}
        </span>
      ),
    },
  ];

  return (
    <EuiPanel>
      <EuiTitle size="xs">
        <h2>File history</h2>
      </EuiTitle>
      <EuiText size="xs" color="subdued">
        <p>
          Every file this extension had, newest first
          {total > (versions?.length ?? 0) ? ` (${versions?.length ?? 0} of ${total} shown)` : ''}. The server keeps a limited number per extension.
        </p>
      </EuiText>
      <EuiSpacer size="s" />
      {failure !== null && (
        <>
          <EuiCallOut title={failure} color="danger" iconType="error" role="alert" size="s" data-test-subj="fileVersionsFailure" />
          <EuiSpacer size="s" />
        </>
      )}
      <EuiBasicTable<ExtensionFileVersion>
        tableCaption="File history"
        items={versions ?? []}
        itemId="version"
        columns={columns}
        loading={versions === null && failure === null}
        noItemsMessage={versions === null ? 'Loading…' : 'No file yet.'}
        data-test-subj="fileVersionsTable"
      />
      {confirming !== null && (
        <EuiConfirmModal
          aria-labelledby={titleId}
          titleProps={{ id: titleId }}
          title={`Restore version ${confirming.version} of ${extension.name}?`}
          onCancel={() => setConfirming(null)}
          onConfirm={() => void restore(confirming)}
          cancelButtonText="Keep the current file"
          confirmButtonText={`Restore version ${confirming.version}`}
          defaultFocusedButton="cancel"
          isLoading={restoring}
        >
          <p>
            The extension&apos;s file becomes version {confirming.version} (sha256 <code>{shortSha(confirming.sha256)}</code>,{' '}
            {formatBytes(confirming.size)}, stored {formatDate(confirming.created)}). Deployments that reference {extension.url} install these bytes
            from then on. The current file stays in the history.
          </p>
        </EuiConfirmModal>
      )}
    </EuiPanel>
  );
}
