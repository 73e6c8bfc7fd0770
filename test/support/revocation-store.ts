// An in-memory RevocationStore (revocation/live.ts) with the contract of the
// LevelDB one (node/store/db.ts): keyed by record id, ids listed ascending,
// puts "durable" when they resolve. Tests script it: hold puts at a gate,
// make them fail, count the calls, or place bytes in it directly (what a
// store holds after a restart, or after something wrote to it behind the
// node's back).
import { fromHex, toHex } from '../../protocol/index.ts';
import type { RevocationStore } from '../../revocation/index.ts';

export class MemoryRevocationStore implements RevocationStore {
  /** Stored records by hex id. Lower-case hex of equal-length ids sorts as the bytes do. */
  readonly records = new Map<string, Uint8Array>();
  /** putRevocation calls begun, and those that stored (resolved). */
  putCalls = 0;
  putsStored = 0;
  hasCalls = 0;
  /** When set, putRevocation waits for it before storing (a slow fsync). */
  gate: Promise<void> | undefined;
  /** When set, putRevocation rejects with it and stores nothing (a failing disk). */
  failPuts: Error | undefined;

  /** Places a record directly, as if stored earlier. */
  place(id: Uint8Array, record: Uint8Array): void {
    this.records.set(toHex(id), record.slice());
  }

  has(id: Uint8Array): boolean {
    return this.records.has(toHex(id));
  }

  hasRevocation(id: Uint8Array): Promise<boolean> {
    this.hasCalls += 1;
    return Promise.resolve(this.records.has(toHex(id)));
  }

  getRevocation(id: Uint8Array): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.records.get(toHex(id))?.slice());
  }

  async putRevocation(id: Uint8Array, record: Uint8Array): Promise<void> {
    this.putCalls += 1;
    if (this.gate !== undefined) await this.gate;
    if (this.failPuts !== undefined) throw this.failPuts;
    this.records.set(toHex(id), record.slice());
    this.putsStored += 1;
  }

  revocationIds(prefix: Uint8Array): Promise<Uint8Array[]> {
    const start = toHex(prefix);
    return Promise.resolve(
      this.#sortedIds()
        .filter((id) => id.startsWith(start))
        .map((id) => fromHex(id)),
    );
  }

  listRevocations(
    after: Uint8Array,
    limit: number,
  ): Promise<{ id: Uint8Array; record: Uint8Array }[]> {
    const from = toHex(after);
    return Promise.resolve(
      this.#sortedIds()
        .filter((id) => from === '' || id > from)
        .slice(0, limit)
        .map((id) => ({ id: fromHex(id), record: (this.records.get(id) as Uint8Array).slice() })),
    );
  }

  #sortedIds(): string[] {
    return [...this.records.keys()].sort();
  }
}
