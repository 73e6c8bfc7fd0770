// Revocation records (revocation/live.ts RevocationStore): each record's
// bytes under its 32-byte id, listed by id prefix and paged in id order for
// anti-entropy. Puts are synced.
import { ErrorCode, QkmsError } from '../../../protocol/internal.ts';
import type { StoreCore } from '../core.ts';
import { STORE_LENGTHS, kindRange, prefixRange, revocationKey } from '../keys.ts';
import { getValue, malformedKey } from '../level-db.ts';

const REVOCATION_KEY_BYTES = 1 + STORE_LENGTHS.revocationId;

function checkRevocationId(id: Uint8Array): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length !== STORE_LENGTHS.revocationId)
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `revocation id: expected ${STORE_LENGTHS.revocationId} bytes`,
    );
  return id;
}

export class RevocationRepository {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  async has(id: Uint8Array): Promise<boolean> {
    const key = revocationKey(checkRevocationId(id));
    return this.#core.run(async () => (await getValue(this.#core.db, key)) !== undefined);
  }

  /** The record's bytes, or undefined. STORE_CORRUPT if it fails authentication. */
  async get(id: Uint8Array): Promise<Uint8Array | undefined> {
    const key = revocationKey(checkRevocationId(id));
    return this.#core.run(() => this.#core.get(key));
  }

  /** Stores a record under its id; durable before it resolves. */
  async put(id: Uint8Array, record: Uint8Array): Promise<void> {
    const key = revocationKey(checkRevocationId(id));
    return this.#core.run(async () => {
      await this.#core.commit({
        ops: [{ type: 'put', key, value: this.#core.seal(key, record) }],
        sync: true,
      });
    });
  }

  /** Every record id starting with `prefix` (at most 2 bytes), ascending. Keys only. */
  async ids(prefix: Uint8Array): Promise<Uint8Array[]> {
    if (!(prefix instanceof Uint8Array) || prefix.length > 2)
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'revocation prefix: at most 2 bytes');
    return this.#core.run(async () => {
      const ids: Uint8Array[] = [];
      for await (const key of this.#core.db.keys(prefixRange('revocation', prefix))) {
        if (key.length !== REVOCATION_KEY_BYTES) throw malformedKey('revocation');
        ids.push(new Uint8Array(key.subarray(1)));
      }
      return ids;
    });
  }

  /** Up to `limit` records with id > `after` (empty: from the first), ascending. */
  async list(after: Uint8Array, limit: number): Promise<{ id: Uint8Array; record: Uint8Array }[]> {
    if (after.length !== 0) checkRevocationId(after);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'limit: a positive integer');
    const range = kindRange('revocation');
    const bounds =
      after.length === 0
        ? { gte: range.gte, lt: range.lt }
        : { gt: revocationKey(after), lt: range.lt };
    return this.#core.run(async () => {
      const out: { id: Uint8Array; record: Uint8Array }[] = [];
      for await (const [raw, value] of this.#core.db.iterator({ ...bounds, limit })) {
        const key = new Uint8Array(raw);
        if (key.length !== REVOCATION_KEY_BYTES) throw malformedKey('revocation');
        out.push({ id: key.slice(1), record: this.#core.open(key, value) });
      }
      return out;
    });
  }
}
