// One extension: every field, its repo:// reference and sha256 with copy buttons, download, its file
// history, and for those who may change it: replace the file (with progress), restore an older
// file, edit, delete (confirmed by name).
import {
  EuiButton,
  EuiButtonIcon,
  EuiCallOut,
  EuiConfirmModal,
  EuiCopy,
  EuiDescriptionList,
  EuiFilePicker,
  EuiFlexGroup,
  EuiFlexItem,
  EuiFormRow,
  EuiLoadingSpinner,
  EuiPageTemplate,
  EuiPanel,
  EuiSpacer,
  EuiTitle,
  useGeneratedHtmlId,
} from '@elastic/eui';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { ApiFailure, UploadCancelled, type Upload, type UploadProgress } from '../api/client';
import type { ExtensionView } from '../api/types';
import { NotFoundPage } from '../layout/not-found-page';
import { useSession } from '../session/session';
import { FileVersionsPanel } from './file-versions-panel';
import { formatBytes, formatDate } from './format';
import { UploadProgressBar } from './upload-progress';

function Copyable({ value, label, testSubj }: { value: string; label: string; testSubj: string }) {
  return (
    <EuiFlexGroup gutterSize="xs" alignItems="center" responsive={false}>
      <EuiFlexItem grow={false}>
        <code data-test-subj={testSubj} style={{ wordBreak: 'break-all' }}>
          {value}
        </code>
      </EuiFlexItem>
      <EuiFlexItem grow={false}>
        <EuiCopy textToCopy={value} beforeMessage={`Copy ${label}`}>
          {(copy) => <EuiButtonIcon iconType="copy" onClick={copy} aria-label={`Copy ${label}`} />}
        </EuiCopy>
      </EuiFlexItem>
    </EuiFlexGroup>
  );
}

export function ExtensionDetailsPage() {
  const { id = '' } = useParams();
  const { api, abilities } = useSession();
  const navigate = useNavigate();
  const [extension, setExtension] = useState<ExtensionView | null>(null);
  const [missing, setMissing] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [pickerKey, setPickerKey] = useState(0);
  const [restores, setRestores] = useState(0);
  const [uploading, setUploading] = useState<string | undefined>(undefined);
  const upload = useRef<Upload | null>(null);
  const confirmTitleId = useGeneratedHtmlId();

  const load = useCallback(() => {
    api
      .getExtension(id)
      .then(setExtension)
      .catch((error: unknown) => {
        if (error instanceof ApiFailure && error.status === 404) setMissing(true);
        else setFailure(error instanceof Error ? error.message : String(error));
      });
  }, [api, id]);
  useEffect(load, [load]);

  if (missing) return <NotFoundPage />;
  if (extension === null) {
    return failure ? (
      <EuiPageTemplate panelled={false}>
        <EuiPageTemplate.Section>
          <EuiCallOut title="The extension could not be loaded" color="danger" iconType="error">
            <p>{failure}</p>
          </EuiCallOut>
        </EuiPageTemplate.Section>
      </EuiPageTemplate>
    ) : (
      <EuiLoadingSpinner size="xl" />
    );
  }

  async function replaceFile(file: File) {
    setFailure(null);
    setNotice(null);
    setProgress({ loaded: 0, total: file.size, rate: 0, secondsLeft: null });
    setUploading(file.name);
    upload.current = api.uploadFile(extension!.id, file, setProgress);
    try {
      const replaced = await upload.current.done;
      setExtension((shown) => ({ ...replaced, ...(shown?.deployments ? { deployments: shown.deployments } : {}) }));
      setNotice(`${file.name} is now the extension's file.`);
    } catch (error) {
      if (error instanceof UploadCancelled) setNotice(error.message);
      else setFailure(`The file was refused; the extension keeps its previous file. ${error instanceof Error ? error.message : ''}`);
    } finally {
      upload.current = null;
      setProgress(null);
      setPickerKey((key) => key + 1);
    }
  }

  async function remove() {
    setDeleting(true);
    try {
      await api.deleteExtension(extension!.id);
      navigate('/extensions');
    } catch (error) {
      setConfirmDelete(false);
      setDeleting(false);
      const message = error instanceof Error ? error.message : String(error);
      setFailure(
        error instanceof ApiFailure && error.status === 409
          ? `${extension!.name} was not deleted: ${message}`
          : `${extension!.name} was not deleted. ${message}`,
      );
      load();
    }
  }

  const file = extension.file_metadata;
  const items: Array<{ title: string; description: NonNullable<ReactNode> }> = [
    { title: 'Reference', description: <Copyable value={extension.url} label="reference" testSubj="extensionUrl" /> },
    { title: 'Id', description: extension.id },
    { title: 'Type', description: extension.extension_type },
    { title: 'Version', description: <span data-test-subj="extensionVersion">{extension.version}</span> },
    { title: 'Description', description: <span data-test-subj="extensionDescription">{extension.description ?? '—'}</span> },
  ];
  if (extension.download_url) items.push({ title: 'Download URL', description: extension.download_url });
  if (file) {
    items.push(
      { title: 'sha256', description: <Copyable value={file.sha256} label="sha256" testSubj="extensionSha256" /> },
      { title: 'Size', description: `${formatBytes(file.size)} (${file.size.toLocaleString()} bytes)` },
      { title: 'Last modified', description: formatDate(file.last_modified_date) },
    );
  } else {
    items.push({ title: 'File', description: 'No file yet.' });
  }
  if (extension.deployments && extension.deployments.length > 0) {
    items.push({ title: 'Used by deployments', description: extension.deployments.join(', ') });
  }

  const actions: ReactNode[] = [];
  if (file) {
    actions.push(
      <EuiButton key="download" iconType="download" href={file.url} download={`${extension.name}-${extension.version}.zip`}>
        Download
      </EuiButton>,
    );
  }
  if (abilities.writeExtensions) {
    actions.push(
      <EuiButton key="edit" iconType="pencil" onClick={() => navigate(`/extensions/${extension.id}/edit`)}>
        Edit
      </EuiButton>,
      <EuiButton key="delete" iconType="trash" color="danger" onClick={() => setConfirmDelete(true)}>
        Delete
      </EuiButton>,
    );
  }

  return (
    <EuiPageTemplate panelled={false}>
      <EuiPageTemplate.Header pageTitle={extension.name} rightSideItems={actions} />
      <EuiPageTemplate.Section>
        {failure !== null && (
          <>
            <EuiCallOut title="That did not work" color="danger" iconType="error" role="alert" data-test-subj="detailsFailure">
              <p>{failure}</p>
            </EuiCallOut>
            <EuiSpacer size="m" />
          </>
        )}
        {notice !== null && (
          <>
            <EuiCallOut title={notice} color="success" iconType="check" role="status" size="s" />
            <EuiSpacer size="m" />
          </>
        )}
        <EuiPanel>
          <EuiDescriptionList type="column" listItems={items} columnWidths={[1, 4]} />
        </EuiPanel>
        <EuiSpacer size="l" />
        <FileVersionsPanel
          extension={extension}
          canRestore={abilities.writeExtensions}
          reloadKey={`${file?.sha256 ?? ''} ${file?.last_modified_date ?? ''} ${restores}`}
          onRestored={(restored, version) => {
            // The answer has no deployments list (that is get's include_deployments): keep the one shown.
            setExtension((shown) => ({ ...restored, ...(shown?.deployments ? { deployments: shown.deployments } : {}) }));
            setRestores((count) => count + 1);
            setFailure(null);
            setNotice(`Version ${version.version} is now the extension's file.`);
          }}
        />
        {abilities.writeExtensions && (
          <>
            <EuiSpacer size="l" />
            <EuiPanel>
              <EuiTitle size="xs">
                <h2>{file ? 'Replace the file' : 'Upload the file'}</h2>
              </EuiTitle>
              <EuiSpacer size="s" />
              {/* While a file is sent the progress bar stands for the picker (a disabled picker's prompt is too faint to read). */}
              <div hidden={progress !== null}>
                <EuiFormRow label="Zip file" helpText="The new file replaces the stored one only once it has been received whole and validated.">
                  <EuiFilePicker
                    key={pickerKey}
                    name="replacement"
                    accept=".zip,application/zip"
                    initialPromptText="Select or drag and drop a zip file"
                    onChange={(files) => {
                      const chosen = files?.[0];
                      if (chosen && progress === null) void replaceFile(chosen);
                    }}
                  />
                </EuiFormRow>
              </div>
              {progress !== null && (
                <UploadProgressBar
                  progress={progress}
                  fileName={uploading}
                  finishing={progress.loaded >= progress.total}
                  onCancel={() => upload.current?.cancel()}
                />
              )}
            </EuiPanel>
          </>
        )}
      </EuiPageTemplate.Section>
      {confirmDelete && (
        <EuiConfirmModal
          aria-labelledby={confirmTitleId}
          titleProps={{ id: confirmTitleId }}
          title={`Delete ${extension.name}?`}
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => void remove()}
          cancelButtonText="Keep it"
          confirmButtonText={`Delete ${extension.name}`}
          buttonColor="danger"
          defaultFocusedButton="cancel"
          isLoading={deleting}
        >
          <p>
            {extension.name} {extension.version} ({extension.url}) and its file will be deleted. Deployments that reference it can no longer install
            it.
          </p>
        </EuiConfirmModal>
      )}
    </EuiPageTemplate>
  );
}
