// Nonce records through the store (repositories/nonces.ts): round trip,
// listing live ones, sweep and delete, input checks, and a damaged value or
// key that fails the listing.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/internal.ts';
import {
  SEALED_VALUE_POSITIONS,
  expectCorrupt,
  flipByte,
  nonce,
  populated,
  rawGet,
  suite,
  useTempDirs,
  withRawDb,
  openStore,
} from '../../../test/support/store-fixture.ts';
import { NodeStore } from '../db.ts';
import { KeyPrefix, contentKey, nonceKey } from '../keys.ts';
import type { NonceEntry } from '../records.ts';

const tempDir = useTempDirs();

describe('NodeStore nonce records', () => {
  it('round-trips nonces, lists only those live at now, sweeps and deletes', async () => {
    const store = await openStore(tempDir());
    const early = [nonce(100), nonce(100)];
    const late = [nonce(200), nonce(300)];
    await store.putNonces([...early, ...late]);
    const byExpiry = (a: NonceEntry, b: NonceEntry): number => a.expiresAt - b.expiresAt;
    expect((await store.listNonces(0)).sort(byExpiry)).toHaveLength(4);
    // Live while now < expiresAt.
    expect((await store.listNonces(100)).sort(byExpiry)).toEqual(late);
    expect(await store.sweepNonces(100)).toBe(2);
    expect(await store.sweepNonces(100)).toBe(0);
    expect((await store.listNonces(0)).sort(byExpiry)).toEqual(late);
    await store.deleteNonces([late[0]!]);
    expect(await store.listNonces(0)).toEqual([late[1]]);
    await store.close();
  });

  it('refuses a non-integer now', async () => {
    const store = await openStore(tempDir());
    await expect(store.listNonces(Number.NaN)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(store.sweepNonces(1.5)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await store.close();
  });

  it('writes an empty batch as a no-op', async () => {
    const store = await openStore(tempDir());
    await store.putNonces([]);
    await store.deleteNonces([]);
    expect(await store.listNonces(0)).toEqual([]);
    await store.close();
  });

  it.each([
    ['a 31-byte session key', { sessionKey: new Uint8Array(31) }, ErrorCode.INVALID_LENGTH],
    ['a 12-byte nonce', { nonce: new Uint8Array(12) }, ErrorCode.INVALID_LENGTH],
    ['a NaN expiry', { expiresAt: Number.NaN }, ErrorCode.INVALID_ARGUMENT],
  ] as const)('refuses a batch holding %s, writing none of it', async (_name, bad, code) => {
    const store = await openStore(tempDir());
    await expect(store.putNonces([nonce(10), { ...nonce(10), ...bad }])).rejects.toMatchObject({
      code,
    });
    expect(await store.listNonces(0)).toEqual([]);
    await store.close();
  });
});

describe('NodeStore nonce integrity: a value that fails authentication is an error, never data', () => {
  it.each(SEALED_VALUE_POSITIONS)(
    'a flipped byte at %i of a nonce value fails the listing and the sweep',
    async (at) => {
      const { path, storageKey, entry } = await populated(tempDir);
      await flipByte(path, nonceKey(entry.sessionKey, entry.nonce), at);
      const store = await NodeStore.open({ path, storageKey, suite });
      await expectCorrupt(store.listNonces(0));
      await expectCorrupt(store.sweepNonces(0));
      await store.close();
    },
  );

  it('a nonce value copied under another pair, or a content value under a nonce key, fails', async () => {
    const { path, storageKey, record, entry } = await populated(tempDir);
    const other = nonce(10_000);
    await withRawDb(path, async (db) => {
      const value = await rawGet(db, nonceKey(entry.sessionKey, entry.nonce));
      await db.put(nonceKey(other.sessionKey, other.nonce), value);
    });
    let store = await NodeStore.open({ path, storageKey, suite });
    await expectCorrupt(store.listNonces(0));
    await store.close();

    await withRawDb(path, async (db) => {
      await db.del(nonceKey(other.sessionKey, other.nonce));
      const value = await rawGet(db, contentKey(record.contentId));
      await db.put(nonceKey(other.sessionKey, other.nonce), value);
    });
    store = await NodeStore.open({ path, storageKey, suite });
    await expectCorrupt(store.listNonces(0));
    await store.close();
  });

  it('a record under a malformed nonce key fails the listing', async () => {
    const { path, storageKey } = await populated(tempDir);
    await withRawDb(path, async (db) => {
      await db.put(Uint8Array.of(KeyPrefix.nonce, 1, 2, 3), new Uint8Array(40));
    });
    const store = await NodeStore.open({ path, storageKey, suite });
    await expectCorrupt(store.listNonces(0));
    await store.close();
  });
});
