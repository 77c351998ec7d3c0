import { keyGenerationThreads } from "./key-generation-threads.js";
import { generateRsaKeyPair, type RsaKeyPair } from "./rsa-key-pair.js";

/** KeyPairSource hands out fresh key pairs, each to exactly one taker. */
export interface KeyPairSource {
  take(count: number): Promise<RsaKeyPair[]>;
  close(): void;
}

export interface KeyPairPoolOptions {
  /** How many pairs to keep ready. 0 generates every pair on demand. */
  size: number;
  /** How many background generations may run at once; keep it below the core count. */
  concurrency: number;
  generate?: () => Promise<RsaKeyPair>;
  /** Releases what `generate` holds, when the pool closes. */
  release?: () => void;
}

/**
 * createKeyPairPool is the pool the service runs with: `size` pairs kept
 * ready, refilled one at a time on low-priority key-generation threads.
 */
export function createKeyPairPool(size: number): KeyPairPool {
  const threads = keyGenerationThreads();
  return new KeyPairPool({
    size,
    concurrency: 1,
    generate: threads.generate,
    release: () => void threads.close(),
  });
}

/**
 * KeyPairPool keeps RSA key pairs generated ahead of demand, so a register or
 * renew of a few providers pays no prime search on its own path. A pair is
 * removed from the pool when taken and never handed out twice; the pool lives
 * in memory only and is refilled in the background.
 */
export class KeyPairPool implements KeyPairSource {
  private readonly ready: RsaKeyPair[] = [];
  private readonly generate: () => Promise<RsaKeyPair>;
  private running = 0;
  private closed = false;
  // After a failed background generation the pool waits for the next take
  // before trying again, instead of spinning on a fault that may persist.
  private stalled = false;

  constructor(private readonly options: KeyPairPoolOptions) {
    this.generate = options.generate ?? generateRsaKeyPair;
    this.refill();
  }

  /** take returns `count` fresh pairs: pooled ones first, the rest generated now. */
  async take(count: number): Promise<RsaKeyPair[]> {
    const pooled = this.ready.splice(0, count);
    const missing = count - pooled.length;
    const generated = await Promise.all(Array.from({ length: missing }, () => this.generate()));

    this.stalled = false;
    this.refill();
    return [...pooled, ...generated];
  }

  /** readyCount is how many pairs wait in the pool. */
  get readyCount(): number {
    return this.ready.length;
  }

  /** close stops refilling; pairs in the pool are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ready.length = 0;
    this.options.release?.();
  }

  private refill(): void {
    while (
      !this.closed &&
      !this.stalled &&
      this.running < this.options.concurrency &&
      this.ready.length + this.running < this.options.size
    ) {
      this.running += 1;
      this.generate()
        .then((pair) => {
          if (!this.closed) this.ready.push(pair);
        })
        .catch(() => {
          // Only leaves the pool short: a take generates on demand and
          // reports its own failure to its caller.
          this.stalled = true;
        })
        .finally(() => {
          this.running -= 1;
          this.refill();
        });
    }
  }
}
