// Slows down password guessing. Failures are counted per user name and per client address; past a
// threshold each further failure doubles a waiting time, during which attempts are answered 429
// with Retry-After and no password is checked. The wait for a user name is capped low (a real user
// is delayed, never locked out for long), the wait for an address much higher (that is where an
// attacker sits). A success clears its user name's count; counts also fade after a quiet window.
// State is per process: with several instances behind a balancer the limits apply per instance.

export interface ThrottleOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  baseDelayMs: number;
  maxUserDelayMs: number;
  maxAddressDelayMs: number;
  /** A key with no failure for this long starts again from zero. */
  windowMs: number;
  /** Most keys remembered; beyond it the stalest are dropped. */
  maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  maxFailuresPerUser: 5,
  maxFailuresPerAddress: 20,
  baseDelayMs: 1000,
  maxUserDelayMs: 60_000,
  maxAddressDelayMs: 15 * 60_000,
  windowMs: 15 * 60_000,
  maxKeys: 100_000,
};

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds to wait before trying again, or 0 if an attempt may be made now. */
  retryAfterMs(userName: string, address: string): number {
    const now = this.now();
    const waits = [this.entry(`u:${userName.toLowerCase()}`), this.entry(`a:${address}`)].map((entry) =>
      entry === undefined ? 0 : Math.max(0, entry.blockedUntil - now),
    );
    return Math.max(...waits);
  }

  failed(userName: string, address: string): void {
    const o = this.options;
    this.bump(`u:${userName.toLowerCase()}`, o.maxFailuresPerUser, o.maxUserDelayMs);
    this.bump(`a:${address}`, o.maxFailuresPerAddress, o.maxAddressDelayMs);
  }

  succeeded(userName: string): void {
    this.entries.delete(`u:${userName.toLowerCase()}`);
  }

  private entry(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && this.now() - entry.lastFailureAt > this.options.windowMs && entry.blockedUntil <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private bump(key: string, threshold: number, maxDelayMs: number): void {
    const now = this.now();
    const entry = this.entry(key) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0 };
    entry.failures += 1;
    entry.lastFailureAt = now;
    if (entry.failures >= threshold) {
      const delay = Math.min(maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(30, entry.failures - threshold));
      entry.blockedUntil = now + delay;
    }
    // Re-insert so the Map's order is least recently failed first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
