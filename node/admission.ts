// Admission control (DESIGN.md): a bounded number of requests in flight, with
// an immediate BUSY when full, and token-bucket rates per source address
// block, per peer and per wallet. Everything here is synchronous and O(1) so
// that refusing costs the node almost nothing. `Admission` wraps each
// client-facing handler (the daemon's `admit`), before any work.
import { BoundedMap, ErrorCode, QkmsError, toHex } from '../protocol/internal.ts';
import type { NodeMetrics } from './metrics.ts';
import type { RequestContext, RequestHandler } from './network/index.ts';
import type { AdmissionOptions } from './options.ts';

/** Token buckets remembered at once per kind (sources, peers, wallets). */
export const RATE_BUCKETS = 100_000;

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
  readonly #clock: () => number;
  /** Least recently used bucket dropped first. */
  readonly #buckets: BoundedMap<string, { tokens: number; at: number }>;

  constructor(limit: RateLimit, options: { maxKeys: number; clock: () => number }) {
    if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1))
      throw new RangeError('TokenBuckets: rate > 0 and burst >= 1');
    this.#limit = limit;
    this.#buckets = new BoundedMap(options.maxKeys);
    this.#clock = options.clock;
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.#clock();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#limit.burst, at: now };
    bucket.tokens = Math.min(
      this.#limit.burst,
      // A wall clock stepped back must not drain the bucket (issue 13, item 5): no refill, no debt.
      bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.#limit.ratePerSecond,
    );
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    return allowed;
  }

  get size(): number {
    return this.#buckets.size;
  }
}

/** An operator's rate option (node/options.ts) as a bucket's limit. */
export function tokenRate(rate: AdmissionOptions['perPeerRate']): RateLimit {
  return { ratePerSecond: rate.perSecond, burst: rate.burst };
}

export interface AdmissionDeps {
  readonly metrics: Pick<NodeMetrics, 'inflight'>;
  /** Wall clock in ms (token buckets refill by it). */
  readonly clock: () => number;
  /** PeerIds of the node set: exempt from the per-source rate, which they would share. */
  readonly nodeSetPeers: ReadonlySet<string>;
}

/**
 * The admission wrapper of every client-facing handler: the source address
 * block's rate (node-set peers exempt), the peer's rate, then a slot in
 * flight — RATE_LIMITED or BUSY at once, before any work — and the wallet
 * rate the recover and publish services take once they know the wallet.
 */
export class Admission {
  readonly #deps: AdmissionDeps;
  readonly #inflight: InflightLimiter;
  readonly #sources: TokenBuckets;
  readonly #peers: TokenBuckets;
  readonly #wallets: TokenBuckets;

  constructor(options: AdmissionOptions, deps: AdmissionDeps) {
    this.#deps = deps;
    const buckets = (rate: AdmissionOptions['perPeerRate']): TokenBuckets =>
      new TokenBuckets(tokenRate(rate), { maxKeys: RATE_BUCKETS, clock: deps.clock });
    this.#inflight = new InflightLimiter(options.maxInflight);
    // Keyed by source address block: fresh PeerIds from one address share it.
    this.#sources = buckets(options.perIpRate);
    this.#peers = buckets(options.perPeerRate);
    this.#wallets = buckets(options.perWalletRate);
  }

  /** `handler` behind the source, peer and in-flight limits. */
  admit(handler: RequestHandler): RequestHandler {
    return async (request: Uint8Array, ctx: RequestContext): Promise<Uint8Array> => {
      if (!this.#deps.nodeSetPeers.has(ctx.remotePeer) && !this.#sources.take(ctx.remoteBlock))
        throw new QkmsError(ErrorCode.RATE_LIMITED, 'source address rate exceeded');
      if (!this.#peers.take(ctx.remotePeer))
        throw new QkmsError(ErrorCode.RATE_LIMITED, 'peer rate exceeded');
      const release = this.#inflight.tryAcquire();
      if (release === undefined) throw new QkmsError(ErrorCode.BUSY, 'in-flight queue full');
      const { inflight } = this.#deps.metrics;
      inflight.inc();
      try {
        return await handler(request, ctx);
      } finally {
        inflight.dec();
        release();
      }
    };
  }

  /** Takes one token of `wallet`'s rate; false when it is spent (the services answer RATE_LIMITED). */
  takeWallet(wallet: Uint8Array): boolean {
    return this.#wallets.take(toHex(wallet));
  }
}
