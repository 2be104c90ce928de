// The fields of an extension, for create and edit: each says what it accepts, is checked as it is
// typed, and shows the server's refusal when the server names it.
import { EuiFieldText, EuiFormRow, EuiSelect, EuiTextArea } from '@elastic/eui';
import type { ExtensionType } from '../api/types';
import { LIMITS, VERSION_HELP, type ExtensionFields, type FieldErrors } from './rules';

interface Props {
  fields: ExtensionFields;
  errors: FieldErrors;
  /** Fields touched so far: errors show only once a field has been edited or a submit was tried. */
  shown: (field: keyof ExtensionFields) => boolean;
  onChange: (fields: ExtensionFields, changed: keyof ExtensionFields) => void;
  kind: 'create' | 'update';
  /** Whether to show the download_url field (create shows it only when copying from a URL). */
  withDownloadUrl: boolean;
}

export function ExtensionFieldsForm({ fields, errors, shown, onChange, kind, withDownloadUrl }: Props) {
  const set = (name: keyof ExtensionFields, value: string) => onChange({ ...fields, [name]: value }, name);
  const errorOf = (name: keyof ExtensionFields) => (shown(name) ? errors[name] : undefined);
  return (
    <>
      <EuiFormRow
        label="Name"
        helpText={kind === 'create' ? 'ASCII letters, digits, "_", "." and "-"; at most 255 characters.' : undefined}
        isInvalid={errorOf('name') !== undefined}
        error={errorOf('name')}
      >
        <EuiFieldText name="name" value={fields.name} isInvalid={errorOf('name') !== undefined} onChange={(e) => set('name', e.target.value)} />
      </EuiFormRow>
      <EuiFormRow
        label="Type"
        helpText={
          kind === 'update'
            ? 'The type of an extension cannot be changed.'
            : 'A plugin is installed into Elasticsearch; a bundle is a set of files (synonyms, scripts, GeoIP databases).'
        }
      >
        <EuiSelect
          name="extension_type"
          value={fields.extension_type}
          disabled={kind === 'update'}
          onChange={(e) => set('extension_type', e.target.value as ExtensionType)}
          options={[
            { value: 'bundle', text: 'bundle' },
            { value: 'plugin', text: 'plugin' },
          ]}
        />
      </EuiFormRow>
      <EuiFormRow
        label="Version"
        helpText={VERSION_HELP[fields.extension_type]}
        isInvalid={errorOf('version') !== undefined}
        error={errorOf('version')}
      >
        <EuiFieldText
          name="version"
          value={fields.version}
          isInvalid={errorOf('version') !== undefined}
          onChange={(e) => set('version', e.target.value)}
        />
      </EuiFormRow>
      <EuiFormRow
        label="Description"
        labelAppend={<small>optional</small>}
        helpText={`${fields.description.length} / ${LIMITS.description} characters`}
        isInvalid={errorOf('description') !== undefined}
        error={errorOf('description')}
      >
        <EuiTextArea
          name="description"
          rows={3}
          value={fields.description}
          isInvalid={errorOf('description') !== undefined}
          onChange={(e) => set('description', e.target.value)}
        />
      </EuiFormRow>
      {withDownloadUrl && (
        <EuiFormRow
          label="Download URL"
          helpText={
            kind === 'create'
              ? 'The server copies the zip from this address (http or https; redirects are not followed).'
              : 'Optional: a new address makes the server copy the file again; leave it empty to keep the stored file.'
          }
          isInvalid={errorOf('download_url') !== undefined}
          error={errorOf('download_url')}
        >
          <EuiFieldText
            name="download_url"
            value={fields.download_url}
            placeholder="https://mirror.example.com/analysis-icu-8.12.2.zip"
            isInvalid={errorOf('download_url') !== undefined}
            onChange={(e) => set('download_url', e.target.value)}
          />
        </EuiFormRow>
      )}
    </>
  );
}
