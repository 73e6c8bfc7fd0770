// The node's one LevelDB (DESIGN.md, Storage), as one object the daemon, the
// services and the CLI hold: a facade over the lifecycle core (core.ts: open
// and close, run markers, the write queue and its fence, the integrity mark)
// and one repository per record kind (repositories/: content, nonces, audit,
// revocations), as Lodestar's db/repositories/. Every method delegates; what
// a record kind means, and how it is keyed and sealed, lives in its
// repository. The on-disk format is keys.ts (keys), record-cipher.ts (values)
// and records.ts (plaintexts).
import { StoreCore, type NodeStoreOptions } from './core.ts';
import type { IntegrityFinding } from './integrity-check.ts';
import type {
  AuditHeadRecord,
  NonceEntry,
  PendingContent,
  StoredContent,
  StoredLineage,
} from './records.ts';
import { AuditRepository, type AuditEntry, type CorruptAuditEntry } from './repositories/audit.ts';
import { ContentRepository } from './repositories/content.ts';
import { NonceRepository } from './repositories/nonces.ts';
import { LineageRepository, type PromotionResult } from './repositories/lineage.ts';
import { PendingRepository } from './repositories/pending.ts';
import { RevocationRepository } from './repositories/revocations.ts';
import type { WriteFence } from './write-queue.ts';

export class NodeStore {
  /** False when the previous run did not close the store (crash, kill -9, power loss), or recovery dropped data. */
  readonly previousShutdownClean: boolean;
  /** When this run opened the store (ms). */
  readonly openedAt: number;
  readonly #core: StoreCore;
  readonly #content: ContentRepository;
  readonly #nonces: NonceRepository;
  readonly #audit: AuditRepository;
  readonly #revocations: RevocationRepository;
  readonly #pending: PendingRepository;
  readonly #lineage: LineageRepository;

  private constructor(core: StoreCore) {
    this.#core = core;
    this.previousShutdownClean = core.previousShutdownClean;
    this.openedAt = core.openedAt;
    this.#content = new ContentRepository(core);
    this.#nonces = new NonceRepository(core);
    this.#audit = new AuditRepository(core);
    this.#revocations = new RevocationRepository(core);
    this.#pending = new PendingRepository(core);
    this.#lineage = new LineageRepository(core);
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
    return new NodeStore(await StoreCore.open(options));
  }

  /**
   * Requests issued before this time must be refused (STALE_EPOCH): 0 after a
   * clean shutdown, else the time this run opened the store.
   */
  get replayEpochStart(): number {
    return this.previousShutdownClean ? 0 : this.openedAt;
  }

  get isOpen(): boolean {
    return this.#core.isOpen;
  }

  /** Set while writes are refused after a failed write, until the database has reopened. */
  get writeFence(): WriteFence | undefined {
    return this.#core.writeFence;
  }

  /** What the store lacks of what the node acknowledged, or undefined: nothing. */
  get integrity(): IntegrityFinding | undefined {
    return this.#core.integrity;
  }

  /**
   * Waits for every operation in flight, records a clean shutdown (synced),
   * closes the database and wipes the derived key. Idempotent: every call
   * returns the same promise. A store that is write-fenced records none: the
   * next run starts a replay epoch, as after a crash.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  // ---- content (repositories/content.ts) ----

  /**
   * The content record, or undefined if this node holds none. STORE_CORRUPT if
   * it fails authentication, or if the node acknowledged it and lost it.
   */
  getContent(contentId: Uint8Array): Promise<StoredContent | undefined> {
    return this.#content.get(contentId);
  }

  /** Stores (or replaces) a content record; durable (and in the mark) before it resolves. */
  putContent(record: StoredContent): Promise<void> {
    return this.#content.put(record);
  }

  /** How many content records the store holds (a gauge; keys only, not authenticated). */
  countContent(): Promise<number> {
    return this.#content.count();
  }

  /** Up to `limit` content ids after `after`, ascending (keys only, not authenticated). */
  listContentIds(after: Uint8Array, limit: number): Promise<Uint8Array[]> {
    return this.#content.listIds(after, limit);
  }

  // ---- pending shares for a successor set (repositories/pending.ts) ----

  getPending(nodeSetId: Uint8Array, contentId: Uint8Array): Promise<PendingContent | undefined> {
    return this.#pending.get(nodeSetId, contentId);
  }

  /** Durable (synced) before it resolves. */
  putPending(record: PendingContent): Promise<void> {
    return this.#pending.put(record);
  }

  // ---- cutover (repositories/lineage.ts; decision 0017) ----

  /** The node sets this node served since its first cutover, or undefined. */
  getLineage(): Promise<StoredLineage | undefined> {
    return this.#lineage.get();
  }

  /** Synced before it resolves. */
  putLineage(lineage: StoredLineage): Promise<void> {
    return this.#lineage.put(lineage);
  }

  /** Held pending shares of `nodeSetId` become content records; the rest are dropped. */
  promotePending(nodeSetId: Uint8Array): Promise<PromotionResult> {
    return this.#lineage.promote(nodeSetId);
  }

  /** A retired node's wipe of every content and pending record (the mark first). */
  wipeShares(): Promise<number> {
    return this.#lineage.wipeShares();
  }

  // ---- nonces (repositories/nonces.ts; node/replay-guard.ts NonceStore) ----

  /** Records used nonces in ONE synced batch (group commit); durable before it resolves. */
  putNonces(entries: readonly NonceEntry[]): Promise<void> {
    return this.#nonces.put(entries);
  }

  /** Every nonce record still live at `now` (expiresAt > now). STORE_CORRUPT if any fails authentication. */
  listNonces(now: number): Promise<NonceEntry[]> {
    return this.#nonces.list(now);
  }

  /** Deletes the records of these pairs (not synced: a lost delete is redone by the next sweep). */
  deleteNonces(pairs: readonly Pick<NonceEntry, 'sessionKey' | 'nonce'>[]): Promise<void> {
    return this.#nonces.delete(pairs);
  }

  /** Deletes every nonce record expired at `now` (expiresAt <= now); returns how many. */
  sweepNonces(now: number): Promise<number> {
    return this.#nonces.sweep(now);
  }

  /** The replay guard's clock mark (ms), or undefined if none was written. */
  getClockMark(): Promise<number | undefined> {
    return this.#nonces.getClockMark();
  }

  /** Records the replay guard's clock mark; durable (synced) before it resolves. */
  putClockMark(at: number): Promise<void> {
    return this.#nonces.putClockMark(at);
  }

  // ---- audit log (repositories/audit.ts; node/audit/log.ts AuditStore) ----

  /** The last record's { seq, hash }, or undefined for an empty log (the later of the store's and the mark's). */
  auditHead(): Promise<AuditHeadRecord | undefined> {
    return this.#audit.head();
  }

  /** Appends records and the new head in one synced batch; durable before it resolves. */
  appendAudit(records: readonly AuditEntry[], head: AuditHeadRecord): Promise<void> {
    return this.#audit.append(records, head);
  }

  /** Every audit record in chain order from `fromSeq` (1: all), or why it could not be opened. */
  auditEntries(
    fromSeq = 1,
    options: { reverse?: boolean; limit?: number } = {},
  ): AsyncGenerator<AuditEntry | CorruptAuditEntry> {
    return this.#audit.entries(fromSeq, options);
  }

  // ---- revocations (repositories/revocations.ts; revocation/live.ts RevocationStore) ----

  hasRevocation(id: Uint8Array): Promise<boolean> {
    return this.#revocations.has(id);
  }

  /** The record's bytes, or undefined. STORE_CORRUPT if it fails authentication. */
  getRevocation(id: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#revocations.get(id);
  }

  /** Stores a record under its id; durable before it resolves. */
  putRevocation(id: Uint8Array, record: Uint8Array): Promise<void> {
    return this.#revocations.put(id, record);
  }

  /** Every record id starting with `prefix` (at most 2 bytes), ascending. Keys only. */
  revocationIds(prefix: Uint8Array): Promise<Uint8Array[]> {
    return this.#revocations.ids(prefix);
  }

  /** Up to `limit` records with id > `after` (empty: from the first), ascending. */
  listRevocations(
    after: Uint8Array,
    limit: number,
  ): Promise<{ id: Uint8Array; record: Uint8Array }[]> {
    return this.#revocations.list(after, limit);
  }
}

export type { NodeStoreOptions } from './core.ts';
export type { IntegrityFinding } from './integrity-check.ts';
export type { WriteFence } from './write-queue.ts';
export type { NonceEntry, PendingContent, RunState, StoredContent } from './records.ts';
