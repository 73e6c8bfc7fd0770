// Admission control (DESIGN.md): a bounded number of requests in flight, with
// an immediate BUSY when full, and token-bucket rates per peer and per wallet.
// Everything here is synchronous and O(1) so that refusing costs the node
// almost nothing.

/** A fixed number of slots; acquire() answers at once. */
export class InflightLimiter {
  readonly #max: number;
  #inflight = 0;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1)
      throw new RangeError('InflightLimiter: max must be a positive integer');
    this.#max = max;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** A release function, or undefined when every slot is taken (answer BUSY). */
  tryAcquire(): (() => void) | undefined {
    if (this.#inflight >= this.#max) return undefined;
    this.#inflight++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.#inflight--;
      }
    };
  }
}

export interface RateLimit {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Bucket size: the burst allowed after idling. */
  readonly burst: number;
}

/**
 * Token buckets keyed by a string (a PeerId, a wallet fingerprint). The number
 * of buckets is bounded: the least recently used bucket is dropped when full,
 * which only ever forgives a key, never blocks one wrongly.
 */
export class TokenBuckets {
  readonly #limit: RateLimit;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(limit: RateLimit, options: { maxKeys: number; clock: () => number }) {
    if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1))
      throw new RangeError('TokenBuckets: rate > 0 and burst >= 1');
    this.#limit = limit;
    this.#maxKeys = options.maxKeys;
    this.#clock = options.clock;
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.#clock();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#limit.burst, at: now };
    this.#buckets.delete(key); // re-insert below: Map order is our LRU order
    bucket.tokens = Math.min(
      this.#limit.burst,
      // A wall clock stepped back must not drain the bucket (issue 13, item 5): no refill, no debt.
      bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.#limit.ratePerSecond,
    );
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done !== true) this.#buckets.delete(oldest.value);
    }
    return allowed;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
