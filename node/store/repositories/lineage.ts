// What a cutover (decision 0017) does to the store: the lineage meta record,
// the promotion of held pending shares to content records, and a retired
// node's wipe. Promotion and wipe run at start, before the node serves
// anything, and are idempotent: a crash part-way is finished by the next start.
import { wipe } from '../../../protocol/internal.ts';
import type { StoreCore } from '../core.ts';
import type { BatchOp } from '../level-db.ts';
import { KeyPrefix, MetaName, contentKey, kindRange, metaKey } from '../keys.ts';
import {
  decodeLineage,
  decodePending,
  encodeContent,
  encodeLineage,
  type StoredLineage,
} from '../records.ts';

/** Records one synced batch moves or deletes. */
const BATCH = 128;

export interface PromotionResult {
  /** Held pending shares that became content records. */
  readonly promoted: number;
  /** Pending shares that never got their complete sharing record, dropped. */
  readonly dropped: number;
}

export class LineageRepository {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /** The lineage, or undefined for a node that never took a cutover. STORE_CORRUPT if it fails authentication. */
  get(): Promise<StoredLineage | undefined> {
    const key = metaKey(MetaName.lineage);
    return this.#core.run(async () => {
      const plaintext = await this.#core.get(key);
      return plaintext === undefined ? undefined : decodeLineage(plaintext);
    });
  }

  /** Stores the lineage; synced before it resolves. */
  put(lineage: StoredLineage): Promise<void> {
    const key = metaKey(MetaName.lineage);
    const value = encodeLineage(lineage);
    return this.#core.run(async () => {
      await this.#core.commit({
        ops: [{ type: 'put', key, value: this.#core.seal(key, value) }],
        sync: true,
      });
    });
  }

  /**
   * Every pending share held for `nodeSetId` becomes the content record (put
   * 'c' and delete 'p' in one synced batch, the content in the mark), which
   * overwrites the share of the set before. Pending shares never held are dropped.
   */
  promote(nodeSetId: Uint8Array): Promise<PromotionResult> {
    const prefix = new Uint8Array(1 + nodeSetId.length);
    prefix[0] = KeyPrefix.pending;
    prefix.set(nodeSetId, 1);
    return this.#core.run(async () => {
      this.#core.refuseIfLost();
      let promoted = 0;
      let dropped = 0;
      for (;;) {
        const batch: { key: Uint8Array; value: Uint8Array }[] = [];
        for await (const [k, v] of this.#core.db.iterator({ gte: prefix, limit: BATCH })) {
          const key = new Uint8Array(k);
          if (!prefix.every((b, i) => key[i] === b)) break;
          batch.push({ key, value: new Uint8Array(v) });
        }
        if (batch.length === 0) return { promoted, dropped };
        const ops: BatchOp[] = [];
        const contents: Uint8Array[] = [];
        for (const { key, value } of batch) {
          ops.push({ type: 'del', key });
          const plaintext = this.#core.open(key, value);
          try {
            const pending = decodePending(plaintext);
            try {
              if (!pending.held) {
                dropped += 1;
                continue;
              }
              const cKey = contentKey(pending.content.contentId);
              const content = encodeContent(pending.content);
              try {
                ops.push({ type: 'put', key: cKey, value: this.#core.seal(cKey, content) });
              } finally {
                wipe(content);
              }
              contents.push(pending.content.contentId.slice());
              promoted += 1;
            } finally {
              wipe(pending.content.share);
            }
          } finally {
            wipe(plaintext);
          }
        }
        await this.#core.commit({ ops, sync: true, contents });
      }
    });
  }

  /**
   * A retired node's wipe: the mark stops vouching for content, then every
   * content and pending record is deleted in synced batches. Returns how many
   * records went.
   */
  wipeShares(): Promise<number> {
    return this.#core.run(async () => {
      await this.#core.forgetContents();
      let wiped = 0;
      for (const kind of ['content', 'pending'] as const) {
        for (;;) {
          const keys: Uint8Array[] = [];
          for await (const k of this.#core.db.keys({ ...kindRange(kind), limit: BATCH }))
            keys.push(new Uint8Array(k));
          if (keys.length === 0) break;
          await this.#core.commit({ ops: keys.map((key) => ({ type: 'del', key })), sync: true });
          wiped += keys.length;
        }
      }
      return wiped;
    });
  }
}
