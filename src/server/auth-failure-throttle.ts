/**
 * Counts failed authentications per client address in fixed one-minute windows. An address past the
 * limit is answered 429 until its window ends. Memory is bounded: at most `maxAddresses` are tracked,
 * the oldest forgotten first.
 */
export class AuthFailureThrottle {
  readonly #windows = new Map<string, { count: number; resetAtMs: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    readonly maxAddresses = 10_000,
    readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address may try again, or 0 when it is not throttled. */
  retryAfterSeconds(address: string): number {
    const w = this.#windows.get(address);
    if (!w) return 0;
    const left = w.resetAtMs - this.now();
    if (left <= 0) {
      this.#windows.delete(address);
      return 0;
    }
    return w.count >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  recordFailure(address: string): void {
    const now = this.now();
    const w = this.#windows.get(address);
    if (w && w.resetAtMs > now) {
      w.count += 1;
      return;
    }
    this.#windows.delete(address);
    if (this.#windows.size >= this.maxAddresses) this.#evict(now);
    this.#windows.set(address, { count: 1, resetAtMs: now + this.windowMs });
  }

  #evict(now: number): void {
    for (const [address, w] of this.#windows) if (w.resetAtMs <= now) this.#windows.delete(address);
    for (const address of this.#windows.keys()) {
      if (this.#windows.size < this.maxAddresses) break;
      this.#windows.delete(address);
    }
  }
}
