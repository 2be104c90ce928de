#!/usr/bin/env node
// extrepo's command line (the `extrepo` bin). Runs as compiled JavaScript (dist/cli/main.js): no
// TypeScript loader at start-up, and command modules are imported only when their command runs.
import { readFileSync } from 'node:fs';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, CliError, InterruptedError } from './cli-errors.js';
import { createFactory } from './factory.js';
import { systemIOStreams } from './io-streams.js';

function packageVersion(): string {
  // dist/cli/main.js and src/cli/main.ts both sit two levels below package.json.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const io = systemIOStreams();
  // The fast path: `extrepo --version` loads nothing else.
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }

  // Ctrl-C (or SIGTERM) stops a transfer cleanly: the signal aborts it, the command removes what
  // it wrote (and an extension it created), then we exit with 130. A second Ctrl-C exits at once.
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort(new InterruptedError());
  };
  const serverSide = ['serve', 'migrate', 'gc'].includes(argv.find((arg) => !arg.startsWith('-')) ?? '');
  if (!serverSide) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const { CommanderError } = await import('commander');
  const { buildProgram } = await import('./program.js');
  const program = buildProgram((globals) => {
    io.quiet = globals.quiet === true;
    return createFactory(io, globals.profile, controller.signal);
  });
  program.configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help ends with a CommanderError too; everything else is a usage error.
      return ['commander.helpDisplayed', 'commander.help'].includes(error.code) ? 0 : EXIT_USAGE;
    }
    return report(io, error, controller.signal);
  }
}

function report(io: ReturnType<typeof systemIOStreams>, error: unknown, signal: AbortSignal): number {
  if (signal.aborted || error instanceof InterruptedError || (error as Error | null)?.name === 'AbortError') {
    io.err('extrepo: interrupted; nothing partial was left behind\n');
    return EXIT_INTERRUPTED;
  }
  if (error instanceof CliError) {
    io.err(`extrepo: ${error.code ? `${error.code}: ` : ''}${error.message}\n`);
    if (error.exitCode === EXIT_USAGE) io.err('(run with --help for usage and examples)\n');
    return error.exitCode;
  }
  const errno = error as NodeJS.ErrnoException;
  if (errno?.code && errno.syscall) {
    io.err(`extrepo: ${errno.message}\n`);
    return EXIT_FAILURE;
  }
  io.err(`extrepo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT_FAILURE;
}

main(process.argv.slice(2)).then(
  (code) => {
    // `serve` keeps running: the server owns the process and exits on its own.
    if (process.argv[2] === 'serve') return;
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`extrepo: ${String(error)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
