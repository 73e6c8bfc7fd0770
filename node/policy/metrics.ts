// The access-policy metrics (docs/operations.md, Metrics), in the node's
// registry: RPC health per endpoint (named by index, never by URL), the lag
// of the followed state in blocks and seconds, cache hits, evaluation time and
// refusals. Label values come from closed sets or configured chain ids.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ChainObserver } from './chain.ts';

export const POLICY_VERDICTS = ['granted', 'denied', 'unavailable', 'unsupported'] as const;
export type PolicyVerdictLabel = (typeof POLICY_VERDICTS)[number];

export interface PolicyMetrics extends ChainObserver {
  readonly lookups: Counter<'result'>;
  readonly evaluation: Histogram<'path' | 'verdict'>;
  readonly stateAge: Gauge<'chain'>;
  readonly lagBlocks: Gauge<'chain'>;
  readonly entries: Gauge<'chain'>;
  /** Called as the gauges are scraped, to set them from the followers (the gate sets it). */
  onCollect: (() => void) | undefined;
}

/** Evaluation time: 1 µs (all cached) to 5 s (cold reads against a slow RPC). */
const EVALUATION_BUCKETS = [1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 0.002, 0.01, 0.05, 0.25, 1, 5];

export function createPolicyMetrics(registry: Registry): PolicyMetrics {
  const rpcUp = new Gauge({
    name: 'qkms_policy_rpc_up',
    help: '1 if the EVM JSON-RPC endpoint answered its last call (endpoint: its index among the chain endpoints)',
    labelNames: ['chain', 'endpoint'],
    registers: [registry],
  });
  const polls = new Counter({
    name: 'qkms_policy_polls_total',
    help: 'Polls of a chain head, by outcome',
    labelNames: ['chain', 'result'],
    registers: [registry],
  });
  const disagreements = new Counter({
    name: 'qkms_policy_rpc_disagreements_total',
    help: 'Times fewer than k endpoints agreed on a block hash or a value',
    labelNames: ['chain'],
    registers: [registry],
  });
  const reorgs = new Counter({
    name: 'qkms_policy_reorgs_total',
    help: 'Reorganisations seen (every cached read of the chain read again)',
    labelNames: ['chain'],
    registers: [registry],
  });
  const collect = (): void => {
    metrics.onCollect?.();
  };
  const metrics: PolicyMetrics = {
    onCollect: undefined,
    lookups: new Counter({
      name: 'qkms_policy_cache_lookups_total',
      help: 'Chain reads a policy evaluation asked for: hit (fresh in the cache) or miss (a cold read)',
      labelNames: ['result'],
      registers: [registry],
    }),
    evaluation: new Histogram({
      name: 'qkms_policy_evaluation_seconds',
      help: 'Time to decide a chain policy: path cached (no RPC) or cold (reads on the request path)',
      labelNames: ['path', 'verdict'],
      buckets: EVALUATION_BUCKETS,
      registers: [registry],
    }),
    stateAge: new Gauge({
      name: 'qkms_policy_state_age_seconds',
      help: 'Seconds since the chain state was last confirmed at the agreed head',
      labelNames: ['chain'],
      registers: [registry],
      collect,
    }),
    lagBlocks: new Gauge({
      name: 'qkms_policy_head_lag_blocks',
      help: 'Blocks between the highest head an endpoint reports and the block the state is at',
      labelNames: ['chain'],
      registers: [registry],
      collect,
    }),
    entries: new Gauge({
      name: 'qkms_policy_cache_entries',
      help: 'Chain reads the node keeps fresh',
      labelNames: ['chain'],
      registers: [registry],
      collect,
    }),
    polled(chainId, ok, endpointsUp) {
      const chain = String(chainId);
      polls.inc({ chain, result: ok ? 'ok' : 'failed' });
      endpointsUp.forEach((up, i) => {
        rpcUp.set({ chain, endpoint: String(i + 1) }, up ? 1 : 0);
      });
    },
    disagreed(chainId) {
      disagreements.inc({ chain: String(chainId) });
    },
    reorged(chainId) {
      reorgs.inc({ chain: String(chainId) });
    },
  };
  return metrics;
}
