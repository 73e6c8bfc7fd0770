// The node's one LevelDB (DESIGN.md, Storage): shares with their manifests
// and owners, used nonces, revocation records, node metadata; the audit log
// will join under the prefix keys.ts reserves for it.
//
// - Every value is sealed by RecordCipher (AES-256-GCM, key as associated
//   data); a value that fails authentication or decoding throws STORE_CORRUPT
//   and is never returned.
// - Writes that must survive a crash are synchronous (`sync: true`: LevelDB
//   fsyncs its log before the promise resolves), so a kill -9 at any moment
//   loses no acknowledged write. Deletes of expired nonces are not: a lost
//   delete is redone by the next sweep.
// - `open` marks the store running; `close` waits for every write in flight,
//   then records a clean shutdown. The next open reports whether the previous
//   run ended cleanly: if not, the node cannot trust its nonce records to be
//   complete and starts a replay epoch (`replayEpochStart`).
// - Every write goes through one queue (#commit): one LevelDB batch at a time,
//   the writes that queued meanwhile joined into the next (group commit). A
//   write that fails may leave a torn record in LevelDB's log, and a later
//   write in the same 32 KiB block would then be dropped by recovery although
//   LevelDB said it succeeded (issue 13 item 1). So after any failed write
//   the store is write-fenced: nothing queued or new is acknowledged until the
//   database has been closed and reopened (recovery, then a fresh log file),
//   retried with backoff while that fails (a disk still full).
// - After LevelDB, each write group updates the independent mark outside
//   LevelDB (integrity-mark.ts) before it is acknowledged. Every open compares
//   the store with that mark (integrity.ts); what the node acknowledged and no
//   longer holds is reported by audit range and content id, the report is
//   written beside the mark, and the store refuses audit and content writes
//   (no share leaves, nothing is acknowledged) until the operator acts
//   (docs/decisions/0008-storage-integrity.md).
import { setTimeout as sleep } from 'node:timers/promises';
import { Level } from 'level';
import { ErrorCode, QkmsError, toHex, wipe, type CryptoSuite } from '../../protocol/index.ts';
import {
  MetaName,
  STORE_LENGTHS,
  contentKey,
  kindRange,
  metaKey,
  nonceKey,
  prefixRange,
  revocationKey,
  AUDIT_KEY_BYTES,
  auditKey,
  auditSeq,
} from './keys.ts';
import { IntegrityMark, type MarkState } from './integrity-mark.ts';
import {
  findLoss,
  isLoss,
  lossSummary,
  readRecoveryDrops,
  writeLossReport,
  type IntegrityLoss,
  type StoreView,
} from './integrity.ts';
import { RecordCipher } from './record-cipher.ts';
import type { Logger } from '../log.ts';
import {
  decodeAuditHead,
  decodeClockMark,
  encodeAuditHead,
  encodeClockMark,
  type AuditHeadRecord,
  checkContent,
  checkNonceEntry,
  decodeContent,
  decodeNonceValue,
  decodeRunState,
  encodeContent,
  encodeNonceValue,
  encodeRunState,
  type NonceEntry,
  type RunState,
  type StoredContent,
} from './records.ts';

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

const OPTION_KEYS = new Set(['path', 'storageKey', 'suite', 'clock', 'integrityDir', 'log']);
/** First wait before reopening after a failed write; doubles per failed reopen. */
const REOPEN_FIRST_DELAY_MS = 100;
/** Longest wait between reopen attempts: a full disk is watched, not hammered. */
const REOPEN_MAX_DELAY_MS = 5_000;
/** Keys an iterator step fetches at once when only counting. */
const COUNT_STEP = 1024;
const NONCE_KEY_BYTES = 1 + STORE_LENGTHS.sessionKey + STORE_LENGTHS.nonce;
const REVOCATION_KEY_BYTES = 1 + STORE_LENGTHS.revocationId;
const SYNC = { sync: true } as const;

function malformedKey(kind: string): QkmsError {
  return new QkmsError(ErrorCode.STORE_CORRUPT, `node store: ${kind} record has a malformed key`);
}

function checkRevocationId(id: Uint8Array): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length !== STORE_LENGTHS.revocationId)
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `revocation id: expected ${STORE_LENGTHS.revocationId} bytes`,
    );
  return id;
}

type Db = Level<Uint8Array, Uint8Array>;

function closedError(): QkmsError {
  return new QkmsError(ErrorCode.BUSY, 'node store: closed');
}

/** Refused: an earlier write failed and the database has not reopened yet (retry later). */
function fencedError(): QkmsError {
  return new QkmsError(ErrorCode.BUSY, 'node store: writes fenced after a failed write');
}

/** Refused: the store lacks data the node acknowledged; the operator must act first. */
function lostError(): QkmsError {
  return new QkmsError(
    ErrorCode.STORE_CORRUPT,
    'node store: acknowledged data is missing (see the loss report)',
  );
}

type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/** One caller's write, waiting in the queue for its group's commit. */
interface PendingWrite {
  readonly ops: readonly BatchOp[];
  readonly sync: boolean;
  /** Contents it stores: their ids join the mark's index. */
  readonly contents: readonly Uint8Array[];
  /** The audit head it writes: the mark's new audit head. */
  readonly audit: AuditHeadRecord | undefined;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Why writes are fenced, for readiness and logs. */
export interface WriteFence {
  readonly since: number;
  /** Reopen attempts so far. */
  readonly attempts: number;
  /** The error name of the last failure (e.g. the failed write's, or a reopen's). */
  readonly lastError: string;
}

/** What the last integrity check found missing, and where the report went. */
export interface IntegrityFinding {
  readonly loss: IntegrityLoss;
  /** One line: counts and sequence numbers only. */
  readonly summary: string;
  /** The loss report's path, or undefined if it could not be written. */
  readonly reportPath: string | undefined;
}

function errorName(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const cause = (e as { cause?: { code?: unknown } }).cause?.code;
    return typeof code === 'string' ? code : typeof cause === 'string' ? cause : e.name;
  }
  return typeof e;
}

function checkOptions(options: NodeStoreOptions): void {
  if (typeof options !== 'object') {
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'node store options: expected an object');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `node store options: unknown option ${key}`);
  }
  if (typeof options.path !== 'string' || options.path.length === 0)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'node store options: path must be a path');
}

function checkContentId(contentId: Uint8Array): Uint8Array {
  if (!(contentId instanceof Uint8Array) || contentId.length !== STORE_LENGTHS.contentId) {
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `contentId: expected ${STORE_LENGTHS.contentId} bytes`,
    );
  }
  return contentId;
}

function checkNow(now: number): void {
  if (!Number.isSafeInteger(now))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'now: expected an integer of ms');
}

export class NodeStore {
  /** False when the previous run did not close the store (crash, kill -9, power loss), or recovery dropped data. */
  readonly previousShutdownClean: boolean;
  /** When this run opened the store (ms). */
  readonly openedAt: number;
  readonly #db: Db;
  readonly #cipher: RecordCipher;
  readonly #clock: () => number;
  readonly #mark: IntegrityMark;
  readonly #path: string;
  readonly #integrityDir: string;
  readonly #log: Logger | undefined;
  /** Operations in flight: close waits for them before writing the clean-shutdown marker. */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  #closing: Promise<void> | undefined;
  #queue: PendingWrite[] = [];
  #writing: Promise<void> | undefined;
  #fence: WriteFence | undefined;
  #reopening: Promise<void> | undefined;
  #finding: IntegrityFinding | undefined;
  /** Hex ids of acknowledged contents the store lost: reads of them fail, never "unknown". */
  #lostContents = new Set<string>();

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
    this.#db = db;
    this.#cipher = cipher;
    this.#mark = mark;
    this.#clock = init.clock;
    this.openedAt = init.openedAt;
    this.previousShutdownClean = init.previousShutdownClean;
    this.#path = init.path;
    this.#integrityDir = init.integrityDir;
    this.#log = init.log;
  }

  /**
   * Opens (creating if needed) the database at `path`, reads the previous
   * run's marker and marks this run running (synced), then checks the store
   * against the integrity mark (see `integrity`). Throws STORE_CORRUPT if the
   * marker fails authentication, which is also how a wrong storage key shows
   * on any store that was opened before. Data found missing does not throw:
   * the node must stay up to say what is missing.
   */
  static async open(options: NodeStoreOptions): Promise<NodeStore> {
    checkOptions(options);
    const clock = options.clock ?? Date.now;
    const integrityDir = options.integrityDir ?? `${options.path}-integrity`;
    const cipher = new RecordCipher(options.storageKey, options.suite);
    const db: Db = new Level<Uint8Array, Uint8Array>(options.path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
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
      const store = new NodeStore(db, cipher, mark, {
        clock,
        openedAt,
        previousShutdownClean: clean,
        path: options.path,
        integrityDir,
        log: options.log,
      });
      if (opened.reading.state === undefined) await store.#adoptAsFound();
      else await store.#check(opened.reading.state, opened.reading, recovery);
      return store;
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

  /**
   * Requests issued before this time must be refused (STALE_EPOCH): 0 after a
   * clean shutdown, else the time this run opened the store.
   */
  get replayEpochStart(): number {
    return this.previousShutdownClean ? 0 : this.openedAt;
  }

  get isOpen(): boolean {
    return this.#closing === undefined;
  }

  /** Set while writes are refused after a failed write, until the database has reopened. */
  get writeFence(): WriteFence | undefined {
    return this.#fence;
  }

  /** What the store lacks of what the node acknowledged, or undefined: nothing. */
  get integrity(): IntegrityFinding | undefined {
    return this.#finding;
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
      if (this.#fence === undefined) {
        const key = metaKey(MetaName.run);
        const marker = encodeRunState({
          running: false,
          startedAt: this.openedAt,
          cleanShutdownAt: this.#clock(),
        });
        await this.#commit({
          ops: [{ type: 'put', key, value: this.#cipher.seal(key, marker) }],
          sync: true,
        });
      }
    } finally {
      this.#cipher.wipe();
      try {
        await this.#mark.close();
      } finally {
        await this.#db.close();
      }
    }
  }

  /**
   * Runs `op` unless the store is closing, and lets close wait for it. Every
   * public method returns a promise and never throws synchronously: bad input
   * and a closed store are rejections.
   */
  #run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(closedError());
    const p = op();
    this.#inFlight.add(p);
    const done = (): void => {
      this.#inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  // ---- the write queue and its fence ----

  /**
   * Queues one write; resolves once its group is durable in LevelDB AND in the
   * mark. Rejects at once while fenced; rejects (and fences) if its group fails.
   */
  #commit(write: {
    ops: readonly BatchOp[];
    sync: boolean;
    contents?: readonly Uint8Array[];
    audit?: AuditHeadRecord;
  }): Promise<void> {
    if (this.#fence !== undefined) return Promise.reject(fencedError());
    if (write.ops.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        ops: write.ops,
        sync: write.sync,
        contents: write.contents ?? [],
        audit: write.audit,
        resolve,
        reject,
      });
      this.#writing ??= this.#drain().finally(() => {
        this.#writing = undefined;
      });
    });
  }

  async #drain(): Promise<void> {
    // Let the writes of this turn of the event loop join the first group.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      if (this.#fence !== undefined) {
        for (const w of group) w.reject(fencedError());
        continue;
      }
      const sync = group.some((w) => w.sync);
      const contents = group.flatMap((w) => w.contents);
      let audit: AuditHeadRecord | undefined;
      for (const w of group) if (w.audit !== undefined) audit = w.audit;
      try {
        await this.#db.batch(
          group.flatMap((w) => w.ops),
          sync ? SYNC : {},
        );
        if (contents.length > 0 || audit !== undefined)
          await this.#mark.commit({ contents, audit });
      } catch (e) {
        this.#fenceWrites(e);
        const error = new QkmsError(ErrorCode.BUSY, 'node store: write failed', { cause: e });
        for (const w of group) w.reject(error);
        continue;
      }
      for (const w of group) w.resolve();
    }
  }

  /** Refuses every further write and reopens the database in the background. */
  #fenceWrites(e: unknown): void {
    if (this.#fence !== undefined) return;
    this.#fence = { since: this.#clock(), attempts: 0, lastError: errorName(e) };
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
      const fence = this.#fence;
      if (fence === undefined) return;
      try {
        // Nothing new reaches LevelDB once fenced; wait for the failed group's drain.
        await this.#writing;
        await this.#db.close();
        await this.#mark.repair();
        await this.#db.open();
        const recovery = await readRecoveryDrops(this.#path);
        await this.#check(this.#mark.state, await this.#mark.read(), recovery);
        this.#fence = undefined;
        this.#log?.warn('store reopened after a failed write: writes resume', {
          attempts: fence.attempts + 1,
        });
        return;
      } catch (e) {
        this.#fence = { ...fence, attempts: fence.attempts + 1, lastError: errorName(e) };
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

  // ---- integrity (integrity.ts) ----

  /** First open with a mark: what the store holds now becomes the baseline. */
  async #adoptAsFound(): Promise<void> {
    const ids: Uint8Array[] = [];
    for await (const key of this.#db.keys(kindRange('content')))
      ids.push(new Uint8Array(key.subarray(1)));
    const head = await this.#metaAuditHead();
    await this.#mark.adopt(ids, head ?? { seq: 0, hash: new Uint8Array(32) });
    if (ids.length > 0 || head !== undefined)
      this.#log?.warn('store has no integrity mark yet: adopting it as found', {
        contents: ids.length,
        auditHead: head?.seq ?? 0,
      });
  }

  /** Compares the store with what the mark vouches for; records and reports any loss. */
  async #check(
    mark: MarkState,
    reading: Parameters<typeof findLoss>[1],
    recovery: readonly string[],
  ): Promise<void> {
    const view: StoreView = {
      auditSeqs: () => this.#auditSeqs(),
      hasContent: async (id) => (await getValue(this.#db, contentKey(id))) !== undefined,
    };
    const loss = await findLoss(mark, reading, view, recovery);
    if (!isLoss(loss)) return;
    let reportPath: string | undefined;
    try {
      reportPath = await writeLossReport(this.#integrityDir, loss, {
        detectedAt: this.#clock(),
        mark,
      });
    } catch (e) {
      this.#log?.error('storage loss report could not be written', { error: errorName(e) });
    }
    this.#finding = { loss, summary: lossSummary(loss), reportPath };
    for (const id of loss.contents) this.#lostContents.add(toHex(id));
    const first = loss.audit[0];
    this.#log?.error('store lacks acknowledged data: not ready until the operator acts', {
      auditFrom: first?.from ?? null,
      auditTo: loss.audit.at(-1)?.to ?? null,
      auditRanges: loss.audit.length,
      contents: loss.contents.length,
      markProblems: loss.markProblems.length,
      recoveryDrops: loss.recovery.length,
      report: reportPath ?? null,
    });
  }

  async *#auditSeqs(): AsyncGenerator<number> {
    for await (const key of this.#db.keys(kindRange('audit'))) {
      const k = new Uint8Array(key);
      if (k.length === AUDIT_KEY_BYTES) yield auditSeq(k);
    }
  }

  async #metaAuditHead(): Promise<AuditHeadRecord | undefined> {
    const key = metaKey(MetaName.auditHead);
    const raw = await getValue(this.#db, key);
    return raw === undefined ? undefined : decodeAuditHead(openValue(this.#cipher, key, raw));
  }

  // ---- content ----

  /**
   * The content record, or undefined if this node holds none. STORE_CORRUPT if
   * it fails authentication, or if the node acknowledged it and lost it (never
   * "unknown" for content this node vouched for).
   */
  async getContent(contentId: Uint8Array): Promise<StoredContent | undefined> {
    const key = contentKey(checkContentId(contentId));
    return this.#run(async () => {
      if (this.#lostContents.has(toHex(contentId)))
        throw new QkmsError(ErrorCode.STORE_CORRUPT, 'node store: content record lost');
      const raw = await getValue(this.#db, key);
      if (raw === undefined) return undefined;
      const plaintext = openValue(this.#cipher, key, raw);
      let record: StoredContent;
      try {
        record = decodeContent(plaintext);
      } finally {
        wipe(plaintext);
      }
      // The key is authenticated with the value; a record naming another id was written wrong.
      if (!equalPublic(record.contentId, contentId)) {
        wipe(record.share);
        throw new QkmsError(ErrorCode.STORE_CORRUPT, 'node store: content record names another id');
      }
      return record;
    });
  }

  /** Stores (or replaces) a content record; durable (and in the mark) before it resolves. */
  async putContent(record: StoredContent): Promise<void> {
    checkContent(record);
    const key = contentKey(record.contentId);
    return this.#run(async () => {
      if (this.#finding !== undefined) throw lostError();
      const plaintext = encodeContent(record);
      let sealed: Uint8Array;
      try {
        sealed = this.#cipher.seal(key, plaintext);
      } finally {
        wipe(plaintext);
      }
      await this.#commit({
        ops: [{ type: 'put', key, value: sealed }],
        sync: true,
        contents: [record.contentId.slice()],
      });
    });
  }

  /** How many content records the store holds (a gauge; keys only, not authenticated). */
  countContent(): Promise<number> {
    return this.#run(async () => {
      const it = this.#db.keys(kindRange('content'));
      let count = 0;
      try {
        for (;;) {
          const keys = await it.nextv(COUNT_STEP);
          if (keys.length === 0) return count;
          count += keys.length;
        }
      } finally {
        await it.close();
      }
    });
  }

  // ---- nonces ----

  /** Records used nonces in ONE synced batch (group commit); durable before it resolves. */
  async putNonces(entries: readonly NonceEntry[]): Promise<void> {
    for (const entry of entries) checkNonceEntry(entry);
    return this.#run(async () => {
      if (entries.length === 0) return;
      const ops = entries.map((entry) => {
        const key = nonceKey(entry.sessionKey, entry.nonce);
        return {
          type: 'put' as const,
          key,
          value: this.#cipher.seal(key, encodeNonceValue(entry.expiresAt)),
        };
      });
      await this.#commit({ ops, sync: true });
    });
  }

  /** Every nonce record still live at `now` (expiresAt > now). STORE_CORRUPT if any fails authentication. */
  async listNonces(now: number): Promise<NonceEntry[]> {
    checkNow(now);
    return this.#run(async () => {
      const live: NonceEntry[] = [];
      await this.#eachNonce((entry) => {
        if (entry.expiresAt > now) live.push(entry);
      });
      return live;
    });
  }

  /** Deletes the records of these pairs (not synced: a lost delete is redone by the next sweep). */
  async deleteNonces(pairs: readonly Pick<NonceEntry, 'sessionKey' | 'nonce'>[]): Promise<void> {
    for (const p of pairs) checkNonceEntry({ ...p, expiresAt: 0 });
    return this.#run(async () => {
      if (pairs.length === 0) return;
      await this.#commit({
        ops: pairs.map((p) => ({ type: 'del' as const, key: nonceKey(p.sessionKey, p.nonce) })),
        sync: false,
      });
    });
  }

  /** Deletes every nonce record expired at `now` (expiresAt <= now); returns how many. */
  async sweepNonces(now: number): Promise<number> {
    checkNow(now);
    return this.#run(async () => {
      const expired: Uint8Array[] = [];
      await this.#eachNonce((entry, key) => {
        if (entry.expiresAt <= now) expired.push(key);
      });
      if (expired.length > 0)
        await this.#commit({
          ops: expired.map((key) => ({ type: 'del' as const, key })),
          sync: false,
        });
      return expired.length;
    });
  }

  /** The replay guard's clock mark (ms), or undefined if none was written. STORE_CORRUPT if it fails authentication. */
  async getClockMark(): Promise<number | undefined> {
    const key = metaKey(MetaName.clockMark);
    return this.#run(async () => {
      const raw = await getValue(this.#db, key);
      return raw === undefined ? undefined : decodeClockMark(openValue(this.#cipher, key, raw));
    });
  }

  /** Records the replay guard's clock mark; durable (synced) before it resolves. */
  async putClockMark(at: number): Promise<void> {
    const value = encodeClockMark(at);
    const key = metaKey(MetaName.clockMark);
    return this.#run(async () => {
      await this.#commit({
        ops: [{ type: 'put', key, value: this.#cipher.seal(key, value) }],
        sync: true,
      });
    });
  }

  // ---- audit log (node/audit/log.ts AuditStore) ----

  /**
   * The last record's { seq, hash }, or undefined for an empty log: the later
   * of the meta head and the mark's. A mark ahead of the store means records
   * were lost: the chain continues after them (never reusing their sequence
   * numbers) and verify reports them missing.
   */
  async auditHead(): Promise<AuditHeadRecord | undefined> {
    return this.#run(async () => {
      const meta = await this.#metaAuditHead();
      const mark = this.#mark.state;
      if (mark.auditSeq > (meta?.seq ?? 0))
        return { seq: mark.auditSeq, hash: mark.auditHash.slice() };
      return meta;
    });
  }

  /** Appends records and the new head in one synced batch; durable before it resolves. */
  async appendAudit(
    records: readonly { seq: number; value: Uint8Array }[],
    head: AuditHeadRecord,
  ): Promise<void> {
    return this.#run(async () => {
      if (this.#finding !== undefined) throw lostError();
      const headKey = metaKey(MetaName.auditHead);
      const ops = records.map(({ seq, value }) => {
        const key = auditKey(seq);
        return { type: 'put' as const, key, value: this.#cipher.seal(key, value) };
      });
      ops.push({
        type: 'put',
        key: headKey,
        value: this.#cipher.seal(headKey, encodeAuditHead(head)),
      });
      await this.#commit({ ops, sync: true, audit: head });
    });
  }

  /**
   * Every audit record in chain order, from `fromSeq` (1: all): its sequence
   * number from the key and its authenticated value, or why it could not be
   * opened. Never throws for one bad record: verify reports it.
   */
  async *auditEntries(
    fromSeq = 1,
    options: { reverse?: boolean; limit?: number } = {},
  ): AsyncGenerator<{ seq: number; value: Uint8Array } | { seq: number; corrupt: string }> {
    const range = kindRange('audit');
    const iterator = this.#db.iterator({
      gte: auditKey(fromSeq),
      lt: range.lt,
      ...(options.reverse === true ? { reverse: true } : {}),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    try {
      for await (const [raw, value] of iterator) {
        const key = new Uint8Array(raw);
        if (key.length !== AUDIT_KEY_BYTES) {
          yield { seq: 0, corrupt: 'a malformed key' };
          return;
        }
        const seq = auditSeq(key);
        try {
          yield { seq, value: openValue(this.#cipher, key, value) };
        } catch {
          yield { seq, corrupt: 'fails authentication (changed on disk, or moved)' };
        }
      }
    } finally {
      await iterator.close();
    }
  }

  // ---- revocations (revocation/live.ts RevocationStore) ----

  async hasRevocation(id: Uint8Array): Promise<boolean> {
    const key = revocationKey(checkRevocationId(id));
    return this.#run(async () => (await getValue(this.#db, key)) !== undefined);
  }

  /** The record's bytes, or undefined. STORE_CORRUPT if it fails authentication. */
  async getRevocation(id: Uint8Array): Promise<Uint8Array | undefined> {
    const key = revocationKey(checkRevocationId(id));
    return this.#run(async () => {
      const raw = await getValue(this.#db, key);
      return raw === undefined ? undefined : openValue(this.#cipher, key, raw);
    });
  }

  /** Stores a record under its id; durable before it resolves. */
  async putRevocation(id: Uint8Array, record: Uint8Array): Promise<void> {
    const key = revocationKey(checkRevocationId(id));
    return this.#run(async () => {
      await this.#commit({
        ops: [{ type: 'put', key, value: this.#cipher.seal(key, record) }],
        sync: true,
      });
    });
  }

  /** Every record id starting with `prefix` (at most 2 bytes), ascending. Keys only. */
  async revocationIds(prefix: Uint8Array): Promise<Uint8Array[]> {
    if (!(prefix instanceof Uint8Array) || prefix.length > 2)
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'revocation prefix: at most 2 bytes');
    return this.#run(async () => {
      const ids: Uint8Array[] = [];
      for await (const key of this.#db.keys(prefixRange('revocation', prefix))) {
        if (key.length !== REVOCATION_KEY_BYTES) throw malformedKey('revocation');
        ids.push(new Uint8Array(key.subarray(1)));
      }
      return ids;
    });
  }

  /** Up to `limit` records with id > `after` (empty: from the first), ascending. */
  async listRevocations(
    after: Uint8Array,
    limit: number,
  ): Promise<{ id: Uint8Array; record: Uint8Array }[]> {
    if (after.length !== 0) checkRevocationId(after);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'limit: a positive integer');
    const range = kindRange('revocation');
    const bounds =
      after.length === 0
        ? { gte: range.gte, lt: range.lt }
        : { gt: revocationKey(after), lt: range.lt };
    return this.#run(async () => {
      const out: { id: Uint8Array; record: Uint8Array }[] = [];
      for await (const [raw, value] of this.#db.iterator({ ...bounds, limit })) {
        const key = new Uint8Array(raw);
        if (key.length !== REVOCATION_KEY_BYTES) throw malformedKey('revocation');
        out.push({ id: key.slice(1), record: openValue(this.#cipher, key, value) });
      }
      return out;
    });
  }

  async #eachNonce(visit: (entry: NonceEntry, key: Uint8Array) => void): Promise<void> {
    for await (const [raw, value] of this.#db.iterator(kindRange('nonce'))) {
      const key = new Uint8Array(raw);
      if (key.length !== NONCE_KEY_BYTES) throw malformedKey('nonce');
      const expiresAt = decodeNonceValue(openValue(this.#cipher, key, value));
      visit(
        {
          sessionKey: key.slice(1, 1 + STORE_LENGTHS.sessionKey),
          nonce: key.slice(1 + STORE_LENGTHS.sessionKey),
          expiresAt,
        },
        key,
      );
    }
  }
}

/** LevelDB's get, typed as it behaves: undefined when the key is absent. */
async function getValue(db: Db, key: Uint8Array): Promise<Uint8Array | undefined> {
  return db.get(key);
}

/** Opens a sealed value; `raw` may be a Buffer from LevelDB, so work on a plain copy. */
function openValue(cipher: RecordCipher, key: Uint8Array, raw: Uint8Array): Uint8Array {
  return cipher.open(key, new Uint8Array(raw));
}

/** Byte equality of public values (ids), not constant time. */
function equalPublic(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export type { NonceEntry, RunState, StoredContent } from './records.ts';
