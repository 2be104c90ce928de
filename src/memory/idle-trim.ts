// Gives back the memory a burst of transfers leaves behind, once the server is idle again.
//
// Every socket read of an upload or a download is a new 64 KiB buffer in malloc's heap, freed only
// when V8 next collects the object that holds it; once freed, glibc keeps the space for reuse and
// returns only the top of its heap to the kernel. After 2 GiB of transfers a server measured 140 MB
// resident against 103 MB fresh, and stayed there (docs/benchmarks.md, "Session 9"). A full
// collection followed by malloc_trim(0) brought it to 88 MB. Both run only when no transfer has been
// in flight for `idleMs`, once per burst: the collection pauses the process for tens of milliseconds,
// which a metadata GET may see, but a transfer never does.
import type { FullGc } from './full-gc.js';
import type { MallocTrim } from './native-trim.js';

export interface IdleTrimReport {
  rssBefore: number;
  rssAfter: number;
  gcMs: number;
  /** Whether malloc_trim released memory; null when the addon is not available. */
  released: boolean | null;
}

export interface IdleTrimOptions {
  idleMs: number;
  collect: FullGc;
  trim: MallocTrim | null;
  onTrimmed(report: IdleTrimReport): void;
  rss?: () => number;
}

export class IdleMemoryTrim {
  private inFlight = 0;
  /** A transfer (or the start-up) has left garbage behind since the last trim. */
  private workSinceTrim = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: IdleTrimOptions) {}

  /** A transfer starts; the returned function ends it (calling it again does nothing). */
  begin(): () => void {
    this.inFlight += 1;
    this.workSinceTrim = true;
    this.cancel();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      if (this.inFlight === 0) this.arm();
    };
  }

  /**
   * Start-up is a burst of its own: compiling the routes' schemas leaves garbage and a grown heap
   * behind (a fresh server measured 102 MB, and 98 MB after one trim). Trims once, idleMs from now, unless
   * a transfer comes first.
   */
  afterStart(): void {
    this.workSinceTrim = true;
    if (this.inFlight === 0 && this.timer === null) this.arm();
  }

  /** Collects and trims now if a transfer has ended since the last time and none is in flight. */
  runNow(): IdleTrimReport | null {
    this.cancel();
    if (this.closed || this.inFlight > 0 || !this.workSinceTrim) return null;
    this.workSinceTrim = false;
    const rss = this.options.rss ?? (() => process.memoryUsage.rss());
    const rssBefore = rss();
    const started = performance.now();
    this.options.collect();
    const gcMs = performance.now() - started;
    const released = this.options.trim === null ? null : this.options.trim();
    const report = { rssBefore, rssAfter: rss(), gcMs, released };
    this.options.onTrimmed(report);
    return report;
  }

  close(): void {
    this.closed = true;
    this.cancel();
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.runNow(), this.options.idleMs);
    this.timer.unref();
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
