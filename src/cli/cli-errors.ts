// The errors a command ends with, each mapped to an exit code by main.ts:
//   1  the server refused (its code and message are printed), a local check failed (with the
//      server's wording), a transfer failed verification, or the server could not be reached
//   2  the command line was wrong (unknown option, missing argument, a confirmation that cannot be
//      asked because stdin is not a terminal)
//   130 interrupted (Ctrl-C); whatever the transfer had written is removed first

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** A failure to report as `extrepo: <code>: <message>` (code omitted when there is none). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly code: string | null = null,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, null, EXIT_USAGE);
  }
}

/** The server answered with an error: a BasicFailedReply, whose first code and message we show. */
export class ApiFailure extends CliError {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly fields: string[] = [],
  ) {
    super(fields.length > 0 ? `${message} (${fields.join(', ')})` : message, code);
  }
}

/** The transfer was stopped by Ctrl-C (or SIGTERM). */
export class InterruptedError extends CliError {
  override name = 'InterruptedError';
  constructor() {
    super('interrupted; nothing partial was left behind', null, EXIT_INTERRUPTED);
  }
}
