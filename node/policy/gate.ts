// Step 7 of recover for policies on chain state (decision 0015): evaluate the
// manifest's condition tree from the chain followers' caches, synchronously
// when everything is cached (the steady state: no chain round trip), else read
// what is missing once, in one batch per chain, within the RPC deadline. An
// `unknown` verdict is POLICY_UNAVAILABLE (retryable, nothing released); a
// chain this node does not follow is POLICY_UNSUPPORTED, at publish too.
import {
  ErrorCode,
  QkmsError,
  evaluatePolicy,
  isQkmsError,
  policyChains,
  readsChain,
  type AccessPolicy,
  type CallResult,
  type ChainRead,
  type PolicyContext,
  type Verdict,
} from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import { ChainFollower, ChainUnavailable, type ChainSettings } from './chain.ts';
import type { PolicyMetrics, PolicyVerdictLabel } from './metrics.ts';

type Keccak = (data: Uint8Array) => Uint8Array;

export interface PolicyGateDeps {
  readonly chains: readonly ChainSettings[];
  readonly keccak: Keccak;
  readonly log: Logger;
  readonly clock: () => number;
  readonly metrics: PolicyMetrics;
}

export interface PolicyCheck {
  /** Throws POLICY_UNSUPPORTED when the policy reads a chain this node does not follow. */
  assertSupported(policy: AccessPolicy): void;
  /**
   * Returns when the policy admits the wallet; throws ACCESS_DENIED,
   * POLICY_UNAVAILABLE or POLICY_UNSUPPORTED. Returns a promise only when it
   * must read the chain (a cache miss).
   */
  admit(policy: AccessPolicy, ctx: PolicyContext): void | Promise<void>;
}

function unsupported(chain: number): QkmsError {
  return new QkmsError(
    ErrorCode.POLICY_UNSUPPORTED,
    `policy reads chain ${chain}, which this node does not follow`,
  );
}

function unavailable(message: string): QkmsError {
  return new QkmsError(ErrorCode.POLICY_UNAVAILABLE, message);
}

export class PolicyGate implements PolicyCheck {
  readonly #chains = new Map<number, ChainFollower>();
  readonly #deps: PolicyGateDeps;

  constructor(deps: PolicyGateDeps) {
    this.#deps = deps;
    for (const settings of deps.chains)
      this.#chains.set(
        settings.chainId,
        new ChainFollower(settings, deps.log, deps.clock, deps.metrics),
      );
    deps.metrics.onCollect = () => {
      this.observe();
    };
  }

  get followers(): readonly ChainFollower[] {
    return [...this.#chains.values()];
  }

  start(): void {
    for (const c of this.#chains.values()) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#chains.values()].map((c) => c.stop()));
  }

  /** Every followed chain is fresh (or none is configured). */
  fresh(): boolean {
    return [...this.#chains.values()].every((c) => c.fresh());
  }

  reason(): string | undefined {
    const stale = [...this.#chains.values()].filter((c) => !c.fresh());
    return stale.length === 0 ? undefined : stale.map((c) => c.reason()).join('; ');
  }

  /** Sets the gauges from the followers; runs as they are scraped. */
  observe(): void {
    const m = this.#deps.metrics;
    for (const c of this.#chains.values()) {
      const chain = String(c.chainId);
      const age = c.ageMs();
      m.stateAge.set({ chain }, Number.isFinite(age) ? age / 1000 : -1);
      m.lagBlocks.set({ chain }, c.lagBlocks());
      m.entries.set({ chain }, c.entries);
    }
  }

  assertSupported(policy: AccessPolicy): void {
    for (const chain of policyChains(policy))
      if (!this.#chains.has(chain)) throw unsupported(chain);
  }

  admit(policy: AccessPolicy, ctx: PolicyContext): void | Promise<void> {
    // The common case first: open content costs one comparison.
    if (policy.kind === 'open') return;
    if (!readsChain(policy)) {
      // Wallet-only and time policies: no chain, nothing to measure.
      if (evaluatePolicy(this.#deps.keccak, policy, ctx, () => undefined).verdict !== true)
        throw new QkmsError(ErrorCode.ACCESS_DENIED, 'policy refuses this wallet');
      return;
    }
    const started = performance.now();
    let first;
    try {
      first = evaluatePolicy(this.#deps.keccak, policy, ctx, (read) => this.#cached(read, ctx.now));
    } catch (e) {
      if (isQkmsError(e, ErrorCode.POLICY_UNSUPPORTED))
        this.#observe('unsupported', 'cached', started);
      throw e;
    }
    if (first.verdict !== 'unknown' || first.missing.length === 0) {
      this.#decide(first.verdict, 'cached', started);
      return;
    }
    return this.#cold(policy, ctx, first.missing, started);
  }

  #follower(chain: number): ChainFollower {
    const follower = this.#chains.get(chain);
    if (follower === undefined) throw unsupported(chain);
    return follower;
  }

  #cached(read: ChainRead, now: number): CallResult | undefined {
    const result = this.#follower(read.chain).lookup(read, now);
    this.#deps.metrics.lookups.inc({ result: result === undefined ? 'miss' : 'hit' });
    return result;
  }

  async #cold(
    policy: AccessPolicy,
    ctx: PolicyContext,
    missing: readonly ChainRead[],
    started: number,
  ): Promise<void> {
    const byChain = new Map<number, ChainRead[]>();
    for (const r of missing) byChain.set(r.chain, [...(byChain.get(r.chain) ?? []), r]);
    const fetched = new Map<string, CallResult>();
    try {
      const maps = await Promise.all(
        [...byChain].map(([chain, reads]) => this.#follower(chain).fetch(reads)),
      );
      for (const m of maps) for (const [k, v] of m) fetched.set(k, v);
    } catch (e) {
      if (!(e instanceof ChainUnavailable)) throw e;
      this.#decide('unknown', 'cold', started, e.message);
      return;
    }
    const second = evaluatePolicy(
      this.#deps.keccak,
      policy,
      ctx,
      (read) =>
        fetched.get(read.key) ?? this.#follower(read.chain).lookup(read, this.#deps.clock()),
    );
    this.#decide(second.verdict, 'cold', started);
  }

  #observe(verdict: PolicyVerdictLabel, path: 'cached' | 'cold', started: number): void {
    this.#deps.metrics.evaluation.observe({ path, verdict }, (performance.now() - started) / 1000);
  }

  #decide(verdict: Verdict, path: 'cached' | 'cold', started: number, why?: string): void {
    this.#observe(
      verdict === true ? 'granted' : verdict === false ? 'denied' : 'unavailable',
      path,
      started,
    );
    if (verdict === true) return;
    if (verdict === false)
      throw new QkmsError(ErrorCode.ACCESS_DENIED, 'policy refuses this wallet');
    throw unavailable(
      `chain state for this policy is not available${why === undefined ? '' : ` (${why})`}`,
    );
  }
}
