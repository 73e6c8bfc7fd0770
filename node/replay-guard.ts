// Long file: the guard is one state machine (reserve, commit in batches, sweep under two clocks) whose
// safety argument is stated once, at the top; its sizing is replay-limits.ts.
// Step 8 of recover (DESIGN.md, "Recover, as a node sees it"): a request's
// nonce is used once. Keyed by (session key, nonce) — never by signature
// bytes, which a signer can vary without changing what it asks for.
//
// - reserve() is synchronous, so the service calls it before its first
//   await: of any number of concurrent copies of one request, exactly one
//   gets true.
// - commit() resolves once the pair is on disk. Commits are grouped: pairs
//   committed while a batch is pending or being written go to disk together
//   in ONE synced LevelDB batch, and every caller resolves after that batch's
//   fsync. A failed write rejects every commit of its batch, and the service
//   then refuses the request: no share leaves without a durable nonce record.
// - load() reads every unexpired record back, so a replay after a restart is
//   refused. What a crash may lose is covered by the store's replay epoch
//   (NodeStore.replayEpochStart).
// - sweep() forgets expired pairs, in memory and on disk.
// - release() gives back a reservation that was never committed: a refused
//   request holds no slot, so refusals cannot fill the guard.
// - Partitions: each reservation is charged to its wallet and to its source
//   (the connection's admission key), and neither may hold more than its
//   share of the guard, so no single wallet or host can fill it and lock
//   everyone else out with BUSY (replayGuardLimits, decision 0006).
//
// Why forgetting is safe. A pair is kept while now < expiresAt, and the caller
// sets expiresAt later than the last instant at which the freshness check
// (step 3: issuedAt >= now - maxGrantAgeMs, inclusive) still accepts the
// request — the service uses issuedAt + maxGrantAgeMs + maxClockSkewMs.
// issuedAt is signed, so a replay carries the same issuedAt and gets the same
// expiresAt: by the time a pair is swept, a replay of it is refused by the
// freshness check first. reserve() also refuses a pair whose expiresAt has
// already passed by the guard's own clock, so even a request that passed the
// freshness check an instant earlier cannot slip in after the sweep.
//
// Why a wall-clock jump does not reopen the window (issue 13, item 5;
// docs/operations.md §4.6). The argument above holds only while the wall
// clock never goes back past a time at which it forgot something. Two rules
// keep it:
// - A pair is forgotten only when BOTH clocks say it expired: the wall clock
//   (now >= expiresAt) and the monotonic clock, which must have run the
//   pair's remaining lifetime as the wall clock gave it at reservation (or at
//   load). A forward jump of the wall clock alone forgets nothing, so when
//   the clock comes back the pair is still held and a replay is REPLAYED.
// - The clock mark: before forgetting any pair, the guard durably records
//   mark >= its expiresAt (MetaName.clockMark; it only grows). While the wall
//   clock reads less than the mark, reserve() throws NOT_READY and the node's
//   /readyz fails `clock`: the clock went back past a time the node has
//   passed. At now >= mark every forgotten pair has expiresAt <= now, so the
//   freshness argument holds again. This covers what the monotonic clock
//   cannot see: a restart (load() forgets by the wall clock alone, as it has
//   no other reference), and a backward jump after a normal expiry.
import { ErrorCode, NONCE_BYTES, QkmsError } from '../protocol/internal.ts';
import { assertOptionsBag } from '../shamir/index.ts';
import {
  DEFAULT_MAX_REPLAY_ENTRIES,
  REPLAY_SOURCE_SHARE,
  REPLAY_WALLET_SHARE,
} from './replay-limits.ts';
import type { NonceEntry } from './store/index.ts';

export {
  DEFAULT_MAX_REPLAY_ENTRIES,
  MAX_REPLAY_ENTRIES,
  MIN_REPLAY_ENTRIES,
  REPLAY_SIZING_RECOVERS_PER_SECOND,
  REPLAY_SOURCE_SHARE,
  REPLAY_WALLET_SHARE,
  replayGuardLimits,
  type ReplayGuardLimits,
} from './replay-limits.ts';

/** What the guard needs from the node's store (NodeStore implements it). */
export interface NonceStore {
  /** The clock mark (ms) last recorded, or undefined if none. */
  getClockMark(): Promise<number | undefined>;
  /** Records the clock mark; resolves once durable. */
  putClockMark(at: number): Promise<void>;
  /** One synced batch; resolves once durable. */
  putNonces(entries: readonly NonceEntry[]): Promise<void>;
  /** Records with expiresAt > now. */
  listNonces(now: number): Promise<NonceEntry[]>;
  deleteNonces(pairs: readonly Pick<NonceEntry, 'sessionKey' | 'nonce'>[]): Promise<void>;
  /** Deletes records with expiresAt <= now; returns how many. */
  sweepNonces(now: number): Promise<number>;
}

export interface ReplayGuardInit {
  readonly store: NonceStore;
  /** ms since the epoch: the same clock the freshness check reads. */
  readonly clock: () => number;
  /**
   * A monotonic clock in ms (any origin): performance.now unless a test injects
   * one. A pair is forgotten only once it has also run the pair's remaining
   * lifetime, so a wall-clock jump alone forgets nothing.
   */
  readonly monotonic?: () => number;
  /**
   * Longest a commit waits for companions before its batch is written, in
   * ms. 0 (default): the next turn of the event loop, which already gathers
   * every request handled in the same tick; commits arriving while a batch is
   * being written wait for it and form the next batch.
   */
  readonly flushIntervalMs?: number;
  /** Period of the sweep timer started by start(). */
  readonly sweepIntervalMs?: number;
  /** Pairs held in memory at most; reserve() throws BUSY beyond it. */
  readonly maxEntries?: number;
  /** Pairs one wallet may hold at once; reserve() throws RATE_LIMITED beyond it. */
  readonly maxPerWallet?: number;
  /** Pairs one source may hold at once; reserve() throws RATE_LIMITED beyond it. */
  readonly maxPerSource?: number;
  /** Called when a timer-driven sweep fails (the daemon logs it); the next tick tries again. */
  readonly onSweepError?: (error: unknown) => void;
}

/** A session key is an Ed25519 public key. */
const SESSION_KEY_BYTES = 32;
/** Expired pairs cost only memory until swept; half a minute of them is little. */
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;
/** Pairs per synced batch: bounds one write; further pairs form the next batch. */
export const MAX_NONCE_BATCH = 4096;

const INIT_KEYS = [
  'store',
  'clock',
  'monotonic',
  'flushIntervalMs',
  'sweepIntervalMs',
  'maxEntries',
  'maxPerWallet',
  'maxPerSource',
  'onSweepError',
] as const satisfies readonly (keyof ReplayGuardInit)[];

type EntryState = 'reserved' | 'queued' | 'durable' | 'failed';

interface Batch {
  readonly entries: Entry[];
  readonly promise: Promise<undefined>;
  readonly resolve: (value: undefined) => void;
  readonly reject: (error: Error) => void;
}

interface Entry {
  /** pairId(sessionKey, nonce): the pair's bytes, kept once, as a compact string. */
  readonly id: string;
  readonly expiresAt: number;
  /** Monotonic time (ms) before which the pair is kept whatever the wall clock says. */
  readonly keepUntil: number;
  state: EntryState;
  /** While queued or being written: the batch the pair goes to disk with. */
  batch: Batch | undefined;
  /** When failed: why. */
  error: Error | undefined;
  /** The partitions it is charged to; none for pairs loaded at start. */
  readonly owner: { readonly wallet: string; readonly source: string } | undefined;
}

/** Whom a reservation is charged to (node/service/types.ts NonceOwner). */
export interface ReplayOwner {
  readonly wallet: Uint8Array;
  readonly source: string;
}

function clockBehindError(): QkmsError {
  return new QkmsError(ErrorCode.NOT_READY, 'replay guard: the clock is behind its mark');
}

function invalidArgument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

function stoppedError(): QkmsError {
  return new QkmsError(ErrorCode.BUSY, 'replay guard: stopped');
}

function checkBytes(value: unknown, name: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `${name}: expected Uint8Array(${length}), got ${value instanceof Uint8Array ? `Uint8Array(${value.length})` : typeof value}`,
    );
  }
  return value;
}

function checkMs(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `${name}: expected an integer >= ${min}`);
  }
  return value;
}

/**
 * The pair as a map key: one char per byte (a flat one-byte string of 48
 * chars). Both parts have fixed lengths, so the concatenation is unambiguous.
 * Far smaller than two Uint8Arrays per pair (each with its own ArrayBuffer),
 * which matters at a million pairs.
 */
function pairId(sessionKey: Uint8Array, nonce: Uint8Array): string {
  return String.fromCharCode(...sessionKey, ...nonce);
}

/** The pair's bytes back from its id, for the store. */
function pairOf(id: string): { sessionKey: Uint8Array; nonce: Uint8Array } {
  const bytes = new Uint8Array(id.length);
  for (let i = 0; i < id.length; i++) bytes[i] = id.charCodeAt(i);
  return {
    sessionKey: bytes.subarray(0, SESSION_KEY_BYTES),
    nonce: bytes.subarray(SESSION_KEY_BYTES),
  };
}

function newBatch(): Batch {
  const { promise, resolve, reject } = Promise.withResolvers<undefined>();
  // Every commit returns this promise and its caller handles it; this keeps
  // a caller that stopped waiting (aborted request) from crashing the node.
  promise.catch(ignoreRejection);
  return { entries: [], promise, resolve, reject };
}

/** Counts down a partition's holding, dropping the key at zero so the maps stay small. */
function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

function ignoreRejection(): void {
  // handled by each commit's caller
}

export class ReplayGuard {
  readonly #store: NonceStore;
  readonly #clock: () => number;
  readonly #monotonic: () => number;
  /** Every forgotten pair had expiresAt <= this (ms); durable before the pair was forgotten. */
  #mark = 0;
  readonly #flushIntervalMs: number;
  readonly #sweepIntervalMs: number;
  readonly #maxEntries: number;
  readonly #maxPerWallet: number;
  readonly #maxPerSource: number;
  /** Pairs held per wallet and per source (only keys holding at least one). */
  readonly #perWallet = new Map<string, number>();
  readonly #perSource = new Map<string, number>();
  readonly #onSweepError: (error: unknown) => void;
  readonly #entries = new Map<string, Entry>();
  /** Batches waiting to be written, oldest first; the last one still takes pairs. */
  readonly #batches: Batch[] = [];
  #cancelFlush: (() => void) | undefined;
  #draining: Promise<void> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #sweepFailures = 0;

  private constructor(init: ReplayGuardInit) {
    this.#store = init.store;
    this.#clock = init.clock;
    this.#monotonic = init.monotonic ?? (() => performance.now());
    this.#flushIntervalMs = checkMs(init.flushIntervalMs ?? 0, 'flushIntervalMs', 0);
    this.#sweepIntervalMs = checkMs(
      init.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
      'sweepIntervalMs',
      1,
    );
    this.#maxEntries = checkMs(init.maxEntries ?? DEFAULT_MAX_REPLAY_ENTRIES, 'maxEntries', 1);
    this.#maxPerWallet = checkMs(
      init.maxPerWallet ?? Math.ceil(this.#maxEntries / REPLAY_WALLET_SHARE),
      'maxPerWallet',
      1,
    );
    this.#maxPerSource = checkMs(
      init.maxPerSource ?? Math.ceil(this.#maxEntries / REPLAY_SOURCE_SHARE),
      'maxPerSource',
      1,
    );
    this.#onSweepError = init.onSweepError ?? ignoreRejection;
  }

  /**
   * Builds the guard, reads its clock mark and loads every unexpired pair
   * from the store, so a replay after a restart is refused. The expired
   * records are deleted, after the mark is raised past them (durably): with
   * no monotonic reference across a restart, that deletion is by the wall
   * clock alone, and the mark is what keeps it safe. STORE_CORRUPT if a
   * record fails authentication.
   */
  static async load(init: ReplayGuardInit): Promise<ReplayGuard> {
    assertOptionsBag(init, 'replay guard', INIT_KEYS, invalidArgument);
    const guard = new ReplayGuard(init);
    guard.#mark = (await init.store.getClockMark()) ?? 0;
    const now = init.clock();
    const mono = guard.#monotonic();
    const expired: NonceEntry[] = [];
    let highest = guard.#mark;
    for (const e of await init.store.listNonces(0)) {
      if (e.expiresAt <= now) {
        expired.push(e);
        highest = Math.max(highest, e.expiresAt);
        continue;
      }
      const id = pairId(e.sessionKey, e.nonce);
      guard.#entries.set(id, {
        id,
        expiresAt: e.expiresAt,
        keepUntil: mono + (e.expiresAt - now),
        state: 'durable',
        batch: undefined,
        error: undefined,
        owner: undefined,
      });
    }
    await guard.#raiseMark(highest);
    if (expired.length > 0) await init.store.deleteNonces(expired);
    return guard;
  }

  /** Raises the mark to `at` durably (if higher); before anything it covers is forgotten. */
  async #raiseMark(at: number): Promise<void> {
    if (at <= this.#mark) return;
    await this.#store.putClockMark(at);
    this.#mark = Math.max(this.#mark, at);
  }

  /**
   * The clock mark (ms): the latest expiry of any pair forgotten so far. The
   * node refuses requests (NOT_READY) while its clock reads less.
   */
  get clockMark(): number {
    return this.#mark;
  }

  /** How far (ms) the clock is behind the mark at `now`; 0 when the guard can serve. */
  clockBehindMs(now: number = this.#clock()): number {
    return Math.max(0, this.#mark - now);
  }

  /** Pairs held in memory (reserved, being written or recorded): a gauge. */
  get size(): number {
    return this.#entries.size;
  }

  /** Pairs committed but not yet durable: a gauge. */
  get pendingCommits(): number {
    let n = 0;
    for (const b of this.#batches) n += b.entries.length;
    return n;
  }

  /** Timer-driven sweeps that failed so far: a counter. */
  get sweepFailures(): number {
    return this.#sweepFailures;
  }

  /** Synchronous and cheap: whether the pair is reserved, being written or recorded. */
  has(sessionKey: Uint8Array, nonce: Uint8Array): boolean {
    return this.#entries.has(
      pairId(
        checkBytes(sessionKey, 'sessionKey', SESSION_KEY_BYTES),
        checkBytes(nonce, 'nonce', NONCE_BYTES),
      ),
    );
  }

  /**
   * Synchronous: true if the pair was unused and is now reserved, charged to
   * `owner`; false if it was already reserved or recorded — or if expiresAt
   * has already passed, as such a request is too old to guard (see the file
   * comment). Throws RATE_LIMITED when the owner's wallet or source already
   * holds its share, BUSY once stopped or when maxEntries pairs are held,
   * NOT_READY while the clock reads less than the clock mark.
   */
  reserve(
    sessionKey: Uint8Array,
    nonce: Uint8Array,
    expiresAt: number,
    owner: ReplayOwner,
  ): boolean {
    if (this.#stopping !== undefined) throw stoppedError();
    checkBytes(sessionKey, 'sessionKey', SESSION_KEY_BYTES);
    checkBytes(nonce, 'nonce', NONCE_BYTES);
    checkMs(expiresAt, 'expiresAt', 0);
    const id = pairId(sessionKey, nonce);
    if (this.#entries.has(id)) return false;
    const now = this.#clock();
    // Before the expiry check: a pair forgotten at a later time than now may be this one.
    if (now < this.#mark) throw clockBehindError();
    if (expiresAt <= now) return false;
    const wallet = String.fromCharCode(...owner.wallet);
    if ((this.#perWallet.get(wallet) ?? 0) >= this.#maxPerWallet)
      throw new QkmsError(ErrorCode.RATE_LIMITED, 'replay guard: wallet holds its share');
    if ((this.#perSource.get(owner.source) ?? 0) >= this.#maxPerSource)
      throw new QkmsError(ErrorCode.RATE_LIMITED, 'replay guard: source holds its share');
    if (this.#entries.size >= this.#maxEntries)
      throw new QkmsError(ErrorCode.BUSY, 'replay guard: full');
    this.#entries.set(id, {
      id,
      expiresAt,
      keepUntil: this.#monotonic() + (expiresAt - now),
      state: 'reserved',
      batch: undefined,
      error: undefined,
      owner: { wallet, source: owner.source },
    });
    this.#perWallet.set(wallet, (this.#perWallet.get(wallet) ?? 0) + 1);
    this.#perSource.set(owner.source, (this.#perSource.get(owner.source) ?? 0) + 1);
    return true;
  }

  /**
   * Gives back a reservation that was never committed (its request was
   * refused): the pair is free again and no longer charged to its owner. A
   * pair already committed, or unknown, is left as it is.
   */
  release(sessionKey: Uint8Array, nonce: Uint8Array): void {
    const id = pairId(
      checkBytes(sessionKey, 'sessionKey', SESSION_KEY_BYTES),
      checkBytes(nonce, 'nonce', NONCE_BYTES),
    );
    const entry = this.#entries.get(id);
    if (entry?.state === 'reserved') this.#forget(entry);
  }

  /** Pairs held by the wallet (its 20 bytes) and by the source: gauges for tests and metrics. */
  heldBy(owner: { readonly wallet?: Uint8Array; readonly source?: string }): number {
    if (owner.wallet !== undefined)
      return this.#perWallet.get(String.fromCharCode(...owner.wallet)) ?? 0;
    return owner.source === undefined ? 0 : (this.#perSource.get(owner.source) ?? 0);
  }

  #forget(entry: Entry): void {
    this.#entries.delete(entry.id);
    if (entry.owner === undefined) return;
    decrement(this.#perWallet, entry.owner.wallet);
    decrement(this.#perSource, entry.owner.source);
  }

  /**
   * Resolves once the reserved pair is durably recorded (with the other
   * pairs of its batch). Rejects if the write fails, if the pair was not
   * reserved, or if the guard is stopping. Committing twice is harmless.
   */
  async commit(sessionKey: Uint8Array, nonce: Uint8Array): Promise<void> {
    const id = pairId(
      checkBytes(sessionKey, 'sessionKey', SESSION_KEY_BYTES),
      checkBytes(nonce, 'nonce', NONCE_BYTES),
    );
    const entry = this.#entries.get(id);
    if (entry === undefined)
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        'replay guard: commit of a pair not reserved',
      );
    switch (entry.state) {
      case 'durable':
        return;
      case 'failed':
        throw entry.error ?? stoppedError();
      case 'queued':
        if (entry.batch === undefined) throw stoppedError();
        return entry.batch.promise;
      case 'reserved':
        break;
    }
    if (this.#stopping !== undefined) throw stoppedError();
    let batch = this.#batches.at(-1);
    if (batch === undefined || batch.entries.length >= MAX_NONCE_BATCH) {
      batch = newBatch();
      this.#batches.push(batch);
    }
    batch.entries.push(entry);
    entry.state = 'queued';
    entry.batch = batch;
    this.#scheduleFlush();
    return batch.promise;
  }

  #scheduleFlush(): void {
    if (this.#draining !== undefined || this.#cancelFlush !== undefined) return;
    // A full batch goes now; otherwise give companions the window.
    if (this.#batches.length > 1 || (this.#batches[0]?.entries.length ?? 0) >= MAX_NONCE_BATCH) {
      this.#drain();
      return;
    }
    const fire = (): void => {
      this.#cancelFlush = undefined;
      this.#drain();
    };
    if (this.#flushIntervalMs > 0) {
      const timer = setTimeout(fire, this.#flushIntervalMs);
      this.#cancelFlush = () => {
        clearTimeout(timer);
      };
    } else {
      const immediate = setImmediate(fire);
      this.#cancelFlush = () => {
        clearImmediate(immediate);
      };
    }
  }

  /** Writes batches one at a time until none is left; those formed meanwhile go next. */
  #drain(): void {
    this.#cancelFlush?.();
    this.#cancelFlush = undefined;
    if (this.#draining !== undefined || this.#batches.length === 0) return;
    // #batches is non-empty, so run() awaits before it clears #draining.
    const run = async (): Promise<void> => {
      try {
        for (let b = this.#batches.shift(); b !== undefined; b = this.#batches.shift()) {
          await this.#write(b);
        }
      } finally {
        this.#draining = undefined;
      }
    };
    this.#draining = run();
  }

  /** Never rejects: the outcome goes to the batch's callers. */
  async #write(batch: Batch): Promise<void> {
    try {
      await this.#store.putNonces(
        batch.entries.map((e) => ({
          ...pairOf(e.id),
          expiresAt: e.expiresAt,
        })),
      );
    } catch (cause) {
      const error =
        cause instanceof Error ? cause : new Error('replay guard: nonce write failed', { cause });
      for (const e of batch.entries) {
        e.state = 'failed';
        e.error = error;
        e.batch = undefined;
      }
      batch.reject(error);
      return;
    }
    for (const e of batch.entries) {
      e.state = 'durable';
      e.batch = undefined;
    }
    batch.resolve(undefined);
  }

  /**
   * Forgets every pair expired by both clocks — the wall clock at `now`
   * (expiresAt <= now) and the monotonic clock (its remaining lifetime has
   * run) — in memory and deletes their records, after raising the clock mark
   * past them (durably; if that write fails, nothing is forgotten). Returns
   * how many pairs were forgotten. Pairs still being written are left for
   * the next sweep.
   */
  async sweep(now: number = this.#clock()): Promise<number> {
    const mono = this.#monotonic();
    const due: Entry[] = [];
    let highest = this.#mark;
    for (const e of this.#entries.values()) {
      if (e.expiresAt > now || e.keepUntil > mono || e.state === 'queued') continue;
      due.push(e);
      highest = Math.max(highest, e.expiresAt);
    }
    await this.#raiseMark(highest);
    const onDisk: { sessionKey: Uint8Array; nonce: Uint8Array }[] = [];
    let forgotten = 0;
    for (const e of due) {
      // While the mark was written, the pair may have been released, or committed.
      if (this.#entries.get(e.id) !== e || e.state === 'queued') continue;
      this.#forget(e);
      forgotten++;
      // A failed batch may still have reached the disk before its error.
      if (e.state !== 'reserved') onDisk.push(pairOf(e.id));
    }
    if (onDisk.length > 0) await this.#store.deleteNonces(onDisk);
    return forgotten;
  }

  /** Starts the periodic sweep. Idempotent; stop() clears the timer. */
  start(): void {
    if (this.#stopping !== undefined || this.#sweepTimer !== undefined) return;
    this.#sweepTimer = setInterval(() => {
      this.#sweepTick();
    }, this.#sweepIntervalMs);
    // The daemon's lifetime is held by its listeners, not by this timer.
    this.#sweepTimer.unref();
  }

  #sweepTick(): void {
    if (this.#sweeping !== undefined) return;
    this.#sweeping = this.sweep().then(
      () => {
        this.#sweeping = undefined;
      },
      (error: unknown) => {
        this.#sweeping = undefined;
        this.#sweepFailures++;
        try {
          this.#onSweepError(error);
        } catch {
          // a failing error reporter must not take the guard down
        }
      },
    );
  }

  /**
   * Clears every timer, writes the commits already queued and waits for them
   * and for a sweep in flight. Final: reserve and new commits are refused
   * (BUSY) from the first call. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#drain();
    await this.#draining;
    await this.#sweeping;
  }
}
