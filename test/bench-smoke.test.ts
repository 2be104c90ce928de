// extrepo-test-backends: own
// Runs the benchmark itself with tiny sizes (--smoke) and checks that it finishes cleanly and reports
// every case. No timing assertions: this guards the harness, not the server's speed.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES } from '../bench/context.js';
import type { ComparisonReport, Report } from '../bench/report.js';
import { childDone } from './helpers/child-exit.js';

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
    void childDone(child).then((code) => resolve({ code: typeof code === 'number' ? code : null, stdout, stderr }));
  });
}

/** Command lines of every process, from /proc (the cluster's postmaster runs as another user, outside our groups). */
function processCommandLines(): string[] {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      lines.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // gone meanwhile
    }
  }
  return lines;
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

    // Downloads are reported against nginx too: a measured ratio where nginx is installed, else a row that says how to get it.
    for (const id of ['download-full-nginx', 'download-full-8', 'download-full-8-nginx', 'download-range-1-nginx', 'download-range-8-nginx']) {
      const row = report.rows.find((candidate) => candidate.id === id);
      assert.ok(row, `row ${id} missing`);
      if (row.baseline === null) assert.match(row.notes.join(' '), /apt-get install -y nginx/);
      else assert.ok(row.ratio !== null && Number.isFinite(row.ratio), `row ${id} has no ratio`);
    }

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

test('--backend both runs every case on local and on a throwaway PostgreSQL + s3rver, then cleans up', { timeout: 600_000 }, async () => {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-bench-smoke-'));
  const tempParent = await mkdtemp(path.join(os.tmpdir(), 'extrepo-bench-tmp-'));
  try {
    const { code, stdout, stderr } = await runBench(['--smoke', '--big', '--backend', 'both', '--out', outDir, '--tmp', tempParent]);
    assert.equal(code, 0, `bench exited with ${code}\n${stderr.slice(-4000)}`);

    const files = (await readdir(outDir)).filter((name) => name.endsWith('.json'));
    assert.equal(files.length, 1, `expected one JSON result, found ${files.join(', ')}`);
    const comparison = JSON.parse(await readFile(path.join(outDir, files[0] ?? ''), 'utf8')) as ComparisonReport;
    assert.equal(comparison.kind, 'comparison');
    assert.deepEqual(
      comparison.reports.map((report) => report.backend),
      ['local', 'postgres-s3'],
    );
    for (const report of comparison.reports) {
      for (const name of CASES) {
        assert.ok(report.groups.includes(name), `${report.backend}: case ${name} missing from ${report.groups.join(', ')}`);
      }
      for (const row of report.rows) {
        assert.ok(row.extrepo && row.extrepo.n > 0, `${report.backend}: row ${row.id} has no extrepo measurement`);
        assert.ok(Number.isFinite(row.extrepo.median), `${report.backend}: row ${row.id} median is not a number`);
      }
    }
    // The side-by-side summary: both backends, each with its ratio to its own same-run baseline.
    for (const id of ['upload-raw', 'upload-multipart', 'download-full', 'download-range', 'metadata-get']) {
      const row = comparison.summary.find((candidate) => candidate.id === id);
      assert.ok(row, `summary row ${id} missing`);
      assert.equal(row.cells.length, 2);
      for (const cell of row.cells) {
        assert.ok(cell && Number.isFinite(cell.median) && cell.median > 0, `summary ${id}: no figure`);
        assert.ok(cell.ratio !== null && Number.isFinite(cell.ratio), `summary ${id}: no ratio to the baseline`);
      }
    }
    assert.ok(comparison.limits.sha256MiBps && comparison.limits.writeFsyncMiBps, 'machine limits missing');
    assert.match(stdout, /## Backend: local\n/);
    assert.match(stdout, /## Backend: postgres-s3\n/);
    assert.match(stdout, /## Side by side: local vs postgres-s3/);
    assert.equal(stdout.match(/\| case \| extrepo median/g)?.length, 2, 'expected one table per backend');

    // Everything is gone: temp files (s3rver keeps its objects there), servers, the storage process
    // (s3rver), and the PostgreSQL cluster, whose postmaster was started with the port it logged.
    assert.deepEqual(await readdir(tempParent), []);
    const pids = [...stderr.matchAll(/\bpid (\d+)/g)].map((match) => Number(match[1]));
    assert.ok(pids.length >= 7, 'the bench should log the pids of the servers it starts');
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is still running`);
    const cluster = /PostgreSQL 15 cluster at 127\.0\.0\.1:(\d+)/.exec(stderr);
    assert.ok(cluster, 'the bench should log where the PostgreSQL cluster listens');
    const postmaster = new RegExp(`postgres .*-p ${cluster[1]}\\b`);
    assert.deepEqual(
      processCommandLines().filter((line) => postmaster.test(line)),
      [],
      'the PostgreSQL cluster is still running',
    );
  } finally {
    await rm(outDir, { recursive: true, force: true });
    await rm(tempParent, { recursive: true, force: true });
  }
});
