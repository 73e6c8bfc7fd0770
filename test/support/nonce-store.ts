// The replay guard's store in memory, with the same contract as NodeStore's
// nonce records (node/replay-guard.ts NonceStore): what the guard's and the
// services' tests, and the attack benchmark, run the real guard over.
import type { NonceStore } from '../../node/replay-guard.ts';
import type { NonceEntry } from '../../node/store/index.ts';
import { toHex } from '../../protocol/index.ts';

/** An in-memory NonceStore whose writes can be made to fail. */
export class MemoryNonceStore implements NonceStore {
  readonly records = new Map<string, NonceEntry>();
  failWrites = false;
  clockMark: number | undefined;
  getClockMark(): Promise<number | undefined> {
    return Promise.resolve(this.clockMark);
  }
  async putClockMark(at: number): Promise<void> {
    await Promise.resolve();
    if (this.failWrites) throw new Error('disk full');
    this.clockMark = at;
  }
  async putNonces(entries: readonly NonceEntry[]): Promise<void> {
    await Promise.resolve();
    if (this.failWrites) throw new Error('disk full');
    for (const e of entries) this.records.set(toHex(e.sessionKey) + toHex(e.nonce), e);
  }
  listNonces(now: number): Promise<NonceEntry[]> {
    return Promise.resolve([...this.records.values()].filter((e) => e.expiresAt > now));
  }
  deleteNonces(pairs: readonly Pick<NonceEntry, 'sessionKey' | 'nonce'>[]): Promise<void> {
    for (const p of pairs) this.records.delete(toHex(p.sessionKey) + toHex(p.nonce));
    return Promise.resolve();
  }
  sweepNonces(now: number): Promise<number> {
    let n = 0;
    for (const [id, e] of this.records) {
      if (e.expiresAt <= now) {
        this.records.delete(id);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}
