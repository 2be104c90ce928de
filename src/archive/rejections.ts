// The messages the zip parser rejects an archive with, in one place: each says what is wrong, where
// (entry name, byte offset) and what to do, because a person reads them in an API error.
import { ArchiveRejectedError, quote } from './errors.js';
import { SIG_ARCHIVE_EXTRA_DATA, SIG_DIGITAL_SIGNATURE, SIG_LOCAL_FILE } from './zip-format.js';

/** Where in the archive's record sequence the parser is; decides which signatures may come next. */
export type Phase = 'start' | 'entries' | 'central' | 'after-zip64-eocd' | 'after-locator' | 'end';

export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

export function corrupt(message: string, entry?: string): ArchiveRejectedError {
  return new ArchiveRejectedError('corrupt', message, entry);
}

export function notAZip(): ArchiveRejectedError {
  return new ArchiveRejectedError(
    'not_a_zip',
    'The file is not a zip archive (it does not start with a zip local file header). ' +
      'Upload the plugin or bundle as a .zip file; self-extracting or prefixed archives are not accepted.',
  );
}

export function emptyUpload(): ArchiveRejectedError {
  return new ArchiveRejectedError('not_a_zip', 'The upload is empty; expected a zip archive.');
}

export function multiDisk(): ArchiveRejectedError {
  return new ArchiveRejectedError(
    'unsupported',
    'The archive is split across several files (a multi-volume or spanned zip), which is not supported. Re-create it as a single zip file.',
  );
}

export function dataAfterEnd(position: number): ArchiveRejectedError {
  return corrupt(
    `The archive has unexpected data after its end-of-central-directory record (at byte ${position}). ` +
      'Upload the zip file exactly as the zip tool wrote it.',
  );
}

export function unexpectedSignature(sig: number, phase: Phase, recordStart: number, entryName: string | undefined): ArchiveRejectedError {
  if (phase === 'start') return notAZip();
  if (sig === SIG_DIGITAL_SIGNATURE || sig === SIG_ARCHIVE_EXTRA_DATA) {
    return new ArchiveRejectedError(
      'unsupported',
      'The archive uses a zip digital signature or central-directory encryption, which is not supported. Re-create it with a standard zip tool.',
    );
  }
  const where = phase === 'entries' ? `after entry ${quote(entryName ?? '')}` : 'in the central directory area';
  const expected =
    phase === 'after-zip64-eocd'
      ? ' (expected the zip64 end-of-central-directory locator)'
      : phase === 'after-locator'
        ? ' (expected the end-of-central-directory record)'
        : sig === SIG_LOCAL_FILE
          ? ' (a local file header after the central directory started)'
          : '';
  return corrupt(
    `The archive is corrupt: unexpected data ${hex32(sig)} at byte ${recordStart} ${where}${expected}. ` +
      'Re-create the archive with a standard zip tool.',
    phase === 'entries' ? entryName : undefined,
  );
}

/** The input ended early: `inside` names the record or entry it ended in, if any. */
export function truncated(total: number, inside: { what: string; entry?: string } | null): ArchiveRejectedError {
  return corrupt(
    `The archive ends unexpectedly after ${total} bytes${inside ? ` inside ${inside.what}` : ''}, before its end-of-central-directory record: ` +
      'the file is truncated (an incomplete upload or copy) or not a zip archive. Upload the complete zip file.',
    inside?.entry,
  );
}

export function storedDescriptorNotFound(name: string): ArchiveRejectedError {
  return new ArchiveRejectedError(
    'unsupported',
    `Entry ${quote(name)} is stored (uncompressed) with a trailing data descriptor, and no descriptor matching its data was found, ` +
      'so its end cannot be located in a single pass. Re-create the archive with a standard zip tool (for example `zip -r`), or compress the entry.',
    name,
  );
}
