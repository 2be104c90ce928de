// One V8 setting, applied at start-up however the server is launched (npm start, plain node, a
// container), because it decides how fast large uploads go.
//
// With the default, growth-rate-driven limit, V8 keeps a small heap like extrepo's (~20 MB live)
// only a few MB below its next full-GC limit. During a large upload, old-generation allocation is
// tiny but every 64 KiB socket read is a new ArrayBuffer; the heap kept restarting incremental
// marking and ran a full mark-compact every 30-50 ms (~37 per GiB), which cost more CPU than the
// SHA-256 of the bytes: 2.4-2.6 s of server CPU per GiB against 1.5-1.6 s with the limit at 4x the
// live heap, where it ran ~1 per GiB. (A plain node:http server escapes it only because its heap
// is under the 8 MB below which V8 never starts incremental marking.) 4x is V8's own ceiling for
// the factor; the cost is a heap that may grow to 4x its live size between full collections.
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 300;
const FLAG = 'heap-growing-percent';

/**
 * Fixes V8's heap growing factor unless the operator set it on the node command line (dashes or
 * underscores; Node does not accept this flag in NODE_OPTIONS). Returns the flag applied, or null.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): string | null {
  const given = execArgv.some((arg) => arg.replace(/_/g, '-').startsWith(`--${FLAG}`));
  if (given) return null;
  const flag = `--${FLAG}=${HEAP_GROWING_PERCENT}`;
  v8.setFlagsFromString(flag);
  return flag;
}

// The young generation, which a long-running server needs set on the node command line (V8 sizes it
// when the process starts; setting the flag later has no effect). A fresh server's young generation
// has grown to 16 MB per semi-space during start-up, so a metadata GET's short-lived garbage is
// collected about every 16 MB. Large uploads and downloads allocate little JavaScript garbage and a
// lot of external (Buffer) memory, and V8 then shrinks the young generation to its 1 MB floor; with
// short-lived garbage only, it does not grow back. After 2 GiB of transfers the server scavenged 20x
// as often per request as when it was fresh (--trace-gc: 62 scavenges against 3 in the same load;
// docs/benchmarks.md, "Aged server"). An 8 MB floor brings that back to a scavenge every few thousand
// requests, at about 8 MB of resident memory (16 MB would cost 18 MB: the idle target is under 100 MB).
export const YOUNG_GENERATION_MB = 8;
export const YOUNG_GENERATION_FLAG = `--min-semi-space-size=${YOUNG_GENERATION_MB}`;

/** Whether the node command line sets the young generation's floor (ours or the operator's own). */
export function youngGenerationPinned(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((arg) => arg.replace(/_/g, '-').startsWith('--min-semi-space-size'));
}
