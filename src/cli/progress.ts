// Progress of a transfer, on stderr: a bar with bytes, rate and time left on a terminal (cli-progress),
// one line per 10 % otherwise (logs and CI keep a readable record), nothing with --quiet.
import { Transform, type TransformCallback } from 'node:stream';
import type { IOStreams } from './io-streams.js';

export interface Progress {
  /** Bytes moved so far (absolute). */
  update(bytes: number): void;
  /** The transfer finished (the last line or a full bar). */
  done(): void;
  /** The transfer stopped early: clear the bar, print nothing more. */
  stop(): void;
}

const NO_PROGRESS: Progress = { update() {}, done() {}, stop() {} };

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `label` names the transfer ("upload synonyms.zip"); total is the size in bytes. */
export async function startProgress(io: IOStreams, label: string, total: number): Promise<Progress> {
  if (io.quiet) return NO_PROGRESS;
  const started = Date.now();
  const rate = (bytes: number) => {
    const seconds = (Date.now() - started) / 1000;
    return seconds > 0 ? bytes / seconds : 0;
  };
  if (!io.stderrIsTTY) return lineProgress(io, label, total, rate);
  // Loaded only on a terminal: --version and scripted runs never pay for it.
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
      etaBuffer: 50,
      format: (options, params) => {
        const width = options.barsize ?? 30;
        const filled = Math.round(params.progress * width);
        const bytes = params.value;
        const perSecond = rate(bytes);
        const left = perSecond > 0 ? (params.total - bytes) / perSecond : Number.POSITIVE_INFINITY;
        return (
          `${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${String(Math.floor(params.progress * 100)).padStart(3)}% ` +
          `${formatBytes(bytes)}/${formatBytes(params.total)} ${formatBytes(perSecond)}/s ${formatDuration(left)} left`
        );
      },
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let last = 0;
  return {
    update(bytes) {
      last = bytes;
      bar.update(bytes);
    },
    done() {
      bar.update(Math.max(last, total));
      bar.stop();
    },
    stop() {
      bar.stop();
    },
  };
}

function lineProgress(io: IOStreams, label: string, total: number, rate: (bytes: number) => number): Progress {
  let nextTenth = 1;
  let finished = false;
  const line = (percent: number, bytes: number) => io.err(`${label}: ${percent}% (${bytes} of ${total} bytes, ${formatBytes(rate(bytes))}/s)\n`);
  return {
    update(bytes) {
      if (total <= 0) return;
      // One line for the highest tenth this update reached (a big chunk may cross several).
      let reached = 0;
      while (nextTenth < 10 && bytes * 10 >= total * nextTenth) reached = nextTenth++;
      if (reached > 0) line(reached * 10, bytes);
    },
    done() {
      if (finished) return;
      finished = true;
      line(100, total);
    },
    stop() {
      finished = true;
    },
  };
}

/** A pass-through stage that reports the bytes that went through it. */
export function progressMeter(progress: Progress, onChunk?: (chunk: Buffer) => void): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      bytes += chunk.length;
      onChunk?.(chunk);
      progress.update(bytes);
      callback(null, chunk);
    },
  });
}
