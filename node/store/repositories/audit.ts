// The audit log's records (node/audit/log.ts AuditStore): one record per
// sequence number, appended with the new head in one synced batch. The head
// also moves the integrity mark's audit head, so a lost tail is seen at the
// next open; once the store has lost acknowledged data, nothing is appended
// until the operator acts.
import type { StoreCore } from '../core.ts';
import { AUDIT_KEY_BYTES, MetaName, auditKey, auditSeq, kindRange, metaKey } from '../keys.ts';
import { encodeAuditHead, type AuditHeadRecord } from '../records.ts';

/** An audit record as stored: its sequence number (from the key) and its authenticated value. */
export interface AuditEntry {
  readonly seq: number;
  readonly value: Uint8Array;
}

/** A record that could not be opened, and why: verify reports it. */
export interface CorruptAuditEntry {
  readonly seq: number;
  readonly corrupt: string;
}

export class AuditRepository {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /**
   * The last record's { seq, hash }, or undefined for an empty log: the later
   * of the meta head and the mark's. A mark ahead of the store means records
   * were lost: the chain continues after them (never reusing their sequence
   * numbers) and verify reports them missing.
   */
  async head(): Promise<AuditHeadRecord | undefined> {
    return this.#core.run(async () => {
      const meta = await this.#core.metaAuditHead();
      const mark = this.#core.markState;
      if (mark.auditSeq > (meta?.seq ?? 0))
        return { seq: mark.auditSeq, hash: mark.auditHash.slice() };
      return meta;
    });
  }

  /** Appends records and the new head in one synced batch; durable before it resolves. */
  async append(records: readonly AuditEntry[], head: AuditHeadRecord): Promise<void> {
    return this.#core.run(async () => {
      this.#core.refuseIfLost();
      const headKey = metaKey(MetaName.auditHead);
      const ops = records.map(({ seq, value }) => {
        const key = auditKey(seq);
        return { type: 'put' as const, key, value: this.#core.seal(key, value) };
      });
      ops.push({
        type: 'put',
        key: headKey,
        value: this.#core.seal(headKey, encodeAuditHead(head)),
      });
      await this.#core.commit({ ops, sync: true, audit: head });
    });
  }

  /**
   * Every audit record in chain order, from `fromSeq` (1: all): its sequence
   * number from the key and its authenticated value, or why it could not be
   * opened. Never throws for one bad record: verify reports it.
   */
  async *entries(
    fromSeq = 1,
    options: { reverse?: boolean; limit?: number } = {},
  ): AsyncGenerator<AuditEntry | CorruptAuditEntry> {
    const range = kindRange('audit');
    const iterator = this.#core.db.iterator({
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
          yield { seq, value: this.#core.open(key, value) };
        } catch {
          yield { seq, corrupt: 'fails authentication (changed on disk, or moved)' };
        }
      }
    } finally {
      await iterator.close();
    }
  }
}
