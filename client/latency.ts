// Which nodes to ask first: an exponentially weighted moving average (EWMA)
// of each node's answer time, kept for the life of a QuorumClient. Nodes
// never measured come first (so every node gets measured once, and a node
// back from an outage is tried again), then the fastest; ties are broken at
// random so that many players do not all load the same t nodes.
// Not secret and not security-relevant: a lying node gains nothing by being
// asked first, since every share is checked against its commitment.

/** Weight of the newest sample: 0.3 follows a node that slowed down within a few requests. */
export const LATENCY_EWMA_ALPHA = 0.3;
/**
 * Per recover a node is not measured, its estimate counts this much less when
 * ranking: a node left out (slow once, or unlucky on a cold connection) is
 * tried again after a few dozen recovers, so the ranking never freezes.
 */
export const LATENCY_AGING = 0.97;
/**
 * A node cancelled after `ms` (the others answered first) takes longer than
 * that; it is scored as if it took this many times as long, so it ranks
 * behind the nodes that answered instead of level with the slowest of them.
 */
export const CANCELLED_PENALTY = 2;

export class LatencyTracker {
  readonly #estimates = new Map<number, number>();
  /** The `order` call count when each node was last measured. */
  readonly #measuredAt = new Map<number, number>();
  #orders = 0;
  readonly #alpha: number;

  constructor(alpha = LATENCY_EWMA_ALPHA) {
    this.#alpha = alpha;
  }

  /** The node answered (or failed) after `ms`. */
  observe(index: number, ms: number): void {
    const previous = this.#estimates.get(index);
    this.#estimates.set(
      index,
      previous === undefined ? ms : previous + this.#alpha * (ms - previous),
    );
    this.#measuredAt.set(index, this.#orders);
  }

  /** The node was cancelled after `ms`: it takes longer than that (CANCELLED_PENALTY). */
  observeCancelled(index: number, ms: number): void {
    const sample = ms * CANCELLED_PENALTY;
    const previous = this.#estimates.get(index);
    if (previous === undefined || sample > previous) this.observe(index, sample);
    else this.#measuredAt.set(index, this.#orders);
  }

  /** The current estimate in ms, or undefined for a node never measured. */
  estimate(index: number): number | undefined {
    return this.#estimates.get(index);
  }

  /**
   * `indexes` in the order to ask them: unmeasured first, then by estimate
   * (aged by LATENCY_AGING per call since it was measured) ascending; equal
   * ones in random order (`random` gives uniformly random bytes).
   */
  order(indexes: readonly number[], random: (length: number) => Uint8Array): number[] {
    this.#orders += 1;
    const out = [...indexes];
    const bytes = random(4 * out.length);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = out.length - 1; i > 0; i--) {
      const j = view.getUint32(4 * i) % (i + 1);
      const a = out[i];
      const b = out[j];
      if (a !== undefined && b !== undefined) {
        out[i] = b;
        out[j] = a;
      }
    }
    const rank = (index: number): number => {
      const estimate = this.#estimates.get(index);
      if (estimate === undefined) return -1;
      const age = this.#orders - (this.#measuredAt.get(index) ?? this.#orders);
      return estimate * LATENCY_AGING ** age;
    };
    return out.sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * One LatencyTracker per node set, by set id: a node's index names another
 * peer in another set, so estimates never carry across sets by index.
 */
export class LatencyBySet {
  readonly #trackers = new Map<string, LatencyTracker>();

  /** The tracker of the set with `id` (hex), made on first use. */
  of(idHex: string): LatencyTracker {
    let tracker = this.#trackers.get(idHex);
    if (tracker === undefined) {
      tracker = new LatencyTracker();
      this.#trackers.set(idHex, tracker);
    }
    return tracker;
  }
}
