// When an attempt at a node is overdue (DESIGN.md, "Recover, as the client
// sees it"; issue 13): from then on the node no longer holds one of the t +
// hedge places of a recover, and the next node not yet asked is asked in its
// stead. The overdue node is not cancelled (it may still answer), and its own
// retry comes after that replacement. "Overdue" is relative to what the node
// usually takes (latency.ts), so a node known to be slow is not given up on
// early, and a silent node among fast ones is replaced within a fraction of
// the call's deadline instead of holding its place for an attempt and a retry.

/**
 * An attempt is overdue after this many times its node's latency estimate. The
 * estimate is an average (EWMA); measured healthy answers stay within about
 * 2.5x it at p99 (docs/benchmarks.md: p50 9.5 ms, p99 23.8 ms), so 4x rarely
 * asks an extra node for an answer that was merely late.
 */
export const OVERDUE_FACTOR = 4;

/**
 * ...but never before this: a node measured at a few ms on a warm loopback
 * connection may need a new dial (TCP, Noise, Yamux) or meet a GC pause, and
 * every extra node asked is another request for the quorum to serve.
 */
export const OVERDUE_FLOOR_MS = 250;

/**
 * ...and never after this share of the attempt's own deadline (which is half
 * the call's): a silent node is replaced well before its attempt times out and
 * is retried, leaving the replacement at least three quarters of the call. A
 * node never measured (no estimate yet, a cold client) is overdue here.
 */
export const OVERDUE_BOUND_OF_ATTEMPT = 0.5;

/** Milliseconds after an attempt starts at which it is overdue, given its node's estimate. */
export function overdueAfterMs(estimateMs: number | undefined, attemptTimeoutMs: number): number {
  const bound = attemptTimeoutMs * OVERDUE_BOUND_OF_ATTEMPT;
  if (estimateMs === undefined || !Number.isFinite(estimateMs)) return bound;
  return Math.min(bound, Math.max(OVERDUE_FLOOR_MS, OVERDUE_FACTOR * estimateMs));
}

/**
 * Delayed hedging (issue 18): the `hedge` nodes beyond t are asked only once
 * the t asked first have taken this many times the slowest one's estimate.
 * A healthy recover then costs the quorum t requests, not t + hedge (a
 * quarter less node work at t = 3), and a recover held up by one node still
 * gets its extra node within a few of its usual answer times. Measured
 * answers stay within about 2.5x the estimate at p99, so at 2x a few per
 * cent of healthy recovers ask the extra node.
 */
export const HEDGE_FACTOR = 2;

/** ...but not sooner than this: below it, a timer costs more than it saves. */
export const HEDGE_FLOOR_MS = 2;

/**
 * Milliseconds after the first t nodes are asked at which the hedge nodes are
 * asked too: 0 (at once) when any of them was never measured, since then
 * nothing says how long it takes (a cold client, a node back from an outage).
 */
export function hedgeAfterMs(estimatesMs: readonly (number | undefined)[]): number {
  let slowest = 0;
  for (const estimate of estimatesMs) {
    if (estimate === undefined || !Number.isFinite(estimate)) return 0;
    slowest = Math.max(slowest, estimate);
  }
  return Math.max(HEDGE_FLOOR_MS, HEDGE_FACTOR * slowest);
}
