// The extrepo CLI against curl doing the same transfer to the same server, side by side in one run:
//   push: `extrepo push FILE` (a process of its own: start-up, the local validation pass, create,
//         upload) vs `curl -T FILE` to an extension created beforehand (upload only);
//   pull: `extrepo pull ID -o FILE` (metadata GET, download, size + sha256 check) vs `curl -o FILE`
//         of the signed link.
// Both sides are whole processes timed from spawn to exit, so the CLI's extra work is counted.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { sidesInOrder, type BenchContext } from '../context.js';
import { makeVariant } from '../data.js';
import { pairedRow, type Row } from '../report.js';
import { mibPerSecond } from '../stats.js';
import { sizeLabel } from './upload.js';

const CLI = path.resolve('dist/cli/main.js');

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, stdout });
    });
  });
}

/**
 * `run`, for a timed transfer: it starts with no dirty pages left by the one before (`sync`, off the
 * clock). A 1 GiB file still being written back throttles the next writer, which swung single runs
 * by ±20 % on this machine.
 */
async function runSettled(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; stdout: string }> {
  await run('sync', [], env);
  return run(command, args, env);
}

export async function runCliTransfers(ctx: BenchContext): Promise<Row[]> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the cli case`);
  const { extrepo } = ctx;
  // The data file is rewritten in place into variants by other cases: take one of our own.
  const data = await makeVariant(ctx.data, 77_777_777);
  const home = await mkdtemp(path.join(ctx.workDir, 'cli-home-'));
  const env = { ...process.env, HOME: home, EXTREPO_URL: extrepo.server.baseUrl, EXTREPO_API_KEY: extrepo.apiKey, NO_COLOR: '1' };
  const api = `${extrepo.server.baseUrl}/api/v1/deployments/extensions`;
  const auth = `Authorization: ${extrepo.authHeader}`;
  const target = ctx.state.downloadExtension;
  if (!target) throw new Error('the download target was not prepared');
  const out = path.join(home, 'pulled.zip');
  const push = { extrepo: [] as number[], baseline: [] as number[] };
  const pull = { extrepo: [] as number[], baseline: [] as number[] };
  const pushFile = (name: string) => runSettled(process.execPath, [CLI, '--quiet', 'push', data.path, '--name', name, '--json'], env);
  const curlUpload = (id: string) =>
    runSettled('curl', ['-sS', '--fail', '-o', '/dev/null', '-T', data.path, '-H', auth, '-H', 'Expect:', `${api}/${id}`], env);
  try {
    // One untimed round of each upload first. In two runs of this case the first timed push, whichever
    // side went first, was the slowest by far (172 and 183 MiB/s, against 273-304 and 287-369 after it).
    const warm = await pushFile('bench-cli-warm-up');
    await extrepo.delete((JSON.parse(warm.stdout) as { id: string }).id);
    const warmTarget = await extrepo.create('bench-curl-warm-up');
    await curlUpload(warmTarget.id);
    await extrepo.delete(warmTarget.id);
    for (let runIndex = 0; runIndex < ctx.options.runs; runIndex++) {
      for (const side of sidesInOrder(runIndex)) {
        extrepo.server.assertRunning();
        if (side === 'extrepo') {
          const result = await pushFile(`bench-cli-${runIndex}`);
          const pushed = JSON.parse(result.stdout) as { id: string; file_metadata?: { sha256?: string } };
          if (pushed.file_metadata?.sha256 !== data.sha256) {
            throw new Error(`extrepo push stored sha256 ${pushed.file_metadata?.sha256}, the file's is ${data.sha256}`);
          }
          push.extrepo.push(mibPerSecond(data.size, result.seconds));
          await extrepo.delete(pushed.id);
          const pulled = await runSettled(process.execPath, [CLI, '--quiet', 'pull', target.id, '-o', out], env);
          pull.extrepo.push(mibPerSecond(data.size, pulled.seconds));
        } else {
          const created = await extrepo.create(`bench-curl-${runIndex}`);
          const result = await curlUpload(created.id);
          push.baseline.push(mibPerSecond(data.size, result.seconds));
          await extrepo.delete(created.id);
          const meta = await run('curl', ['-sS', '--fail', '-H', auth, `${api}/${target.id}`], env);
          const url = (JSON.parse(meta.stdout) as { file_metadata: { url: string } }).file_metadata.url;
          const pulled = await runSettled('curl', ['-sS', '--fail', '-o', out, url], env);
          pull.baseline.push(mibPerSecond(data.size, pulled.seconds));
        }
        await rm(out, { force: true });
      }
      ctx.log(
        `cli run ${runIndex + 1}/${ctx.options.runs}: push ${push.extrepo.at(-1)?.toFixed(0)} vs curl ${push.baseline.at(-1)?.toFixed(0)} MiB/s, ` +
          `pull ${pull.extrepo.at(-1)?.toFixed(0)} vs curl ${pull.baseline.at(-1)?.toFixed(0)} MiB/s`,
      );
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  const row = (id: string, label: string, samples: typeof push, note: string) =>
    pairedRow({ id, group: 'cli', label, unit: 'MiB/s', baselineLabel: 'curl, same server', target: '≥ 0.9× baseline', notes: [note] }, samples, 0.9);
  return [
    row(
      'cli-push',
      `extrepo push ${sizeLabel(data.size)} zip`,
      push,
      'whole processes: the CLI also starts Node, validates the zip locally and creates the extension',
    ),
    row('cli-pull', `extrepo pull ${sizeLabel(data.size)} -o FILE`, pull, 'whole processes: the CLI also GETs the metadata and checks size + sha256'),
  ];
}
