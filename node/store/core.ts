// The lifecycle of the node's one LevelDB (DESIGN.md, Storage), under every
// repository of repositories/:
//
// - Every value is sealed by RecordCipher (AES-256-GCM, key as associated
//   data); a value that fails authentication or decoding throws STORE_CORRUPT
//   and is never returned.
// - Writes that must survive a crash are synchronous (`sync: true`: LevelDB
//   fsyncs its log before the promise resolves), so a kill -9 at any moment
//   loses no acknowledged write. Deletes of expired nonces are not: a lost
//   delete is redone by the next sweep.
// - `open` marks the store running; `close` waits for every operation in
//   flight, then records a clean shutdown. The next open reports whether the
//   previous run ended cleanly: if not, the node cannot trust its nonce
//   records to be complete and starts a replay epoch (`replayEpochStart`).
// - Every write goes through one queue with a write fence (write-queue.ts).
//   After a failed write, the database is closed and reopened (recovery, then
//   a fresh log file), retried with backoff while that fails (a disk still
//   full), and only then are writes let through again.
// - Every open, and every reopen, compares the store with the integrity mark
//   (integrity-check.ts); a store that lacks what the node acknowledged
//   refuses audit and content writes until the operator acts.
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, QkmsError, toHex, type CryptoSuite } from '../../protocol/internal.ts';
import { assertOptionsBag } from '../../shamir/index.ts';
import type { Logger } from '../log.ts';
import { IntegrityMark, type MarkReading, type MarkState } from './integrity-mark.ts';
import { readRecoveryDrops } from './integrity.ts';
import {
  adoptAsFound,
  checkAgainstMark,
  readMetaAuditHead,
  type CheckContext,
  type IntegrityFinding,
} from './integrity-check.ts';
import { MetaName, metaKey } from './keys.ts';
import { SYNC, errorName, getValue, levelDb, openValue, type Db } from './level-db.ts';
import { RecordCipher } from './record-cipher.ts';
import { decodeRunState, encodeRunState, type AuditHeadRecord, type RunState } from './records.ts';
import { WriteQueue, type Write, type WriteFence } from './write-queue.ts';

export interface NodeStoreOptions {
  /** Directory of the LevelDB; created if missing. */
  readonly path: string;
  /** The node's 32-byte storage key (keystore). Not retained: only a derived key is kept, and wiped on close. */
  readonly storageKey: Uint8Array;
  readonly suite: CryptoSuite;
  /** ms since the epoch; Date.now unless a test injects one. */
  readonly clock?: () => number;
  /** Directory of the integrity mark, outside the LevelDB; default `${path}-integrity`. */
  readonly integrityDir?: string;
  /** Where write fences, reopens and integrity findings are told; silent if absent. */
  readonly log?: Logger;
}

const OPTION_KEYS = [
  'path',
  'storageKey',
  'suite',
  'clock',
  'integrityDir',
  'log',
] as const satisfies readonly (keyof NodeStoreOptions)[];
/** First wait before reopening after a failed write; doubles per failed reopen. */
const REOPEN_FIRST_DELAY_MS = 100;
/** Longest wait between reopen attempts: a full disk is watched, not hammered. */
const REOPEN_MAX_DELAY_MS = 5_000;

function invalidArgument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

function closedError(): QkmsError {
  return new QkmsError(ErrorCode.BUSY, 'node store: closed');
}

/** Refused: the store lacks data the node acknowledged; the operator must act first. */
function lostError(): QkmsError {
  return new QkmsError(
    ErrorCode.STORE_CORRUPT,
    'node store: acknowledged data is missing (see the loss report)',
  );
}

function checkOptions(options: NodeStoreOptions): void {
  assertOptionsBag(options, 'node store options', OPTION_KEYS, invalidArgument);
  if (typeof options.path !== 'string' || options.path.length === 0)
    throw invalidArgument('node store options: path must be a path');
}

export class StoreCore {
  /** False when the previous run did not close the store (crash, kill -9, power loss), or recovery dropped data. */
  readonly previousShutdownClean: boolean;
  /** When this run opened the store (ms). */
  readonly openedAt: number;
  /** The database; the same handle across reopens. Repositories read it directly. */
  readonly db: Db;
  readonly #cipher: RecordCipher;
  readonly #clock: () => number;
  readonly #mark: IntegrityMark;
  readonly #path: string;
  readonly #integrityDir: string;
  readonly #log: Logger | undefined;
  readonly #writes: WriteQueue;
  /** Operations in flight: close waits for them before writing the clean-shutdown marker. */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  #closing: Promise<void> | undefined;
  #reopening: Promise<void> | undefined;
  #finding: IntegrityFinding | undefined;
  /** Hex ids of acknowledged contents the store lost: reads of them fail, never "unknown". */
  readonly #lostContents = new Set<string>();

  private constructor(
    db: Db,
    cipher: RecordCipher,
    mark: IntegrityMark,
    init: {
      clock: () => number;
      openedAt: number;
      previousShutdownClean: boolean;
      path: string;
      integrityDir: string;
      log: Logger | undefined;
    },
  ) {
    this.db = db;
    this.#cipher = cipher;
    this.#mark = mark;
    this.#clock = init.clock;
    this.openedAt = init.openedAt;
    this.previousShutdownClean = init.previousShutdownClean;
    this.#path = init.path;
    this.#integrityDir = init.integrityDir;
    this.#log = init.log;
    this.#writes = new WriteQueue({
      db,
      mark,
      clock: init.clock,
      onFenced: (e) => {
        this.#onFenced(e);
      },
    });
  }

  /**
   * Opens (creating if needed) the database at `path`, reads the previous
   * run's marker and marks this run running (synced), then checks the store
   * against the integrity mark. Throws STORE_CORRUPT if the marker fails
   * authentication, which is also how a wrong storage key shows on any store
   * that was opened before. Data found missing does not throw: the node must
   * stay up to say what is missing.
   */
  static async open(options: NodeStoreOptions): Promise<StoreCore> {
    checkOptions(options);
    const clock = options.clock ?? Date.now;
    const integrityDir = options.integrityDir ?? `${options.path}-integrity`;
    const cipher = new RecordCipher(options.storageKey, options.suite);
    const db = levelDb(options.path);
    let mark: IntegrityMark | undefined;
    try {
      await db.open();
      const recovery = await readRecoveryDrops(options.path);
      const key = metaKey(MetaName.run);
      const raw = await getValue(db, key);
      let previous: RunState | undefined;
      if (raw !== undefined) previous = decodeRunState(openValue(cipher, key, raw));
      const openedAt = clock();
      const marker = encodeRunState({
        running: true,
        startedAt: openedAt,
        cleanShutdownAt: previous?.cleanShutdownAt ?? null,
      });
      await db.put(key, cipher.seal(key, marker), SYNC);
      const opened = await IntegrityMark.open(integrityDir);
      mark = opened.mark;
      // No marker at all is a fresh database: nothing in it to distrust. Data that
      // recovery dropped may have held nonces: as unsafe as a crash.
      const clean = (previous === undefined || !previous.running) && recovery.length === 0;
      const core = new StoreCore(db, cipher, mark, {
        clock,
        openedAt,
        previousShutdownClean: clean,
        path: options.path,
        integrityDir,
        log: options.log,
      });
      if (opened.reading.state === undefined) await adoptAsFound(core.#checkContext());
      else await core.#check(opened.reading.state, opened.reading, recovery);
      return core;
    } catch (e) {
      cipher.wipe();
      try {
        await mark?.close();
        await db.close();
      } catch {
        // the error that stopped the open is the one to report
      }
      throw e;
    }
  }

  get isOpen(): boolean {
    return this.#closing === undefined;
  }

  /** Set while writes are refused after a failed write, until the database has reopened. */
  get writeFence(): WriteFence | undefined {
    return this.#writes.fence;
  }

  /** What the store lacks of what the node acknowledged, or undefined: nothing. */
  get integrity(): IntegrityFinding | undefined {
    return this.#finding;
  }

  /** What the integrity mark vouches for now. */
  get markState(): MarkState {
    return this.#mark.state;
  }

  /**
   * Waits for every operation in flight, records a clean shutdown (synced),
   * closes the database and wipes the derived key. Idempotent: every call
   * returns the same promise. A store that is write-fenced records none: the
   * next run starts a replay epoch, as after a crash.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      await Promise.allSettled(this.#inFlight);
      this.#stop.abort();
      await this.#reopening;
      if (this.#writes.fence === undefined) {
        const key = metaKey(MetaName.run);
        const marker = encodeRunState({
          running: false,
          startedAt: this.openedAt,
          cleanShutdownAt: this.#clock(),
        });
        await this.#writes.commit({
          ops: [{ type: 'put', key, value: this.#cipher.seal(key, marker) }],
          sync: true,
        });
      }
    } finally {
      this.#cipher.wipe();
      try {
        await this.#mark.close();
      } finally {
        await this.db.close();
      }
    }
  }

  // ---- what repositories use ----

  /**
   * Runs `op` unless the store is closing, and lets close wait for it. Every
   * public method of the store returns a promise and never throws
   * synchronously: bad input and a closed store are rejections.
   */
  run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(closedError());
    const p = op();
    this.#inFlight.add(p);
    const done = (): void => {
      this.#inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Queues one write (write-queue.ts); resolves once durable in LevelDB and in the mark. */
  commit(write: Write): Promise<void> {
    return this.#writes.commit(write);
  }

  /** The integrity mark stops vouching for any content (integrity-mark.ts forgetContents). */
  forgetContents(): Promise<void> {
    return this.#mark.forgetContents();
  }

  /** Seals a value under its key (the key is authenticated with it). */
  seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return this.#cipher.seal(key, plaintext);
  }

  /** Opens a sealed value read from LevelDB; STORE_CORRUPT if it fails authentication. */
  open(key: Uint8Array, raw: Uint8Array): Uint8Array {
    return openValue(this.#cipher, key, raw);
  }

  /** The authenticated value under `key`, or undefined if absent. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const raw = await getValue(this.db, key);
    return raw === undefined ? undefined : this.open(key, raw);
  }

  /** Throws STORE_CORRUPT while the store lacks acknowledged data: audit and content writes wait for the operator. */
  refuseIfLost(): void {
    if (this.#finding !== undefined) throw lostError();
  }

  /** Whether the node acknowledged this content and the store lost it. */
  isLostContent(contentId: Uint8Array): boolean {
    return this.#lostContents.has(toHex(contentId));
  }

  /** The audit head the store records (meta), or undefined for an empty log. */
  metaAuditHead(): Promise<AuditHeadRecord | undefined> {
    return readMetaAuditHead(this.db, this.#cipher);
  }

  // ---- the write fence: reopen until the database opens again ----

  #onFenced(e: unknown): void {
    this.#log?.error('store write failed: writes fenced until the database reopens', {
      error: errorName(e),
    });
    this.#reopening = this.#reopen().finally(() => {
      this.#reopening = undefined;
    });
  }

  /**
   * Closes and reopens the LevelDB until it opens (recovery replays the log up
   * to the torn record, then starts a fresh log file), cuts the mark's index
   * back to what it vouches for, checks the store against the mark, and only
   * then lifts the fence. Stops when the store closes.
   */
  async #reopen(): Promise<void> {
    let delay = REOPEN_FIRST_DELAY_MS;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const fence = this.#writes.fence;
      if (fence === undefined) return;
      try {
        // Nothing new reaches LevelDB once fenced; wait for the failed group's drain.
        await this.#writes.writing;
        await this.db.close();
        await this.#mark.repair();
        await this.db.open();
        const recovery = await readRecoveryDrops(this.#path);
        await this.#check(this.#mark.state, await this.#mark.read(), recovery);
        this.#writes.lift();
        this.#log?.warn('store reopened after a failed write: writes resume', {
          attempts: fence.attempts + 1,
        });
        return;
      } catch (e) {
        this.#writes.reopenFailed(e);
        this.#log?.error('store reopen failed: still fenced', {
          attempts: fence.attempts + 1,
          error: errorName(e),
        });
      }
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return; // closing
      }
      delay = Math.min(delay * 2, REOPEN_MAX_DELAY_MS);
    }
  }

  // ---- integrity (integrity-check.ts) ----

  #checkContext(): CheckContext {
    return {
      db: this.db,
      cipher: this.#cipher,
      mark: this.#mark,
      integrityDir: this.#integrityDir,
      clock: this.#clock,
      log: this.#log,
    };
  }

  /** Compares the store with what the mark vouches for; records any loss. */
  async #check(mark: MarkState, reading: MarkReading, recovery: readonly string[]): Promise<void> {
    const finding = await checkAgainstMark(this.#checkContext(), mark, reading, recovery);
    if (finding === undefined) return;
    this.#finding = finding;
    for (const id of finding.loss.contents) this.#lostContents.add(toHex(id));
  }
}
