// The node's policy options as one ChainSettings per configured chain.
import type { PolicyOptions } from '../options.ts';
import type { ChainSettings } from './chain.ts';

/** Cold reads in flight per chain before a recover that needs one is refused at once. */
export const MAX_COLD_READS = 64;
/** A cached read unused for 10 minutes stops being kept fresh. */
export const IDLE_MS = 10 * 60_000;

export function chainSettings(options: PolicyOptions): ChainSettings[] {
  const urls = new Map<number, string[]>();
  for (const { chainId, url } of options.evmRpc)
    urls.set(chainId, [...(urls.get(chainId) ?? []), url]);
  const chains = [...urls].sort(([a], [b]) => a - b);
  return chains.map(([chainId, list]) => ({
    chainId,
    urls: list,
    quorum: options.evmQuorum,
    freshnessMs: options.freshnessMs,
    pollMs: options.pollMs,
    deadlineMs: options.rpcDeadlineMs,
    maxBlockAgeMs: options.maxBlockAgeMs,
    confirmations: options.confirmations,
    maxEntries: Math.max(1, Math.floor(options.maxCachedReads / chains.length)),
    idleMs: IDLE_MS,
    maxColdReads: MAX_COLD_READS,
  }));
}
