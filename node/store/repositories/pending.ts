// Pending records: shares this node holds for a successor node set, dealt to
// it in a handover (decision 0016) and not in force until the cutover. Keyed
// by (successor id, content id), sealed like content records. They are not in
// the integrity mark: until the cutover nobody relies on them but the
// coordinator, which re-deals a content a node no longer holds.
import { ErrorCode, ID_BYTES, QkmsError, wipe } from '../../../protocol/internal.ts';
import type { StoreCore } from '../core.ts';
import { STORE_LENGTHS, pendingKey } from '../keys.ts';
import { decodePending, encodePending, type PendingContent } from '../records.ts';

function checkId(value: Uint8Array, name: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length)
    throw new QkmsError(ErrorCode.INVALID_LENGTH, `${name}: expected ${length} bytes`);
  return value;
}

export class PendingRepository {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /** The pending record, or undefined. STORE_CORRUPT if it fails authentication or names another key. */
  async get(nodeSetId: Uint8Array, contentId: Uint8Array): Promise<PendingContent | undefined> {
    const key = pendingKey(
      checkId(nodeSetId, 'nodeSetId', ID_BYTES),
      checkId(contentId, 'contentId', STORE_LENGTHS.contentId),
    );
    return this.#core.run(async () => {
      const plaintext = await this.#core.get(key);
      if (plaintext === undefined) return undefined;
      let record: PendingContent;
      try {
        record = decodePending(plaintext);
      } finally {
        wipe(plaintext);
      }
      const { content } = record;
      if (
        !content.contentId.every((b, i) => b === contentId[i]) ||
        !record.nodeSetId.every((b, i) => b === nodeSetId[i])
      ) {
        wipe(content.share);
        throw new QkmsError(
          ErrorCode.STORE_CORRUPT,
          'node store: pending record names another key',
        );
      }
      return record;
    });
  }

  /** Stores (or replaces) a pending record; synced before it resolves. */
  async put(record: PendingContent): Promise<void> {
    const key = pendingKey(
      checkId(record.nodeSetId, 'nodeSetId', ID_BYTES),
      checkId(record.content.contentId, 'contentId', STORE_LENGTHS.contentId),
    );
    return this.#core.run(async () => {
      this.#core.refuseIfLost();
      const plaintext = encodePending(record);
      let sealed: Uint8Array;
      try {
        sealed = this.#core.seal(key, plaintext);
      } finally {
        wipe(plaintext);
      }
      await this.#core.commit({ ops: [{ type: 'put', key, value: sealed }], sync: true });
    });
  }
}
