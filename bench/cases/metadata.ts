// GET /deployments/extensions/{id} under load (autocannon), against a bare Fastify route that returns
// the same JSON from memory, in its own process.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { request } from '../client.js';
import { profileArgs, sidesInOrder, type BenchContext } from '../context.js';
import { freePort, startServer, withCpu } from '../process.js';
import { cpuNote } from './upload.js';
import { pairedRow, type Row } from '../report.js';
import { summarize } from '../stats.js';

function load(url: string, headers: Record<string, string>, seconds: number, connections: number): PromiseLike<Result> {
  return autocannon({ url, headers, connections, duration: seconds, timeout: 10 });
}

function checkLoad(side: string, result: Result): void {
  if (result.errors > 0 || result.non2xx > 0 || result['2xx'] === 0) {
    throw new Error(
      `${side} metadata load: ${result.errors} errors, ${result.non2xx} non-2xx, statuses ${JSON.stringify(result.statusCodeStats)}`,
    );
  }
}

export async function runMetadataGets(ctx: BenchContext): Promise<Row[]> {
  const extension = ctx.state.downloadExtension;
  if (!extension) throw new Error('the download target was not prepared');
  const extrepoUrl = `${ctx.extrepo.api}/${encodeURIComponent(extension.id)}`;
  const auth = { authorization: ctx.extrepo.authHeader };

  // The bare route serves exactly what extrepo answers for this extension.
  const served = await request(extrepoUrl, { method: 'GET', headers: auth });
  const jsonFile = path.join(ctx.workDir, 'extension.json');
  await writeFile(jsonFile, served.body);
  const port = await freePort();
  const bare = await startServer({
    name: 'bare-fastify',
    args: [...profileArgs(ctx.options, 'bare-fastify'), '--import', 'tsx', 'bench/baselines.ts', 'metadata', '--port', String(port), '--json', jsonFile],
    port,
    echo: ctx.options.echo,
  });
  ctx.log(`metadata: bare Fastify route pid ${bare.pid} at ${bare.baseUrl}`);
  try {
    const urls = { extrepo: extrepoUrl, baseline: `${bare.baseUrl}/api/v1/deployments/extensions/${extension.id}` };
    const headers = { extrepo: auth, baseline: auth };
    const { loadSeconds, loadRuns, metadataConnections } = ctx.options;
    const rates = { extrepo: [] as number[], baseline: [] as number[] };
    const p99 = { extrepo: [] as number[], baseline: [] as number[] };
    const cpu = { extrepo: [] as number[], baseline: [] as number[] };
    const pids = { extrepo: ctx.extrepo.server.pid, baseline: bare.pid };
    for (const side of ['extrepo', 'baseline'] as const) {
      checkLoad(side, await load(urls[side], headers[side], 1, metadataConnections)); // warm-up
    }
    for (let run = 0; run < loadRuns; run++) {
      for (const side of sidesInOrder(run)) {
        ctx.extrepo.server.assertRunning();
        const { value: result, cpuSeconds } = await withCpu(pids[side], async () =>
          load(urls[side], headers[side], loadSeconds, metadataConnections),
        );
        cpu[side].push((cpuSeconds / result.requests.total) * 1e6);
        checkLoad(side, result);
        rates[side].push(result.requests.total / result.duration);
        p99[side].push(result.latency.p99);
      }
      ctx.log(
        `metadata run ${run + 1}/${loadRuns}: extrepo ${rates.extrepo.at(-1)?.toFixed(0)} req/s ` +
          `p99 ${p99.extrepo.at(-1)} ms, bare ${rates.baseline.at(-1)?.toFixed(0)} req/s p99 ${p99.baseline.at(-1)} ms`,
      );
    }
    const extrepoP99 = summarize(p99.extrepo);
    return [
      pairedRow(
        {
          id: 'metadata-get',
          group: 'metadata-get',
          label: `GET /deployments/extensions/{id}, ${metadataConnections} connections`,
          unit: 'req/s',
          baselineLabel: 'bare Fastify',
          target: '≥ 0.6× bare route',
          notes: [`response body ${served.body.length} bytes.`, cpuNote('µs per request', cpu.extrepo, cpu.baseline)],
        },
        rates,
        0.6,
      ),
      {
        id: 'metadata-get-p99',
        group: 'metadata-get',
        label: `GET /deployments/extensions/{id}, p99 latency`,
        unit: 'ms',
        extrepo: extrepoP99,
        baseline: summarize(p99.baseline),
        baselineLabel: 'bare Fastify',
        ratio: extrepoP99.median / summarize(p99.baseline).median,
        target: '< 20 ms',
        pass: extrepoP99.median < 20,
        notes: [],
      },
    ];
  } finally {
    await bare.stop();
  }
}
