// How the server's JSON log lines look (pino options shared by the app and the process-level lines
// written before the app exists, see process-warnings.ts).
export const LOG_OPTIONS = {
  // ISO-8601 rather than pino's epoch milliseconds: readable as is, and sorted the same.
  timestamp: (): string => `,"time":"${new Date().toISOString()}"`,
  redact: ['req.headers.authorization', 'req.headers.cookie'],
  hooks: {
    // Fastify writes its own "Server listening at …" line on listen(); main.ts writes one line with
    // the address and the stores in use, so Fastify's would say the same thing twice.
    logMethod(this: unknown, args: unknown[], method: (...args: unknown[]) => void, level: number): void {
      if (level === 30 && typeof args[0] === 'string' && args[0].startsWith('Server listening at ')) return;
      method.apply(this, args);
    },
  },
};

/** One JSON log line in the server's format, for the few written outside the app's logger. */
export function jsonLogLine(level: number, msg: string, fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ level, time: new Date().toISOString(), pid: process.pid, ...fields, msg })}\n`;
}
