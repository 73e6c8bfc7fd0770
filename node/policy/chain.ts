// Long file: one chain's follower: head agreement, reorg detection, log-driven invalidation and the read cache share one state.
// What a node knows of one EVM chain, kept fresh so that a recover reads it
// without a chain round trip (decision 0015). A poll loop follows the head
// that k of the chain's endpoints agree on; every cached read is valid at
// exactly that block:
//   - 'balance' reads are carried forward to each new block unless a transfer
//     log of their contract names their account in the new range, or the
//     chain reorganised: then they are read again at the new block;
//   - 'call' reads are read again at every new block.
// Re-reads are one Multicall3 batch per endpoint, and a value is taken only
// when k endpoints return the same bytes. The state is fresh while the last
// poll that confirmed the head started within the freshness bound; past it,
// lookups find nothing and a recover is refused POLICY_UNAVAILABLE.
import type { CallResult, ChainRead } from '../../protocol/internal.ts';
import { toHex } from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import { RpcEndpoint, type BlockRef } from './rpc.ts';

export interface ChainSettings {
  readonly chainId: number;
  readonly urls: readonly string[];
  /** Endpoints that must agree on a head, a hash and each value. */
  readonly quorum: number;
  readonly freshnessMs: number;
  readonly pollMs: number;
  /** Deadline of one RPC call, ms. */
  readonly deadlineMs: number;
  /** Follow the head minus this many blocks (0: the latest block). */
  readonly confirmations: number;
  /** Cached reads at most; the least recently used go first. */
  readonly maxEntries: number;
  /** A read unused for this long is dropped (it stops costing re-reads). */
  readonly idleMs: number;
  /** Cold reads (cache misses) in flight at once; beyond it a recover is refused at once. */
  readonly maxColdReads: number;
  readonly multicall?: string;
}

interface Entry {
  readonly read: ChainRead;
  readonly result: CallResult;
  /** The block the result is valid at. */
  readonly block: bigint;
  lastUsed: number;
}

/** Block ranges fetched as logs in one poll; a larger gap re-reads everything instead. */
const MAX_LOG_RANGE = 1000n;

function resultKey(r: CallResult | undefined): string | undefined {
  return r === undefined ? undefined : r.ok ? `1${toHex(r.data)}` : '0';
}

/** The value k of the answers agree on (by `key`), if any. */
export function agreed<T>(
  answers: readonly (T | undefined)[],
  k: number,
  key: (t: T) => string,
): T | undefined {
  const counts = new Map<string, { value: T; n: number }>();
  for (const a of answers) {
    if (a === undefined) continue;
    const id = key(a);
    const c = counts.get(id) ?? { value: a, n: 0 };
    c.n++;
    counts.set(id, c);
    if (c.n >= k) return c.value;
  }
  return undefined;
}

/** Why a chain cannot answer now, for a log line and /readyz. */
export type ChainProblem = 'stale' | 'overloaded' | 'disagreement' | 'unreachable';

export class ChainUnavailable extends Error {
  readonly problem: ChainProblem;
  constructor(problem: ChainProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

export interface ChainObserver {
  /** A poll settled: ok or not, and per endpoint whether it answered. */
  polled(chainId: number, ok: boolean, endpointsUp: readonly boolean[]): void;
  /** Endpoints answered but fewer than k agreed. */
  disagreed(chainId: number): void;
  reorged(chainId: number): void;
}

export class ChainFollower {
  readonly settings: ChainSettings;
  readonly #endpoints: RpcEndpoint[];
  readonly #entries = new Map<string, Entry>();
  readonly #coldInFlight = new Map<string, Promise<CallResult>>();
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #observer: ChainObserver;
  #processed: BlockRef | undefined;
  /** When the poll that last confirmed #processed as the agreed head started. */
  #verifiedAt = Number.NEGATIVE_INFINITY;
  /** The highest head any endpoint reported last poll. */
  #seenHead: bigint | undefined;
  #coldReads = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;
  #lastProblem: string | undefined;

  constructor(settings: ChainSettings, log: Logger, clock: () => number, observer: ChainObserver) {
    this.settings = settings;
    this.#endpoints = settings.urls.map(
      (url, i) => new RpcEndpoint(i + 1, url, settings.deadlineMs, settings.multicall),
    );
    this.#log = log.child({ chain: settings.chainId });
    this.#clock = clock;
    this.#observer = observer;
  }

  get chainId(): number {
    return this.settings.chainId;
  }

  /** Whether the state is within the freshness bound now. */
  fresh(now = this.#clock()): boolean {
    return this.#processed !== undefined && now - this.#verifiedAt <= this.settings.freshnessMs;
  }

  /** Milliseconds since the state was last confirmed; Infinity before the first poll. */
  ageMs(now = this.#clock()): number {
    return now - this.#verifiedAt;
  }

  /** Blocks between the highest head seen and the block the state is at. */
  lagBlocks(): number {
    if (this.#seenHead === undefined || this.#processed === undefined) return 0;
    return Number(this.#seenHead - this.#processed.number);
  }

  get block(): bigint | undefined {
    return this.#processed?.number;
  }

  get entries(): number {
    return this.#entries.size;
  }

  endpointsUp(): boolean[] {
    return this.#endpoints.map((e) => e.up);
  }

  /** A line for /readyz when not fresh. */
  reason(): string {
    const up = this.#endpoints.filter((e) => e.up).length;
    const age =
      this.#processed === undefined
        ? 'no state yet'
        : `state ${Math.round(this.ageMs() / 1000)} s old`;
    return `chain ${this.chainId}: ${age} (bound ${this.settings.freshnessMs / 1000} s); ${up} of ${this.#endpoints.length} endpoints answering, ${this.settings.quorum} must agree${this.#lastProblem === undefined ? '' : `; ${this.#lastProblem}`}`;
  }

  /** Starts polling; the first poll runs now. */
  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#polling;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.poll().finally(() => {
        this.#schedule(this.settings.pollMs);
      });
    }, ms);
    this.#timer.unref();
  }

  /** The cached result of `read` if the state is fresh and the entry is at the current block. */
  lookup(read: ChainRead, now: number): CallResult | undefined {
    if (!this.fresh(now)) return undefined;
    const entry = this.#entries.get(read.key);
    if (entry === undefined || entry.block !== this.#processed?.number) return undefined;
    entry.lastUsed = now;
    // Map order is the LRU order: a used entry moves to the end.
    this.#entries.delete(read.key);
    this.#entries.set(read.key, entry);
    return entry.result;
  }

  /**
   * Reads what the cache lacks, at the current block, from k agreeing
   * endpoints within the deadline; the results join the cache. Throws
   * ChainUnavailable when the state is stale, too many cold reads are in
   * flight, or k endpoints do not agree.
   */
  async fetch(reads: readonly ChainRead[]): Promise<Map<string, CallResult>> {
    const at = this.#processed;
    if (at === undefined || !this.fresh())
      throw new ChainUnavailable('stale', 'chain state is not fresh');
    const out = new Map<string, CallResult>();
    const todo: ChainRead[] = [];
    const joined: Promise<void>[] = [];
    for (const r of reads) {
      const pending = this.#coldInFlight.get(`${at.number}:${r.key}`);
      if (pending !== undefined) joined.push(pending.then((v) => void out.set(r.key, v)));
      else if (!todo.some((t) => t.key === r.key)) todo.push(r);
    }
    if (todo.length > 0) {
      if (this.#coldReads >= this.settings.maxColdReads)
        throw new ChainUnavailable('overloaded', 'too many cold chain reads in flight');
      this.#coldReads++;
      const batch = this.#readAgreed(todo, at.number);
      for (const [i, r] of todo.entries()) {
        const one = batch.then((results) => {
          const v = results[i];
          if (v === undefined)
            throw new ChainUnavailable('disagreement', 'endpoints did not agree on a value');
          return v;
        });
        one.catch(() => undefined);
        const key = `${at.number}:${r.key}`;
        this.#coldInFlight.set(key, one);
        joined.push(
          one.then((v) => {
            out.set(r.key, v);
            // Joins the cache only if the state is still at the block it was read at.
            if (this.#processed?.number === at.number)
              this.#put({ read: r, result: v, block: at.number, lastUsed: this.#clock() });
          }),
        );
      }
      void batch
        .finally(() => {
          this.#coldReads--;
          for (const r of todo) this.#coldInFlight.delete(`${at.number}:${r.key}`);
        })
        .catch(() => undefined);
    }
    await Promise.all(joined);
    return out;
  }

  #put(entry: Entry): void {
    this.#entries.delete(entry.read.key);
    this.#entries.set(entry.read.key, entry);
    while (this.#entries.size > this.settings.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Per read, the result k endpoints agree on at `at`, or undefined. Throws when fewer than k answer. */
  async #readAgreed(reads: readonly ChainRead[], at: bigint): Promise<(CallResult | undefined)[]> {
    const answers = await Promise.all(
      this.#endpoints.map((e) => e.calls(reads, at).catch(() => undefined)),
    );
    const answered = answers.filter((a) => a !== undefined);
    if (answered.length < this.settings.quorum)
      throw new ChainUnavailable(
        'unreachable',
        `${answered.length} endpoints answered, ${this.settings.quorum} needed`,
      );
    const out = reads.map((_, i) =>
      agreed(
        answered.map((a) => a[i]),
        this.settings.quorum,
        (r) => resultKey(r) ?? '',
      ),
    );
    if (out.some((r) => r === undefined)) this.#observer.disagreed(this.chainId);
    return out;
  }

  /** The answers of every endpoint that answered; ChainUnavailable when fewer than k did. */
  async #answers<T>(ask: (e: RpcEndpoint) => Promise<T>): Promise<T[]> {
    const answers = await Promise.all(this.#endpoints.map((e) => ask(e).catch(() => undefined)));
    const answered = answers.filter((a): a is Awaited<T> => a !== undefined);
    if (answered.length < this.settings.quorum)
      throw new ChainUnavailable(
        'unreachable',
        `${answered.length} of ${this.#endpoints.length} endpoints answered, ${this.settings.quorum} needed`,
      );
    return answered;
  }

  /** One round: find the agreed head, bring every cached read to it. Never throws. */
  async poll(): Promise<void> {
    const started = this.#clock();
    try {
      await this.#advance(started);
      this.#lastProblem = undefined;
      this.#observer.polled(this.chainId, true, this.endpointsUp());
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (this.#lastProblem !== message)
        this.#log.warn('chain state not refreshed', { error: message.slice(0, 200) });
      this.#lastProblem = message.slice(0, 200);
      this.#observer.polled(this.chainId, false, this.endpointsUp());
    }
  }

  async #advance(started: number): Promise<void> {
    const k = this.settings.quorum;
    const heads = await this.#answers((e) => e.head());
    this.#seenHead = heads.reduce((m, h) => (h.number > m ? h.number : m), 0n);
    // The k-th highest head: at least k endpoints have reached it.
    const sorted = heads.map((h) => h.number).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    let target = (sorted[k - 1] ?? 0n) - BigInt(this.settings.confirmations);
    if (target < 0n) target = 0n;
    const targetHash = await this.#agreedHash(target);
    const previous = this.#processed;
    let reorg = false;
    if (previous !== undefined && target >= previous.number) {
      const stillThere =
        target === previous.number ? targetHash : await this.#agreedHash(previous.number);
      reorg = stillThere !== previous.hash;
    } else if (previous !== undefined) {
      reorg = true; // the agreed head went back: a reorg, or endpoints behind the last one we used
    }
    if (previous !== undefined && !reorg && target === previous.number) {
      this.#verifiedAt = started;
      return;
    }
    if (reorg) {
      this.#observer.reorged(this.chainId);
      this.#log.info('chain reorganised: every cached read is read again', {
        block: Number(target),
      });
    }
    this.#dropIdle(started);
    const current = [...this.#entries.values()].filter(
      (e) => previous !== undefined && e.block === previous.number,
    );
    let dirty: Entry[];
    if (previous === undefined || reorg || target - previous.number > MAX_LOG_RANGE) {
      dirty = current;
    } else {
      const touched = await this.#touched(current, previous.number + 1n, target);
      dirty = current.filter(
        (e) =>
          e.read.kind === 'call' ||
          e.read.account === undefined ||
          touched.has(`${toHex(e.read.contract)}:${toHex(e.read.account)}`),
      );
    }
    const results =
      dirty.length === 0
        ? []
        : await this.#readAgreed(
            dirty.map((e) => e.read),
            target,
          );
    // Commit: the new block, carried entries moved to it, re-read ones replaced (or dropped without agreement).
    const dirtyKeys = new Set(dirty.map((e) => e.read.key));
    for (const e of current) {
      if (dirtyKeys.has(e.read.key)) continue;
      this.#entries.set(e.read.key, { ...e, block: target });
    }
    dirty.forEach((e, i) => {
      const r = results[i];
      if (r === undefined) this.#entries.delete(e.read.key);
      else this.#entries.set(e.read.key, { ...e, result: r, block: target });
    });
    this.#processed = { number: target, hash: targetHash };
    this.#verifiedAt = started;
  }

  async #agreedHash(number: bigint): Promise<string> {
    const hashes = await this.#answers((e) => e.blockHash(number));
    const hash = agreed(hashes, this.settings.quorum, (h) => h);
    if (hash === undefined) {
      this.#observer.disagreed(this.chainId);
      throw new ChainUnavailable(
        'disagreement',
        `endpoints disagree on the hash of block ${number}`,
      );
    }
    return hash;
  }

  /** contract:account (hex) pairs whose balances moved in [from, to], the union of what endpoints report. */
  async #touched(entries: readonly Entry[], from: bigint, to: bigint): Promise<Set<string>> {
    const contracts = [
      ...new Set(
        entries.filter((e) => e.read.kind === 'balance').map((e) => toHex(e.read.contract)),
      ),
    ];
    if (contracts.length === 0) return new Set();
    // A union: an endpoint that hides a transfer cannot keep a stale balance while another reports it.
    const answers = await this.#answers((e) => e.transfers(contracts, from, to));
    return new Set(answers.flat().map((t) => `${t.contract}:${t.account}`));
  }

  #dropIdle(now: number): void {
    for (const [key, e] of this.#entries) {
      if (now - e.lastUsed > this.settings.idleMs) this.#entries.delete(key);
    }
  }
}
