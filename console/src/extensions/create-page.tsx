// Create an extension: its fields, then either a file (uploaded with progress, cancellable) or a
// download_url the server copies from. The metadata is created first (POST), then the file is sent
// (PUT), the same two steps Elastic documents for curl. A cancelled (or refused) upload leaves the
// created extension without a file: the page says so and offers to delete it.
import {
  EuiButton,
  EuiButtonEmpty,
  EuiCallOut,
  EuiFilePicker,
  EuiFlexGroup,
  EuiFlexItem,
  EuiForm,
  EuiFormRow,
  EuiLink,
  EuiLoadingSpinner,
  EuiPageTemplate,
  EuiRadioGroup,
  EuiSpacer,
  EuiText,
} from '@elastic/eui';
import { useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { ApiFailure, UploadCancelled, type Upload, type UploadProgress } from '../api/client';
import type { ExtensionView } from '../api/types';
import { useSession } from '../session/session';
import { ExtensionFieldsForm } from './extension-form';
import { formatBytes } from './format';
import { checkFields, placeServerError, type ExtensionFields, type FieldErrors } from './rules';
import { UploadProgressBar } from './upload-progress';

type Source = 'source-file' | 'source-url';
type Stage = { kind: 'editing' } | { kind: 'copying' } | { kind: 'creating' } | { kind: 'uploading'; progress: UploadProgress };

export function ExtensionCreatePage() {
  const { api } = useSession();
  const navigate = useNavigate();
  const [fields, setFields] = useState<ExtensionFields>({
    name: '',
    version: '',
    extension_type: 'bundle',
    description: '',
    download_url: '',
  });
  const [source, setSource] = useState<Source>('source-file');
  const [file, setFile] = useState<File | null>(null);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [cancelled, setCancelled] = useState<ExtensionView | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: 'editing' });
  const [discarding, setDiscarding] = useState(false);
  const [discarded, setDiscarded] = useState<string | null>(null);
  const upload = useRef<Upload | null>(null);

  const localErrors = checkFields({ ...fields, download_url: source === 'source-url' ? fields.download_url : '' }, 'create');
  if (source === 'source-url' && fields.download_url === '') localErrors.download_url = 'The address to copy the zip from is required.';
  if (source === 'source-file' && file === null) localErrors.file = 'Choose the zip file to upload.';
  const errors: FieldErrors = { ...localErrors, ...serverErrors };
  const shown = (field: string) => submitted || touched.has(field) || field in serverErrors;
  const busy = stage.kind !== 'editing';

  function onFieldsChange(next: ExtensionFields, changed: keyof ExtensionFields) {
    setFields(next);
    setTouched((known) => new Set(known).add(changed));
    setServerErrors(({ [changed]: _dropped, ...rest }) => rest);
  }

  function showFailure(error: unknown) {
    if (error instanceof ApiFailure) {
      const placed = placeServerError(error.fields, error.message);
      if (placed.field !== null) {
        setServerErrors({ [placed.field]: placed.message });
        return;
      }
      setFailure(error.message);
      return;
    }
    setFailure(error instanceof Error ? error.message : String(error));
  }

  /** Deletes the extension a cancelled or refused upload left without a file. */
  async function discard(empty: ExtensionView) {
    setDiscarding(true);
    try {
      await api.deleteExtension(empty.id);
      setCancelled(null);
      setFailure(null);
      setDiscarded(empty.name);
    } catch (error) {
      setFailure(`${empty.name} was not deleted: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setDiscarding(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    setFailure(null);
    setCancelled(null);
    setDiscarded(null);
    if (Object.keys(localErrors).length > 0) return;
    const request = {
      name: fields.name,
      version: fields.version,
      extension_type: fields.extension_type,
      ...(fields.description ? { description: fields.description } : {}),
      ...(source === 'source-url' ? { download_url: fields.download_url } : {}),
    };
    setStage({ kind: source === 'source-url' ? 'copying' : 'creating' });
    let created: ExtensionView;
    try {
      created = await api.createExtension(request);
    } catch (error) {
      setStage({ kind: 'editing' });
      showFailure(error);
      return;
    }
    if (source === 'source-url' || file === null) {
      navigate(`/extensions/${created.id}`);
      return;
    }
    setStage({ kind: 'uploading', progress: { loaded: 0, total: file.size, rate: 0, secondsLeft: null } });
    upload.current = api.uploadFile(created.id, file, (progress) => setStage({ kind: 'uploading', progress }));
    try {
      await upload.current.done;
      navigate(`/extensions/${created.id}`);
    } catch (error) {
      setStage({ kind: 'editing' });
      if (error instanceof UploadCancelled) {
        setCancelled(created);
        return;
      }
      setCancelled(created);
      setFailure(`The extension was created, but its file was refused: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      upload.current = null;
    }
  }

  return (
    <EuiPageTemplate panelled={false}>
      <EuiPageTemplate.Header pageTitle="Create extension" />
      <EuiPageTemplate.Section>
        <EuiForm component="form" onSubmit={submit} style={{ maxWidth: 640 }}>
          <ExtensionFieldsForm
            fields={fields}
            errors={errors}
            shown={shown}
            onChange={onFieldsChange}
            kind="create"
            withDownloadUrl={source === 'source-url'}
          />
          <EuiFormRow label="File" hasChildLabel={false}>
            <EuiRadioGroup
              name="source"
              idSelected={source}
              onChange={(id) => setSource(id as Source)}
              options={[
                { id: 'source-file', label: 'Upload a zip file' },
                { id: 'source-url', label: 'Copy from a download URL' },
              ]}
              legend={{ children: 'Where the file comes from', display: 'hidden' }}
            />
          </EuiFormRow>
          {source === 'source-file' && (
            // While the file is sent the progress bar stands for the picker, which stays mounted
            // (hidden) so it still shows the chosen file if the upload is cancelled.
            <div hidden={stage.kind === 'uploading'}>
              <EuiFormRow
                label="Zip file"
                helpText={file ? `${file.name}, ${formatBytes(file.size)}` : 'Drag and drop the zip here, or choose it.'}
                isInvalid={shown('file') && errors.file !== undefined}
                error={shown('file') ? errors.file : undefined}
              >
                <EuiFilePicker
                  name="file"
                  accept=".zip,application/zip"
                  display="large"
                  initialPromptText="Select or drag and drop a zip file"
                  onChange={(files) => {
                    setFile(files?.[0] ?? null);
                    setTouched((known) => new Set(known).add('file'));
                  }}
                  disabled={busy}
                />
              </EuiFormRow>
            </div>
          )}
          <EuiSpacer size="l" />
          {stage.kind === 'copying' && (
            <EuiCallOut title="The server is copying the file" iconType="download" data-test-subj="copyingCallout">
              <EuiFlexGroup gutterSize="s" alignItems="center" responsive={false}>
                <EuiFlexItem grow={false}>
                  <EuiLoadingSpinner size="m" />
                </EuiFlexItem>
                <EuiFlexItem>
                  <EuiText size="s">
                    <p>extrepo is downloading {fields.download_url} and validating it; this page continues when it is done.</p>
                  </EuiText>
                </EuiFlexItem>
              </EuiFlexGroup>
            </EuiCallOut>
          )}
          {stage.kind === 'uploading' && (
            <UploadProgressBar
              fileName={file?.name}
              progress={stage.progress}
              finishing={stage.progress.total > 0 && stage.progress.loaded >= stage.progress.total}
              onCancel={() => upload.current?.cancel()}
            />
          )}
          {cancelled !== null && (
            <EuiCallOut title="The upload did not complete" color="warning" iconType="warning" role="alert" data-test-subj="uploadIncomplete">
              <p>
                {failure ?? 'The upload was cancelled; nothing of the file was stored.'} The extension {cancelled.name} exists without a file: upload
                one from{' '}
                <EuiLink
                  href={`/extensions/${cancelled.id}`}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(`/extensions/${cancelled.id}`);
                  }}
                >
                  its page
                </EuiLink>
                , or delete it.
              </p>
              <EuiButton size="s" color="warning" iconType="trash" isLoading={discarding} onClick={() => void discard(cancelled)}>
                Delete {cancelled.name}
              </EuiButton>
            </EuiCallOut>
          )}
          {discarded !== null && (
            <EuiCallOut
              title={`${discarded} was deleted.`}
              color="success"
              iconType="check"
              role="status"
              size="s"
              data-test-subj="emptyExtensionDeleted"
            />
          )}
          {failure !== null && cancelled === null && (
            <EuiCallOut title="The extension was not created" color="danger" iconType="error" role="alert">
              <p>{failure}</p>
            </EuiCallOut>
          )}
          <EuiSpacer size="l" />
          <EuiFlexGroup gutterSize="s" responsive={false}>
            <EuiFlexItem grow={false}>
              <EuiButton type="submit" fill isLoading={busy} isDisabled={busy}>
                Create
              </EuiButton>
            </EuiFlexItem>
            <EuiFlexItem grow={false}>
              <EuiButtonEmpty onClick={() => navigate('/extensions')} isDisabled={busy}>
                Cancel
              </EuiButtonEmpty>
            </EuiFlexItem>
          </EuiFlexGroup>
        </EuiForm>
      </EuiPageTemplate.Section>
    </EuiPageTemplate>
  );
}
