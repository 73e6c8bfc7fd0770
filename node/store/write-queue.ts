// The node store's one write path, and its write fence.
//
// - Every write goes through one queue: one LevelDB batch at a time, the
//   writes that queued meanwhile joined into the next (group commit).
// - After LevelDB, each group updates the independent mark outside LevelDB
//   (integrity-mark.ts) before it is acknowledged.
// - A write that fails may leave a torn record in LevelDB's log, and a later
//   write in the same 32 KiB block would then be dropped by recovery although
//   LevelDB said it succeeded (issue 13 item 1). So after any failed write
//   the queue is fenced: nothing queued or new is acknowledged until the
//   store (core.ts) has closed and reopened the database and lifts the fence.
import { ErrorCode, QkmsError } from '../../protocol/internal.ts';
import type { IntegrityMark } from './integrity-mark.ts';
import { SYNC, errorName, type BatchOp, type Db } from './level-db.ts';
import type { AuditHeadRecord } from './records.ts';

/** Why writes are fenced, for readiness and logs. */
export interface WriteFence {
  readonly since: number;
  /** Reopen attempts so far. */
  readonly attempts: number;
  /** The error name of the last failure (e.g. the failed write's, or a reopen's). */
  readonly lastError: string;
}

/** One write as a repository hands it in. */
export interface Write {
  readonly ops: readonly BatchOp[];
  /** Synced (fsync before it resolves); a group is synced if any of its writes is. */
  readonly sync: boolean;
  /** Contents it stores: their ids join the mark's index. */
  readonly contents?: readonly Uint8Array[];
  /** The audit head it writes: the mark's new audit head. */
  readonly audit?: AuditHeadRecord;
}

/** One caller's write, waiting in the queue for its group's commit. */
interface PendingWrite {
  readonly write: Write;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Refused: an earlier write failed and the database has not reopened yet (retry later). */
function fencedError(): QkmsError {
  return new QkmsError(ErrorCode.BUSY, 'node store: writes fenced after a failed write');
}

export class WriteQueue {
  readonly #db: Db;
  readonly #mark: IntegrityMark;
  readonly #clock: () => number;
  /** Told once per fence, when a write has just failed. */
  readonly #onFenced: (e: unknown) => void;
  #queue: PendingWrite[] = [];
  #writing: Promise<void> | undefined;
  #fence: WriteFence | undefined;

  constructor(deps: {
    db: Db;
    mark: IntegrityMark;
    clock: () => number;
    onFenced: (e: unknown) => void;
  }) {
    this.#db = deps.db;
    this.#mark = deps.mark;
    this.#clock = deps.clock;
    this.#onFenced = deps.onFenced;
  }

  /** Set while writes are refused after a failed write, until lift(). */
  get fence(): WriteFence | undefined {
    return this.#fence;
  }

  /** The drain in progress, if any: a reopen waits for it before closing the database. */
  get writing(): Promise<void> | undefined {
    return this.#writing;
  }

  /**
   * Queues one write; resolves once its group is durable in LevelDB AND in the
   * mark. Rejects at once while fenced; rejects (and fences) if its group fails.
   */
  commit(write: Write): Promise<void> {
    if (this.#fence !== undefined) return Promise.reject(fencedError());
    if (write.ops.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ write, resolve, reject });
      this.#writing ??= this.#drain().finally(() => {
        this.#writing = undefined;
      });
    });
  }

  /** Records a failed reopen attempt while fenced. */
  reopenFailed(e: unknown): void {
    const fence = this.#fence;
    if (fence !== undefined)
      this.#fence = { ...fence, attempts: fence.attempts + 1, lastError: errorName(e) };
  }

  /** Lets writes through again: the database has reopened and been checked. */
  lift(): void {
    this.#fence = undefined;
  }

  async #drain(): Promise<void> {
    // Let the writes of this turn of the event loop join the first group: up to its
    // check phase, so that writes handed in by setImmediate callbacks queued before
    // this one (the replay guard's nonce batch) join too. A recover's nonce and custody
    // record then share one synced batch (decision 0019).
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      if (this.#fence !== undefined) {
        for (const w of group) w.reject(fencedError());
        continue;
      }
      const sync = group.some((w) => w.write.sync);
      const contents = group.flatMap((w) => w.write.contents ?? []);
      let audit: AuditHeadRecord | undefined;
      for (const w of group) if (w.write.audit !== undefined) audit = w.write.audit;
      try {
        await this.#db.batch(
          group.flatMap((w) => w.write.ops),
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

  /** Refuses every further write and tells the store, which reopens the database. */
  #fenceWrites(e: unknown): void {
    if (this.#fence !== undefined) return;
    this.#fence = { since: this.#clock(), attempts: 0, lastError: errorName(e) };
    this.#onFenced(e);
  }
}
