// Safety rules every archive must follow, whatever it contains: entry names that stay inside the
// extraction root, no symlinks or encryption, and limits on entry count and inflated size.

import type { ArchiveLimits } from './types.js';
import { ArchiveRejectedError, quote } from './errors.js';

/**
 * Rejects names that could write outside the directory the archive is extracted into, or that
 * different extractors would interpret differently (backslashes are separators on Windows only).
 */
export function checkEntryName(name: string): void {
  const reject = (why: string): never => {
    throw new ArchiveRejectedError(
      'zip_slip',
      `Entry ${quote(name)} ${why} (zip slip): entries must be relative paths without ".." segments. ` +
        'Re-create the archive from inside the plugin directory.',
      name,
    );
  };
  if (name.length === 0) {
    throw new ArchiveRejectedError('corrupt', 'The archive has an entry with an empty name; re-create the archive.', name);
  }
  if (name.includes('\0')) reject('contains a NUL character and would be truncated by extractors');
  if (name.includes('\\')) reject('contains a backslash, which is a path separator on Windows and can escape the archive root');
  if (name.startsWith('/')) reject('is an absolute path and escapes the archive root');
  if (/^[A-Za-z]:/.test(name)) reject('starts with a drive letter and escapes the archive root');
  if (name.split('/').includes('..')) reject('escapes the archive root');
}

export function rejectSymlink(name: string): never {
  throw new ArchiveRejectedError(
    'symlink',
    `Entry ${quote(name)} is a symbolic link; links are not allowed because they can point outside the ` +
      'extension directory. Replace the link with the file it points to and re-create the archive.',
    name,
  );
}

export function rejectEncrypted(name: string): never {
  throw new ArchiveRejectedError(
    'encrypted',
    `Entry ${quote(name)} is encrypted; encrypted archives cannot be installed. Re-create the archive without a password.`,
    name,
  );
}

export function rejectUnsupportedMethod(name: string, method: number): never {
  const known: Record<number, string> = { 1: 'Shrink', 6: 'Implode', 9: 'Deflate64', 12: 'BZIP2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ', 99: 'AES' };
  const label = known[method] ? ` (${known[method]})` : '';
  throw new ArchiveRejectedError(
    'unsupported',
    `Entry ${quote(name)} uses compression method ${method}${label}; only stored (0) and deflate (8) are supported. ` +
      'Re-create the archive with a standard zip tool using default compression.',
    name,
  );
}

const MiB = 1024 * 1024;

function formatBytes(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} bytes`;
}

/**
 * Tracks the archive-wide limits. Sizes are judged on the bytes actually produced while inflating;
 * the sizes headers declare are only used to fail earlier, never to pass.
 */
export class LimitTracker {
  entries = 0;
  uncompressedBytes = 0;

  constructor(private readonly limits: ArchiveLimits) {}

  countEntry(name: string): void {
    this.entries++;
    if (this.entries > this.limits.maxEntries) {
      throw new ArchiveRejectedError(
        'too_many_entries',
        `The archive has more than ${this.limits.maxEntries} entries (entry ${quote(name)} is number ${this.entries}). ` +
          'Reduce the number of files in the extension.',
        name,
      );
    }
  }

  /** Adds bytes an entry produced (stored bytes, or bytes inflated so far). */
  addUncompressed(name: string, bytes: number): void {
    this.uncompressedBytes += bytes;
    if (this.uncompressedBytes > this.limits.maxUncompressedBytes) this.rejectTotal(name);
  }

  /**
   * Checks an entry's ratio so far: `inflated` bytes produced from `compressed` bytes consumed.
   * Only judged once the entry produced more than ratioMinBytes, so that small, highly
   * compressible files (e.g. text full of spaces) are never rejected.
   */
  checkRatio(name: string, inflated: number, compressed: number): void {
    if (inflated > this.limits.ratioMinBytes && inflated > this.limits.maxRatio * compressed) {
      this.rejectRatio(name, inflated, compressed, 'inflates');
    }
  }

  /** Fails early on what a header declares (a lie is caught later by the actual byte counts). */
  checkDeclared(name: string, uncompressed: number, compressed: number): void {
    if (this.uncompressedBytes + uncompressed > this.limits.maxUncompressedBytes) this.rejectTotal(name);
    if (uncompressed > this.limits.ratioMinBytes && uncompressed > this.limits.maxRatio * compressed) {
      this.rejectRatio(name, uncompressed, compressed, 'declares that it inflates');
    }
  }

  private rejectTotal(name: string): never {
    throw new ArchiveRejectedError(
      'too_large_uncompressed',
      `The archive inflates to more than ${formatBytes(this.limits.maxUncompressedBytes)} in total (limit reached at entry ${quote(name)}). ` +
        'Reduce the size of the extension.',
      name,
    );
  }

  private rejectRatio(name: string, inflated: number, compressed: number, verb: string): never {
    const ratio = compressed === 0 ? 'an unbounded' : `a ${Math.floor(inflated / compressed)}:1`;
    throw new ArchiveRejectedError(
      'compression_ratio',
      `Entry ${quote(name)} ${verb} from ${formatBytes(compressed)} to more than ${formatBytes(inflated)}, ` +
        `${ratio} compression ratio (the limit is ${this.limits.maxRatio}:1); this looks like a zip bomb. ` +
        'Store such files uncompressed or reduce their size.',
      name,
    );
  }
}
