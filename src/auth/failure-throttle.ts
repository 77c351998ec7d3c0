/**
 * FailureThrottle slows down guessing of refresh and claim tokens: each
 * client address has a bucket of failed authentications that refills at a
 * steady rate, and an address with an empty bucket is refused before any
 * hashing or store work. Memory is bounded: past `maxAddresses` the address
 * seen longest ago is forgotten, which at worst gives it a fresh bucket.
 * Behind a proxy every caller shares the proxy's address, so size the burst
 * for that, or rely on the proxy's own limits.
 */
export class FailureThrottle {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();
  private readonly refillPerMs: number;

  constructor(private readonly options: ThrottleOptions) {
    this.refillPerMs = options.burst / (options.windowSeconds * 1000);
  }

  /** isBlocked tells whether `address` has used up its failures for now. */
  isBlocked(address: string, nowMs: number): boolean {
    if (this.options.burst === 0) return false;
    const bucket = this.buckets.get(address);
    return bucket !== undefined && this.level(bucket, nowMs) < 1;
  }

  /** recordFailure takes one failure from the address's bucket. */
  recordFailure(address: string, nowMs: number): void {
    if (this.options.burst === 0) return;

    const bucket = this.buckets.get(address);
    const tokens = bucket === undefined ? this.options.burst : this.level(bucket, nowMs);
    // Re-inserting moves the address to the young end of the map's order.
    this.buckets.delete(address);
    this.buckets.set(address, { tokens: Math.max(0, tokens - 1), updatedMs: nowMs });

    if (this.buckets.size > this.options.maxAddresses) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }

  /** trackedAddresses is how many addresses have a bucket, for tests of the bound. */
  get trackedAddresses(): number {
    return this.buckets.size;
  }

  private level(bucket: { tokens: number; updatedMs: number }, nowMs: number): number {
    const refilled = bucket.tokens + (nowMs - bucket.updatedMs) * this.refillPerMs;
    return Math.min(this.options.burst, refilled);
  }
}

export interface ThrottleOptions {
  /** Failures an address may make in a burst; 0 turns throttling off. */
  burst: number;
  /** Time in which an empty bucket fills up again. */
  windowSeconds: number;
  maxAddresses: number;
}
