// Process warnings (process.emitWarning: deprecations, the AWS SDK's NodeVersionSupportWarning…) as
// one JSON log line each. Node's default handler prints them to stderr as loose, multi-line text,
// which breaks a log pipeline that reads one JSON object per line.
import type { FastifyBaseLogger } from 'fastify';
import { jsonLogLine } from './log-options.js';

export interface ProcessWarningRoute {
  /** From now on, write warnings through the app's logger. */
  useLogger(log: FastifyBaseLogger): void;
}

/** Replaces Node's warning printer; until useLogger(), lines go to stdout like pino's. */
export function routeProcessWarnings(): ProcessWarningRoute {
  let logger: FastifyBaseLogger | null = null;
  // Node prints warnings from a 'warning' listener of its own; without it nothing is printed.
  process.removeAllListeners('warning');
  // `node --no-warnings` (or NODE_NO_WARNINGS=1) asked for none at all: keep it that way.
  const silenced = process.execArgv.includes('--no-warnings') || process.env.NODE_NO_WARNINGS === '1';
  process.on('warning', (warning: Error & { code?: string }) => {
    if (silenced) return;
    const fields = { warning: { name: warning.name, code: warning.code, message: warning.message } };
    if (logger !== null) logger.warn(fields, 'process warning');
    else process.stdout.write(jsonLogLine(40, 'process warning', fields));
  });
  return {
    useLogger(log) {
      logger = log;
    },
  };
}
