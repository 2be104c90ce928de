// The production entry point: `node dist/main.js` (what `npm start`, the Dockerfile and the systemd
// unit run). It starts the server (serve.ts) and turns the outcome into an exit code:
// 0 stopped on SIGTERM/SIGINT, 1 unexpected error, 2 invalid configuration, 3 something a setting
// names could not be used (port, data dir, TLS files, database, bucket). See docs/deployment.md.
import { serve } from './serve.js';
import { EXIT_CODES, StartupError } from './startup-errors.js';

try {
  const running = await serve();
  await running.stopped;
  process.exit(EXIT_CODES.stopped);
} catch (error) {
  if (error instanceof StartupError) {
    // One line that names the setting and what to do; a stack trace would only bury it.
    process.stderr.write(`extrepo: cannot start: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`extrepo: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(EXIT_CODES.unexpected);
}
