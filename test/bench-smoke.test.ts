// Runs the benchmark itself with tiny sizes (--smoke) and checks that it finishes cleanly and reports
// every case. No timing assertions: this guards the harness, not the server's speed.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES } from '../bench/context.js';
import type { Report } from '../bench/report.js';

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the benchmark runs end to end with tiny sizes and reports every case', { timeout: 600_000 }, async () => {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-bench-smoke-'));
  const tempParent = await mkdtemp(path.join(os.tmpdir(), 'extrepo-bench-tmp-'));
  try {
    const { code, stdout, stderr } = await runBench(['--smoke', '--big', '--out', outDir, '--tmp', tempParent]);
    assert.equal(code, 0, `bench exited with ${code}\n${stderr.slice(-4000)}`);

    const files = (await readdir(outDir)).filter((name) => name.endsWith('.json'));
    assert.equal(files.length, 1, `expected one JSON result, found ${files.join(', ')}`);
    const report = JSON.parse(await readFile(path.join(outDir, files[0] ?? ''), 'utf8')) as Report;

    for (const name of CASES) assert.ok(report.groups.includes(name), `case ${name} missing from ${report.groups.join(', ')}`);
    for (const row of report.rows) {
      assert.ok(row.extrepo && row.extrepo.n > 0, `row ${row.id} has no extrepo measurement`);
      assert.ok(Number.isFinite(row.extrepo.median), `row ${row.id} median is not a number`);
    }
    assert.ok(report.limits.sha256MiBps && report.limits.writeFsyncMiBps, 'machine limits missing');
    assert.match(stdout, /\| case \| extrepo median/);

    // Everything the bench created in its temp dir is gone, and no server it started is still running.
    assert.deepEqual(await readdir(tempParent), []);
    const pids = [...stderr.matchAll(/\bpid (\d+)/g)].map((match) => Number(match[1]));
    assert.ok(pids.length >= 3, 'the bench should log the pids of the servers it starts');
    for (const pid of pids) assert.equal(isAlive(pid), false, `server pid ${pid} is still running`);
  } finally {
    await rm(outDir, { recursive: true, force: true });
    await rm(tempParent, { recursive: true, force: true });
  }
});
