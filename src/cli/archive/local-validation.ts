// The server's archive rules, run on this side before a byte is sent: the project's own streaming
// validator (src/archive/) with the limits of a server that has no archive settings
// (src/archive/default-limits.ts; a server configured tighter still has the last word), and the
// server's wording, so a bad plugin is refused here exactly as the server would refuse it, and
// nothing is created.
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveRejectedError, createArchiveValidator, type ArchiveExpectations, type ArchiveReport } from '../../archive/index.js';
import { DEFAULT_ARCHIVE_LIMITS } from '../../archive/default-limits.js';
import { ERRORS } from '../../errors.js';
import { CliError } from '../cli-errors.js';

/** The server's error for a rejected archive (extension-service.ts), code and message alike. */
export const ARCHIVE_REJECTED_CODE = ERRORS.requestExecutionFailed.code;

export function archiveRejection(error: ArchiveRejectedError, extensionType: string): CliError {
  return new CliError(`The file is not a valid ${extensionType}: ${error.message}`, ARCHIVE_REJECTED_CODE);
}

/**
 * Streams `source` through the validator; `observe` sees every chunk (to count and hash in the same
 * pass). Resolves to the validator's report, or rejects with the server's message.
 */
export async function validateArchive(
  source: Readable,
  expect: ArchiveExpectations,
  options: { observe?: (chunk: Buffer) => void; signal?: AbortSignal } = {},
): Promise<ArchiveReport> {
  const validator = createArchiveValidator({
    limits: DEFAULT_ARCHIVE_LIMITS,
    expect,
    ...(options.observe ? { observe: options.observe } : {}),
  });
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  try {
    await pipeline(source, validator, sink, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    if (error instanceof ArchiveRejectedError) throw archiveRejection(error, expect.extensionType);
    throw error;
  }
  if (validator.report === null) throw new Error('archive validator finished without a report');
  return validator.report;
}
