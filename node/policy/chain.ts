// Long file: one chain's follower: head agreement, reorg detection, log-driven invalidation and the read cache share one state.
// What a node knows of one EVM chain, kept fresh so that a recover reads it
// without a chain round trip (decision 0015). A poll loop follows the head
// that k of the chain's endpoints agree on; every cached read is valid at
// exactly that block:
//   - 'balance' reads are carried forward to each new block unless a transfer
//     log of their contract names their account (any transfer of it, for an
//     ownerOf read) in the new range, or the chain reorganised: then they are
//     read again at the new block;
//   - 'call' reads are read again at every new block.
// Re-reads are one Multicall3 batch per endpoint, and a value is taken only
// when k endpoints return the same bytes. The state is fresh while the last
// poll that confirmed the head started within the freshness bound; past it,
// lookups find nothing and a recover is refused POLICY_UNAVAILABLE.
import type { CallResult, ChainRead } from '../../protocol/internal.ts';
import { toHex } from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import { ANY_ACCOUNT, RpcEndpoint, type BlockRef, type BlockStamp } from './rpc.ts';

export interface ChainSettings {
  readonly chainId: number;
  readonly urls: readonly string[];
  /** Endpoints that must agree on a head, a hash and each value. */
  readonly quorum: number;
  readonly freshnessMs: number;
  readonly pollMs: number;
  /** Deadline of one RPC call, ms. */
  readonly deadlineMs: number;
  /** The followed block's own timestamp may be at most this old (0: not checked). */
  readonly maxBlockAgeMs: number;
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
  /** The commit of the followed state the result is valid at (Followed.generation). */
  readonly generation: number;
  lastUsed: number;
}

/** Block ranges fetched as logs in one poll; a larger gap re-reads everything instead. */
const MAX_LOG_RANGE = 1000n;

function resultKey(r: CallResult | undefined): string | undefined {
  return r === undefined ? undefined : `${r.ok ? '1' : '0'}${toHex(r.data)}`;
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

/** The followed block; each commit of the state (a new block, or the same height after a reorg) is a new generation. */
interface Followed extends BlockRef {
  readonly generation: number;
  /** The block's own timestamp, ms. */
  readonly timestampMs: number;
}

/**
 * Endpoints' heads may be this many blocks apart, and no more: past it the node
 * does not advance (its state ages out) rather than follow the k-th highest
 * head, which one endpoint reporting an old head could otherwise hold back.
 */
export const MAX_HEAD_SPREAD = 16n;

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
  #processed: Followed | undefined;
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
    const p = this.#processed;
    return (
      p !== undefined &&
      now - this.#verifiedAt <= this.settings.freshnessMs &&
      (this.settings.maxBlockAgeMs === 0 || now - p.timestampMs <= this.settings.maxBlockAgeMs)
    );
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
    if (entry === undefined || entry.generation !== this.#processed?.generation) return undefined;
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
    const pending: [ChainRead, Promise<CallResult>][] = [];
    for (const r of reads) {
      const inFlight = this.#coldInFlight.get(`${at.generation}:${r.key}`);
      if (inFlight !== undefined) pending.push([r, inFlight]);
      else if (!todo.some((t) => t.key === r.key)) todo.push(r);
    }
    // Refused before any promise is derived, so nothing is left without a handler.
    if (todo.length > 0 && this.#coldReads >= this.settings.maxColdReads)
      throw new ChainUnavailable('overloaded', 'too many cold chain reads in flight');
    if (todo.length > 0) {
      this.#coldReads++;
      const batch = this.#readAgreed(todo, at.number);
      for (const [i, r] of todo.entries()) {
        const one = batch.then((results) => {
          const v = results[i];
          if (v === undefined)
            throw new ChainUnavailable('disagreement', 'endpoints did not agree on a value');
          // Joins the cache only if the state is still the one it was read at (not a reorg of its height).
          if (this.#processed === at)
            this.#put({ read: r, result: v, generation: at.generation, lastUsed: this.#clock() });
          return v;
        });
        one.catch(() => undefined);
        this.#coldInFlight.set(`${at.generation}:${r.key}`, one);
        pending.push([r, one]);
      }
      void batch
        .finally(() => {
          this.#coldReads--;
          for (const r of todo) this.#coldInFlight.delete(`${at.generation}:${r.key}`);
        })
        .catch(() => undefined);
    }
    const values = await Promise.all(pending.map(([, p]) => p));
    pending.forEach(([r], i) => {
      const v = values[i];
      if (v !== undefined) out.set(r.key, v);
    });
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

  /**
   * The answers of the endpoints, as they arrive, until `enough` says so or
   * every endpoint has answered or failed (each within the RPC deadline): an
   * endpoint that hangs delays nothing that k others settle.
   */
  #gather<T>(
    ask: (e: RpcEndpoint) => Promise<T>,
    enough: (answered: T[]) => boolean,
  ): Promise<T[]> {
    return new Promise((resolve) => {
      const answered: T[] = [];
      let settled = 0;
      let done = false;
      for (const endpoint of this.#endpoints) {
        ask(endpoint)
          .then(
            (answer) => {
              answered.push(answer);
            },
            () => undefined,
          )
          .finally(() => {
            settled++;
            if (done) return;
            if (settled === this.#endpoints.length || enough(answered)) {
              done = true;
              resolve([...answered]);
            }
          })
          .catch(() => undefined);
      }
    });
  }

  #enoughAnswered(count: number): void {
    if (count < this.settings.quorum)
      throw new ChainUnavailable(
        'unreachable',
        `${count} of ${this.#endpoints.length} endpoints answered, ${this.settings.quorum} needed`,
      );
  }

  /** Per read, the result k endpoints agree on at `at`, or undefined. Throws when fewer than k answer. */
  async #readAgreed(reads: readonly ChainRead[], at: bigint): Promise<(CallResult | undefined)[]> {
    const k = this.settings.quorum;
    const agreeOn = (answered: readonly (CallResult | undefined)[][]): (CallResult | undefined)[] =>
      reads.map((_, i) =>
        agreed(
          answered.map((a) => a[i]),
          k,
          (r) => resultKey(r) ?? '',
        ),
      );
    const answered = await this.#gather(
      (e) => e.calls(reads, at),
      (a) => a.length >= k && agreeOn(a).every((r) => r !== undefined),
    );
    this.#enoughAnswered(answered.length);
    const out = agreeOn(answered);
    if (out.some((r) => r === undefined)) this.#observer.disagreed(this.chainId);
    return out;
  }

  /** The answers of every endpoint that answered; ChainUnavailable when fewer than k did. */
  async #answers<T>(ask: (e: RpcEndpoint) => Promise<T>): Promise<T[]> {
    const answered = await this.#gather(ask, () => false);
    this.#enoughAnswered(answered.length);
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
    const kth = sorted[k - 1] ?? 0n;
    if (this.#seenHead - kth > MAX_HEAD_SPREAD)
      throw new ChainUnavailable(
        'disagreement',
        `endpoint heads are ${this.#seenHead - kth} blocks apart (at most ${MAX_HEAD_SPREAD})`,
      );
    let target = kth - BigInt(this.settings.confirmations);
    if (target < 0n) target = 0n;
    const targetBlock = await this.#agreedBlock(target);
    const targetHash = targetBlock.hash;
    const previous = this.#processed;
    let reorg = false;
    if (previous !== undefined && target >= previous.number) {
      const stillThere =
        target === previous.number ? targetHash : (await this.#agreedBlock(previous.number)).hash;
      reorg = stillThere !== previous.hash;
    } else if (previous !== undefined) {
      reorg = true; // the agreed head went back: a reorg, or endpoints behind the last one we used
    }
    if (previous !== undefined && !reorg && target === previous.number) {
      this.#verifiedAt = started;
      return;
    }
    const timestampMs = targetBlock.timestamp * 1000;
    if (reorg) {
      this.#observer.reorged(this.chainId);
      this.#log.info('chain reorganised: every cached read is read again', {
        block: Number(target),
      });
    }
    this.#dropIdle(started);
    const current = [...this.#entries.values()].filter(
      (e) => previous !== undefined && e.generation === previous.generation,
    );
    let dirty: Entry[];
    if (previous === undefined || reorg || target - previous.number > MAX_LOG_RANGE) {
      dirty = current;
    } else {
      // Logs that cannot be had (too many for the endpoint, too large): every value is read again.
      const touched = await this.#touched(current, previous.number + 1n, target).catch(
        () => undefined,
      );
      dirty = current.filter((e) => {
        if (touched === undefined || e.read.kind === 'call') return true;
        const contract = toHex(e.read.contract);
        if (touched.has(`${contract}:${ANY_ACCOUNT}`)) return true;
        return touched.has(
          e.read.account === undefined ? contract : `${contract}:${toHex(e.read.account)}`,
        );
      });
    }
    const results =
      dirty.length === 0
        ? []
        : await this.#readAgreed(
            dirty.map((e) => e.read),
            target,
          );
    // The block may have been replaced while the values were read (a reorg at its height):
    // then nothing is committed, and the next poll starts over.
    if (dirty.length > 0 && (await this.#agreedBlock(target)).hash !== targetHash)
      throw new ChainUnavailable('disagreement', `block ${target} changed while it was read`);
    // Commit: a new generation; carried entries moved to it, re-read ones replaced (or dropped
    // without agreement), and anything else (a cold read that landed during this poll) dropped.
    const generation = (previous?.generation ?? 0) + 1;
    const dirtyKeys = new Set(dirty.map((e) => e.read.key));
    for (const e of current) {
      if (dirtyKeys.has(e.read.key)) continue;
      this.#entries.set(e.read.key, { ...e, generation });
    }
    dirty.forEach((e, i) => {
      const r = results[i];
      if (r === undefined) this.#entries.delete(e.read.key);
      else this.#entries.set(e.read.key, { ...e, result: r, generation });
    });
    for (const [key, e] of this.#entries)
      if (e.generation !== generation) this.#entries.delete(key);
    this.#processed = { number: target, hash: targetHash, generation, timestampMs };
    this.#verifiedAt = started;
  }

  /** Block `number` as k endpoints agree on it (by hash). */
  async #agreedBlock(number: bigint): Promise<BlockStamp> {
    const k = this.settings.quorum;
    const key = (b: BlockStamp): string => `${b.hash}:${b.timestamp}`;
    const blocks = await this.#gather(
      (e) => e.block(number),
      (a) => agreed(a, k, key) !== undefined,
    );
    this.#enoughAnswered(blocks.length);
    const hash = agreed(blocks, k, key);
    if (hash === undefined) {
      this.#observer.disagreed(this.chainId);
      throw new ChainUnavailable(
        'disagreement',
        `endpoints disagree on the hash of block ${number}`,
      );
    }
    return hash;
  }

  /**
   * contract:account (hex) pairs whose balances moved in [from, to], and each
   * such contract alone (what ownerOf reads follow): the union of what endpoints report.
   */
  async #touched(entries: readonly Entry[], from: bigint, to: bigint): Promise<Set<string>> {
    const contracts = [
      ...new Set(
        entries.filter((e) => e.read.kind === 'balance').map((e) => toHex(e.read.contract)),
      ),
    ];
    if (contracts.length === 0) return new Set();
    // A union: an endpoint that hides a transfer cannot keep a stale balance while another reports it.
    const answers = await this.#answers((e) => e.transfers(contracts, from, to));
    return new Set(answers.flat().flatMap((t) => [`${t.contract}:${t.account}`, t.contract]));
  }

  #dropIdle(now: number): void {
    for (const [key, e] of this.#entries) {
      if (now - e.lastUsed > this.settings.idleMs) this.#entries.delete(key);
    }
  }
}
