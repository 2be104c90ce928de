// The long chaos run: two extrepo instances over a throwaway PostgreSQL + s3rver, mixed load from
// several clients, one instance killed with SIGKILL every few seconds; then the ledger check of
// test/helpers/chaos.ts (answered writes present, answered deletes gone, links match their sha256,
// no 5xx, no orphan after garbage collection). The suite runs a short version (test/chaos.test.ts).
//
//   node --import tsx bench/chaos.ts [--kills 30] [--every 10] [--clients 8]
//
// Exits 1 if any promise was broken, after printing the report as JSON.
import { parseArgs } from 'node:util';
import { runChaos } from '../test/helpers/chaos.js';
import { ADMIN_KEY, freshSharedStorage } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '30' },
    every: { type: 'string', default: '10' },
    clients: { type: 'string', default: '8' },
  },
});
const whole = (name: string, raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a whole number ≥ 1, got "${raw}"`);
  return value;
};
const kills = whole('kills', values.kills);
const everySeconds = whole('every', values.every);
const clients = whole('clients', values.clients);

const started = Date.now();
const log = (message: string) => process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(0)} s] ${message}\n`);
log(`${kills} kills, one every ${everySeconds} s, ${clients} clients; starting PostgreSQL and s3rver`);
const storage = await freshSharedStorage();
try {
  const report = await runChaos({
    env: { ...storage.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY },
    adminKey: ADMIN_KEY,
    kills,
    killEveryMs: everySeconds * 1000,
    clients,
    log,
  });
  process.stdout.write(`${JSON.stringify({ ...report, seconds: Math.round((Date.now() - started) / 1000) }, null, 2)}\n`);
  log(report.failures.length === 0 ? 'held up: no answered write lost, no 5xx, no orphan' : `${report.failures.length} broken promises`);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
} finally {
  await storage.release();
}
