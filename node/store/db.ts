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
import { Level } from 'level';
import { ErrorCode, QkmsError, wipe, type CryptoSuite } from '../../protocol/index.ts';
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
import { RecordCipher } from './record-cipher.ts';
import {
  decodeAuditHead,
  encodeAuditHead,
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
}

const OPTION_KEYS = new Set(['path', 'storageKey', 'suite', 'clock']);
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
  /** False when the previous run did not close the store (crash, kill -9, power loss). */
  readonly previousShutdownClean: boolean;
  /** When this run opened the store (ms). */
  readonly openedAt: number;
  readonly #db: Db;
  readonly #cipher: RecordCipher;
  readonly #clock: () => number;
  /** Operations in flight: close waits for them before writing the clean-shutdown marker. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  private constructor(
    db: Db,
    cipher: RecordCipher,
    clock: () => number,
    openedAt: number,
    previousShutdownClean: boolean,
  ) {
    this.#db = db;
    this.#cipher = cipher;
    this.#clock = clock;
    this.openedAt = openedAt;
    this.previousShutdownClean = previousShutdownClean;
  }

  /**
   * Opens (creating if needed) the database at `path`, reads the previous
   * run's marker and marks this run running (synced). Throws STORE_CORRUPT if
   * the marker fails authentication, which is also how a wrong storage key
   * shows on any store that was opened before.
   */
  static async open(options: NodeStoreOptions): Promise<NodeStore> {
    checkOptions(options);
    const clock = options.clock ?? Date.now;
    const cipher = new RecordCipher(options.storageKey, options.suite);
    const db: Db = new Level<Uint8Array, Uint8Array>(options.path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    try {
      await db.open();
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
      // No marker at all is a fresh database: nothing in it to distrust.
      const clean = previous === undefined || !previous.running;
      return new NodeStore(db, cipher, clock, openedAt, clean);
    } catch (e) {
      cipher.wipe();
      try {
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

  /**
   * Waits for every operation in flight, records a clean shutdown (synced),
   * closes the database and wipes the derived key. Idempotent: every call
   * returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      await Promise.allSettled(this.#inFlight);
      const key = metaKey(MetaName.run);
      const marker = encodeRunState({
        running: false,
        startedAt: this.openedAt,
        cleanShutdownAt: this.#clock(),
      });
      await this.#db.put(key, this.#cipher.seal(key, marker), SYNC);
    } finally {
      this.#cipher.wipe();
      await this.#db.close();
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

  // ---- content ----

  /** The content record, or undefined if this node holds none. STORE_CORRUPT if it fails authentication. */
  async getContent(contentId: Uint8Array): Promise<StoredContent | undefined> {
    const key = contentKey(checkContentId(contentId));
    return this.#run(async () => {
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

  /** Stores (or replaces) a content record; durable before it resolves. */
  async putContent(record: StoredContent): Promise<void> {
    checkContent(record);
    const key = contentKey(record.contentId);
    return this.#run(async () => {
      const plaintext = encodeContent(record);
      let sealed: Uint8Array;
      try {
        sealed = this.#cipher.seal(key, plaintext);
      } finally {
        wipe(plaintext);
      }
      await this.#db.put(key, sealed, SYNC);
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
      await this.#db.batch(ops, SYNC);
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
      await this.#db.batch(
        pairs.map((p) => ({ type: 'del' as const, key: nonceKey(p.sessionKey, p.nonce) })),
      );
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
        await this.#db.batch(expired.map((key) => ({ type: 'del' as const, key })));
      return expired.length;
    });
  }

  // ---- audit log (node/audit/log.ts AuditStore) ----

  /** The last record's { seq, hash } as the meta head records it, or undefined for an empty log. */
  async auditHead(): Promise<AuditHeadRecord | undefined> {
    const key = metaKey(MetaName.auditHead);
    return this.#run(async () => {
      const raw = await getValue(this.#db, key);
      return raw === undefined ? undefined : decodeAuditHead(openValue(this.#cipher, key, raw));
    });
  }

  /** Appends records and the new head in one synced batch; durable before it resolves. */
  async appendAudit(
    records: readonly { seq: number; value: Uint8Array }[],
    head: AuditHeadRecord,
  ): Promise<void> {
    return this.#run(async () => {
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
      await this.#db.batch(ops, SYNC);
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
      await this.#db.put(key, this.#cipher.seal(key, record), SYNC);
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
