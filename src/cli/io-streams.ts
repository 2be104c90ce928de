// The one place a command gets its input and output from (cli/cli's IOStreams): the streams, and
// what they are connected to. Commands never look at process.stdout themselves, so the same code
// prints a table on a terminal and exact JSON in a pipe, and the tests run it without a terminal.
import type { Readable, Writable } from 'node:stream';

export interface IOStreams {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdinIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
  /** Progress and prompts go to stderr: stdout carries only the result. */
  readonly stderrIsTTY: boolean;
  /** --quiet: no progress and no chatter on stderr (errors still print). */
  quiet: boolean;
  /** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
  readonly color: boolean;
  out(text: string): void;
  err(text: string): void;
}

export function systemIOStreams(): IOStreams {
  const stderrIsTTY = process.stderr.isTTY === true;
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY,
    quiet: false,
    color: stderrIsTTY && !process.env.NO_COLOR,
    out(text) {
      process.stdout.write(text);
    },
    err(text) {
      process.stderr.write(text);
    },
  };
}
