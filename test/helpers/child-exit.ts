// When a child process is over for a test: exited, and its output read to the end. Node emits 'exit'
// as soon as the process has gone, possibly before the last of its stdout and stderr has been read
// (seen on a quiet CI machine: a test read the error line of a failed start as missing). 'close'
// comes once the pipes are drained, but a grandchild that inherited them (npm start's node) can hold
// them open after its parent has gone: the wait for 'close' is bounded.
import type { ChildProcess } from 'node:child_process';

const DRAIN_MS = 2000;

/** Resolves with the exit code, or the signal's name, once the process has exited and its pipes closed (or 2 s later). */
export function childDone(child: ChildProcess): Promise<number | string | null> {
  const closed = new Promise<void>((resolve) => {
    if (child.stdout === null && child.stderr === null) resolve();
    child.once('close', () => resolve());
  });
  const exited = new Promise<number | string | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode);
    else child.once('exit', (code, signal) => resolve(code ?? signal));
  });
  return exited.then(
    (result) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(result), DRAIN_MS);
        void closed.then(() => {
          clearTimeout(timer);
          resolve(result);
        });
      }),
  );
}
