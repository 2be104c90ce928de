// Questions on the terminal: a password without echo, a yes/no confirmation. When stdin is not a
// terminal a password is read as the first line of stdin (`printf '%s\n' "$PW" | extrepo login …`);
// a confirmation cannot be asked and the caller must refuse (see rm's --yes).
import { createInterface } from 'node:readline';
import { CliError } from './cli-errors.js';
import type { IOStreams } from './io-streams.js';

/** The first line of a non-terminal stdin. */
async function readLine(io: IOStreams): Promise<string> {
  const lines = createInterface({ input: io.stdin, terminal: false });
  try {
    for await (const line of lines) return line;
  } finally {
    lines.close();
  }
  throw new CliError('no password on stdin (pipe it in as the first line, or run on a terminal)');
}

export async function askPassword(io: IOStreams, question: string): Promise<string> {
  if (!io.stdinIsTTY || !io.stdin.setRawMode) return readLine(io);
  io.err(question);
  const stdin = io.stdin;
  stdin.setRawMode!(true);
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const finish = (action: () => void) => {
      stdin.setRawMode!(false);
      stdin.pause();
      stdin.off('data', onData);
      io.err('\n');
      action();
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(() => resolve(answer));
        if (char === '\u0003') return finish(() => reject(new CliError('cancelled', null, 130)));
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on('data', onData);
  });
}

export async function confirm(io: IOStreams, question: string): Promise<boolean> {
  const lines = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  try {
    const answer = await new Promise<string>((resolve) => lines.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    lines.close();
  }
}
