// How big the replay guard (replay-guard.ts) is, from the node set's
// parameters and the operator's rate limits: the guard as a whole, and the
// share of it one wallet or one source may hold, so no single wallet or host
// can fill it and lock everyone else out with BUSY (decision 0006).

/**
 * Recoveries a second one node is sized to remember: about five times what a
 * node's fsyncs and seals sustain on two cores (~400/s), so an honest peak
 * never meets the bound.
 */
export const REPLAY_SIZING_RECOVERS_PER_SECOND = 2_000;
/** ~160 bytes of heap per pair (measured on Node 24): 4e6 pairs is ~640 MB, the most a node set's parameters can ask for. */
export const MAX_REPLAY_ENTRIES = 4_000_000;
/** Fewest pairs any guard holds, whatever the parameters. */
export const MIN_REPLAY_ENTRIES = 10_000;
/** One wallet holds at most 1/256 of the guard: filling it takes 256 wallets that each recover at their full rate. */
export const REPLAY_WALLET_SHARE = 256;
/** One source holds at most 1/64 of the guard: filling it takes 64 hosts (or /64 blocks). */
export const REPLAY_SOURCE_SHARE = 64;
/** What the default parameters (2 min grant age, 30 s skew) give: 180 s x 2,000/s. */
export const DEFAULT_MAX_REPLAY_ENTRIES = 360_000;

export interface ReplayGuardLimits {
  readonly maxEntries: number;
  readonly maxPerWallet: number;
  readonly maxPerSource: number;
}

/** A token bucket's refill and size (node/admission.ts RateLimit). */
interface Rate {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/**
 * The guard's size from the node set's parameters: a pair lives from its
 * reservation until issuedAt + maxGrantAge + maxClockSkew, and issuedAt may be
 * up to maxClockSkew ahead of now, so at most maxGrantAge + 2 x maxClockSkew;
 * the guard holds that many seconds of REPLAY_SIZING_RECOVERS_PER_SECOND.
 * A partition's share is 1/256 (wallet) or 1/64 (source) of it, but never
 * less than what the operator's rate limit for that partition admits over a
 * pair's lifetime (burst + rate x lifetime): the guard never refuses what the
 * rates let through, and an operator who raises a rate raises the share.
 */
export function replayGuardLimits(
  params: { readonly maxGrantAgeMs: number; readonly maxClockSkewMs: number },
  rates: { readonly perWallet: Rate; readonly perSource: Rate },
): ReplayGuardLimits {
  const lifetimeMs = params.maxGrantAgeMs + 2 * params.maxClockSkewMs;
  const maxEntries = Math.min(
    MAX_REPLAY_ENTRIES,
    Math.max(
      MIN_REPLAY_ENTRIES,
      Math.ceil((lifetimeMs / 1000) * REPLAY_SIZING_RECOVERS_PER_SECOND),
    ),
  );
  const admitted = (rate: Rate): number =>
    Math.ceil(rate.burst + (rate.ratePerSecond * lifetimeMs) / 1000);
  const share = (divisor: number, rate: Rate): number =>
    Math.min(maxEntries, Math.max(Math.ceil(maxEntries / divisor), admitted(rate)));
  return {
    maxEntries,
    maxPerWallet: share(REPLAY_WALLET_SHARE, rates.perWallet),
    maxPerSource: share(REPLAY_SOURCE_SHARE, rates.perSource),
  };
}
