// Edit an extension's metadata (POST /deployments/extensions/{id}): name, version, description and
// download_url; the type cannot change. A new download_url makes the server copy the file again.
import {
  EuiButton,
  EuiButtonEmpty,
  EuiCallOut,
  EuiFlexGroup,
  EuiFlexItem,
  EuiForm,
  EuiLoadingSpinner,
  EuiPageTemplate,
  EuiSpacer,
} from '@elastic/eui';
import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { ApiFailure } from '../api/client';
import type { ExtensionView } from '../api/types';
import { NotFoundPage } from '../layout/not-found-page';
import { useSession } from '../session/session';
import { ExtensionFieldsForm } from './extension-form';
import { checkFields, placeServerError, type ExtensionFields, type FieldErrors } from './rules';

export function ExtensionEditPage() {
  const { id = '' } = useParams();
  const { api } = useSession();
  const navigate = useNavigate();
  const [original, setOriginal] = useState<ExtensionView | null>(null);
  const [missing, setMissing] = useState(false);
  const [fields, setFields] = useState<ExtensionFields | null>(null);
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    api
      .getExtension(id)
      .then((extension) => {
        setOriginal(extension);
        setFields({
          name: extension.name,
          version: extension.version,
          extension_type: extension.extension_type,
          description: extension.description ?? '',
          download_url: extension.download_url ?? '',
        });
      })
      .catch((error: unknown) => {
        if (error instanceof ApiFailure && error.status === 404) setMissing(true);
        else setFailure(error instanceof Error ? error.message : String(error));
      });
  }, [api, id]);

  if (missing) return <NotFoundPage />;
  if (fields === null || original === null) return failure ? <EuiCallOut color="danger" title={failure} /> : <EuiLoadingSpinner size="xl" />;

  const errors: FieldErrors = { ...checkFields(fields, 'update'), ...serverErrors };

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (fields === null || Object.keys(checkFields(fields, 'update')).length > 0) return;
    setSaving(true);
    setFailure(null);
    try {
      await api.updateExtension(id, {
        name: fields.name,
        version: fields.version,
        extension_type: fields.extension_type,
        ...(fields.description ? { description: fields.description } : {}),
        ...(fields.download_url ? { download_url: fields.download_url } : {}),
      });
      navigate(`/extensions/${id}`);
    } catch (error) {
      setSaving(false);
      if (error instanceof ApiFailure) {
        const placed = placeServerError(error.fields, error.message);
        if (placed.field !== null) setServerErrors({ [placed.field]: placed.message });
        else setFailure(error.message);
      } else setFailure(String(error));
    }
  }

  return (
    <EuiPageTemplate panelled={false}>
      <EuiPageTemplate.Header pageTitle={`Edit ${original.name}`} />
      <EuiPageTemplate.Section>
        <EuiForm component="form" onSubmit={submit} style={{ maxWidth: 640 }}>
          <ExtensionFieldsForm
            fields={fields}
            errors={errors}
            shown={() => true}
            onChange={(next, changed) => {
              setFields(next);
              setServerErrors(({ [changed]: _dropped, ...rest }) => rest);
            }}
            kind="update"
            withDownloadUrl
          />
          {failure !== null && (
            <>
              <EuiSpacer size="m" />
              <EuiCallOut title="The changes were not saved" color="danger" iconType="error" role="alert">
                <p>{failure}</p>
              </EuiCallOut>
            </>
          )}
          <EuiSpacer size="l" />
          <EuiFlexGroup gutterSize="s" responsive={false}>
            <EuiFlexItem grow={false}>
              <EuiButton type="submit" fill isLoading={saving}>
                Save
              </EuiButton>
            </EuiFlexItem>
            <EuiFlexItem grow={false}>
              <EuiButtonEmpty onClick={() => navigate(`/extensions/${id}`)}>Cancel</EuiButtonEmpty>
            </EuiFlexItem>
          </EuiFlexGroup>
        </EuiForm>
      </EuiPageTemplate.Section>
    </EuiPageTemplate>
  );
}
