// extrepo pull ID: downloads the file through its signed link (file_metadata.url), into a
// temporary file next to the target while counting and hashing it, and renames it into place only
// if size and sha256 are those the server recorded. On a mismatch (or Ctrl-C) what was written is
// deleted. --extract DIR then unpacks it safely (see archive/safe-extract.ts).
//
// The link's plain answer (http, 200, a Content-Length) is read into one reused buffer
// (plain-http-body.ts): at curl's speed, where Node's HTTP client took twice as long. Any other answer
// goes through the full client, which reports refusals in the server's words.
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, openSync, writeSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from '../../cli-errors.js';
import type { Factory } from '../../factory.js';
import { printJson } from '../../output.js';
import { formatBytes, startProgress, type Progress } from '../../progress.js';
import { readPlainHttpBody } from '../../plain-http-body.js';
import type { ApiClient } from '../../api-client.js';
import { extensionPath, type Extension } from './extension.js';

export interface PullOptions {
  output?: string;
  extract?: string;
  json?: boolean;
}

export async function runPull(id: string, options: PullOptions, f: Factory): Promise<void> {
  const client = await f.client();
  const extension = await client.json<Extension>('GET', extensionPath(id), undefined, f.signal);
  const file = extension.file_metadata;
  if (!file?.url || file.size === undefined) {
    throw new CliError(`extension ${id} has no file yet; upload one with \`extrepo push PATH --id ${id}\``);
  }
  const size = file.size;
  // Without -o, --extract downloads to a private temporary directory and unpacks from there.
  const tempDir = options.output === undefined && options.extract !== undefined ? await mkdtemp(path.join(os.tmpdir(), 'extrepo-pull-')) : null;
  const target = options.output ?? (tempDir ? path.join(tempDir, `${extension.name}.zip`) : `${extension.name}.zip`);
  const partial = `${target}.${process.pid}.partial`;
  const progress = await startProgress(f.io, `pull ${path.basename(target)}`, size);
  try {
    const transfer = { url: file.url, partial, size, progress, signal: f.signal };
    const { received, sha256 } = (await downloadPlain(client, transfer)) ?? (await downloadThroughClient(client, transfer));
    if (received !== size) throw mismatch(`${received} bytes arrived, ${size} expected`);
    if (file.sha256 !== undefined && sha256 !== file.sha256) throw mismatch(`sha256 is ${sha256}, the server recorded ${file.sha256}`);
    await rename(partial, target);
    progress.done();
    if (file.sha256 === undefined) f.io.err('warning: the server records no sha256 for this file; only its size was checked\n');

    let extracted: { files: number; bytes: number } | null = null;
    if (options.extract !== undefined) {
      // Loaded only here: the archive rules (yauzl, the server's validator and limits) cost a plain
      // pull about 70 ms of start-up for nothing.
      const { extractArchive } = await import('../../archive/safe-extract.js');
      extracted = await extractArchive(target, options.extract, { extensionType: extension.extension_type, version: extension.version }, f.signal);
    }
    if (options.json) {
      printJson(f.io, {
        id,
        ...(tempDir ? {} : { file: path.resolve(target) }),
        size,
        sha256,
        ...(extracted ? { extracted_to: path.resolve(options.extract!), files: extracted.files } : {}),
      });
    } else if (!f.io.quiet) {
      if (!tempDir) f.io.err(`Pulled ${extension.name} ${extension.version} to ${target} (${formatBytes(size)}, sha256 verified).\n`);
      if (extracted)
        f.io.err(`Extracted ${extracted.files} file${extracted.files === 1 ? '' : 's'} (${formatBytes(extracted.bytes)}) into ${options.extract}.\n`);
    }
  } catch (error) {
    progress.stop();
    await rm(partial, { force: true });
    throw error;
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}

interface Transfer {
  url: string;
  partial: string;
  size: number;
  progress: Progress;
  signal: AbortSignal;
}

interface Downloaded {
  received: number;
  sha256: string;
}

/** What both download paths check of the bytes as they come: the announced size, the count, the hash, the progress. */
function verifier(size: number, progress: Progress) {
  const hash = createHash('sha256');
  let received = 0;
  return {
    announced(length: number): void {
      if (length !== size) throw mismatch(`the server sends ${length} bytes, the extension's size is ${size}`);
    },
    /** Counts and hashes a piece; throws once more than the size has arrived. */
    take(piece: Buffer): void {
      received += piece.length;
      if (received > size) throw mismatch(`more than the ${size} bytes expected arrived`);
      hash.update(piece);
      progress.update(received);
    },
    result: (): Downloaded => ({ received, sha256: hash.digest('hex') }),
  };
}

/**
 * The signed link's plain answer read into one reused buffer (plain-http-body.ts), each piece hashed
 * and written before the next read; null when the answer is not plain (nothing was kept).
 */
async function downloadPlain(client: ApiClient, { url, partial, size, progress, signal }: Transfer): Promise<Downloaded | null> {
  const check = verifier(size, progress);
  const fd = openSync(partial, 'wx', 0o644);
  let outcome: 'done' | 'not-plain';
  try {
    outcome = await readPlainHttpBody(
      new URL(url),
      {
        onLength: check.announced,
        onBytes(view) {
          check.take(view);
          for (let written = 0; written < view.length;) written += writeSync(fd, view, written);
        },
      },
      { userAgent: client.userAgent, signal },
    );
  } finally {
    closeSync(fd);
  }
  if (outcome === 'done') return check.result();
  await rm(partial, { force: true });
  return null;
}

/** The same through the full HTTP client: any answer, errors in the server's words. */
async function downloadThroughClient(client: ApiClient, { url, partial, size, progress, signal }: Transfer): Promise<Downloaded> {
  const check = verifier(size, progress);
  const response = await client.openDownload(url, signal);
  const declared = response.headers['content-length'];
  if (declared !== undefined) {
    try {
      check.announced(Number(declared));
    } catch (error) {
      response.destroy();
      throw error;
    }
  }
  const meter = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        check.take(chunk);
      } catch (error) {
        return callback(error as Error);
      }
      callback(null, chunk);
    },
  });
  await pipeline(response, meter, createWriteStream(partial, { flags: 'wx', mode: 0o644, highWaterMark: 1024 * 1024 }), { signal });
  return check.result();
}

function mismatch(detail: string): CliError {
  return new CliError(`the download failed verification (${detail}); nothing was kept`);
}
