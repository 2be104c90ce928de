// The one error type of the download module. Callers map `reason` to an API answer; the message is
// written for the person who supplied `download_url`, so it never contains URL credentials.

export type DownloadErrorReason =
  'invalid_url' | 'forbidden_address' | 'dns' | 'connect' | 'timeout' | 'http_status' | 'redirect' | 'too_large' | 'network';

export class DownloadError extends Error {
  readonly reason: DownloadErrorReason;

  constructor(reason: DownloadErrorReason, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DownloadError';
    this.reason = reason;
  }
}

/** Seconds for messages: 200 ms reads "0.2 s", 10 000 ms reads "10 s". */
export function formatSeconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
