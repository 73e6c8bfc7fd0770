// Used nonces (the replay guard's records, node/replay-guard.ts NonceStore):
// keyed by (session key, nonce), valued by their expiry; and the guard's
// clock mark. Nonce batches are synced; deletes of expired nonces are not: a
// lost delete is redone by the next sweep.
import { ErrorCode, QkmsError } from '../../../protocol/internal.ts';
import type { StoreCore } from '../core.ts';
import { MetaName, STORE_LENGTHS, kindRange, metaKey, nonceKey } from '../keys.ts';
import { malformedKey } from '../level-db.ts';
import {
  checkNonceEntry,
  decodeClockMark,
  decodeNonceValue,
  encodeClockMark,
  encodeNonceValue,
  type NonceEntry,
} from '../records.ts';

const NONCE_KEY_BYTES = 1 + STORE_LENGTHS.sessionKey + STORE_LENGTHS.nonce;

function checkNow(now: number): void {
  if (!Number.isSafeInteger(now))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'now: expected an integer of ms');
}

export class NonceRepository {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /** Records used nonces in ONE synced batch (group commit); durable before it resolves. */
  async put(entries: readonly NonceEntry[]): Promise<void> {
    for (const entry of entries) checkNonceEntry(entry);
    return this.#core.run(async () => {
      if (entries.length === 0) return;
      const ops = entries.map((entry) => {
        const key = nonceKey(entry.sessionKey, entry.nonce);
        return {
          type: 'put' as const,
          key,
          value: this.#core.seal(key, encodeNonceValue(entry.expiresAt)),
        };
      });
      await this.#core.commit({ ops, sync: true });
    });
  }

  /** Every nonce record still live at `now` (expiresAt > now). STORE_CORRUPT if any fails authentication. */
  async list(now: number): Promise<NonceEntry[]> {
    checkNow(now);
    return this.#core.run(async () => {
      const live: NonceEntry[] = [];
      await this.#each((entry) => {
        if (entry.expiresAt > now) live.push(entry);
      });
      return live;
    });
  }

  /** Deletes the records of these pairs (not synced: a lost delete is redone by the next sweep). */
  async delete(pairs: readonly Pick<NonceEntry, 'sessionKey' | 'nonce'>[]): Promise<void> {
    for (const p of pairs) checkNonceEntry({ ...p, expiresAt: 0 });
    return this.#core.run(async () => {
      if (pairs.length === 0) return;
      await this.#core.commit({
        ops: pairs.map((p) => ({ type: 'del' as const, key: nonceKey(p.sessionKey, p.nonce) })),
        sync: false,
      });
    });
  }

  /** Deletes every nonce record expired at `now` (expiresAt <= now); returns how many. */
  async sweep(now: number): Promise<number> {
    checkNow(now);
    return this.#core.run(async () => {
      const expired: Uint8Array[] = [];
      await this.#each((entry, key) => {
        if (entry.expiresAt <= now) expired.push(key);
      });
      if (expired.length > 0)
        await this.#core.commit({
          ops: expired.map((key) => ({ type: 'del' as const, key })),
          sync: false,
        });
      return expired.length;
    });
  }

  /** The replay guard's clock mark (ms), or undefined if none was written. STORE_CORRUPT if it fails authentication. */
  async getClockMark(): Promise<number | undefined> {
    const key = metaKey(MetaName.clockMark);
    return this.#core.run(async () => {
      const plaintext = await this.#core.get(key);
      return plaintext === undefined ? undefined : decodeClockMark(plaintext);
    });
  }

  /** Records the replay guard's clock mark; durable (synced) before it resolves. */
  async putClockMark(at: number): Promise<void> {
    const value = encodeClockMark(at);
    const key = metaKey(MetaName.clockMark);
    return this.#core.run(async () => {
      await this.#core.commit({
        ops: [{ type: 'put', key, value: this.#core.seal(key, value) }],
        sync: true,
      });
    });
  }

  async #each(visit: (entry: NonceEntry, key: Uint8Array) => void): Promise<void> {
    for await (const [raw, value] of this.#core.db.iterator(kindRange('nonce'))) {
      const key = new Uint8Array(raw);
      if (key.length !== NONCE_KEY_BYTES) throw malformedKey('nonce');
      const expiresAt = decodeNonceValue(this.#core.open(key, value));
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
