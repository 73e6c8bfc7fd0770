// Content records: per content id, the node's sealed share with the manifest
// and its owner (records.ts StoredContent). A content record the node
// acknowledged joins the integrity mark's index; once the store has lost
// acknowledged data, no content is stored until the operator acts.
import { ErrorCode, QkmsError, wipe } from '../../../protocol/internal.ts';
import type { StoreCore } from '../core.ts';
import { STORE_LENGTHS, contentKey, kindRange } from '../keys.ts';
import { checkContent, decodeContent, encodeContent, type StoredContent } from '../records.ts';

/** Keys an iterator step fetches at once when only counting. */
const COUNT_STEP = 1024;

function checkContentId(contentId: Uint8Array): Uint8Array {
  if (!(contentId instanceof Uint8Array) || contentId.length !== STORE_LENGTHS.contentId) {
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `contentId: expected ${STORE_LENGTHS.contentId} bytes`,
    );
  }
  return contentId;
}

/** Byte equality of public values (ids), not constant time. */
function equalPublic(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class ContentRepository {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /**
   * The content record, or undefined if this node holds none. STORE_CORRUPT if
   * it fails authentication, or if the node acknowledged it and lost it (never
   * "unknown" for content this node vouched for).
   */
  async get(contentId: Uint8Array): Promise<StoredContent | undefined> {
    const key = contentKey(checkContentId(contentId));
    return this.#core.run(async () => {
      if (this.#core.isLostContent(contentId))
        throw new QkmsError(ErrorCode.STORE_CORRUPT, 'node store: content record lost');
      const plaintext = await this.#core.get(key);
      if (plaintext === undefined) return undefined;
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
  async put(record: StoredContent): Promise<void> {
    checkContent(record);
    const key = contentKey(record.contentId);
    return this.#core.run(async () => {
      this.#core.refuseIfLost();
      const plaintext = encodeContent(record);
      let sealed: Uint8Array;
      try {
        sealed = this.#core.seal(key, plaintext);
      } finally {
        wipe(plaintext);
      }
      await this.#core.commit({
        ops: [{ type: 'put', key, value: sealed }],
        sync: true,
        contents: [record.contentId.slice()],
      });
    });
  }

  /** Up to `limit` content ids after `after` (empty: from the first), ascending; keys only. */
  listIds(after: Uint8Array, limit: number): Promise<Uint8Array[]> {
    const range = kindRange('content');
    const gt = after.length === 0 ? undefined : contentKey(checkContentId(after));
    return this.#core.run(async () => {
      const it = this.#core.db.keys(
        gt === undefined ? { ...range, limit } : { gt, lt: range.lt, limit },
      );
      try {
        // nextv returns at most one internal batch (256 here), not `limit`: read until done.
        const ids: Uint8Array[] = [];
        while (ids.length < limit) {
          const keys = await it.nextv(limit - ids.length);
          if (keys.length === 0) break;
          for (const k of keys) ids.push(k.slice(1));
        }
        return ids;
      } finally {
        await it.close();
      }
    });
  }

  /** How many content records the store holds (a gauge; keys only, not authenticated). */
  count(): Promise<number> {
    return this.#core.run(async () => {
      const it = this.#core.db.keys(kindRange('content'));
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
}
