// An in-process mutex per key: callers for the same key run one after another, callers for
// different keys run concurrently. Used where a single process owns the data (SQLite, local disk)
// and, in front of PostgreSQL advisory locks, to keep same-key waiters from each holding a
// connection. An entry lives in the map only while someone holds or waits for its key.

export class KeyedMutex {
  /** Per key, a promise that settles when the last queued holder has released. */
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The new tail settles once both the previous holders and this one are done.
    const tail = previous ? previous.then(() => mine) : mine;
    this.tails.set(key, tail);
    try {
      if (previous) await previous;
      return await fn();
    } finally {
      release();
      // Only the last holder in the queue removes the entry, so the map never leaks.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Number of keys held or waited for (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
