// The store's lifecycle (core.ts) through its facade (db.ts): every record
// kind survives close and reopen, synced writes, clean and unclean shutdown
// (the replay epoch), close while writing, options, and a damaged run marker
// or a wrong storage key that fails the open. Per-kind behaviour is tested
// beside each repository (repositories/*.test.ts).
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../protocol/internal.ts';
import {
  SEALED_VALUE_POSITIONS,
  content,
  expectCorrupt,
  flipByte,
  nonce,
  populated,
  suite,
  useTempDirs,
  withRawDb,
  openStore,
} from '../../test/support/store-fixture.ts';
import { NodeStore } from './db.ts';
import { MetaName, metaKey } from './keys.ts';
import { RecordCipher } from './record-cipher.ts';
import { encodeRunState } from './records.ts';

const tempDir = useTempDirs();
afterEach(() => {
  vi.restoreAllMocks();
});

describe('NodeStore durability and lifecycle', () => {
  it('keeps every record kind across close and reopen', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const record = content();
    const entries = [nonce(5_000), nonce(6_000)];
    const first = await NodeStore.open({ path, storageKey, suite, clock: () => 1_000 });
    await first.putContent(record);
    await first.putNonces(entries);
    await first.close();

    const second = await NodeStore.open({ path, storageKey, suite, clock: () => 2_000 });
    expect(second.previousShutdownClean).toBe(true);
    expect(await second.getContent(record.contentId)).toEqual(record);
    expect((await second.listNonces(0)).sort((a, b) => a.expiresAt - b.expiresAt)).toEqual(entries);
    await second.close();
  });

  it('passes sync: true to LevelDB for content, nonce batches and both run markers', async () => {
    const put = vi.spyOn(Level.prototype, 'put');
    const batch = vi.spyOn(Level.prototype, 'batch');
    const store = await openStore(tempDir());
    await store.putContent(content());
    await store.putNonces([nonce(10)]);
    await store.close();
    // the open marker is a put; content, nonces and the close marker go through the write queue
    expect(put).toHaveBeenCalledTimes(1);
    expect(put.mock.calls[0]?.[2]).toEqual({ sync: true });
    expect(batch).toHaveBeenCalledTimes(3);
    for (const call of batch.mock.calls)
      expect((call as unknown[] | undefined)?.[1]).toEqual({ sync: true });
  });

  it('reports a fresh database and a cleanly closed one as clean, with no replay epoch', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const fresh = await NodeStore.open({ path, storageKey, suite, clock: () => 1_000 });
    expect(fresh.previousShutdownClean).toBe(true);
    expect(fresh.replayEpochStart).toBe(0);
    await fresh.close();
    const again = await NodeStore.open({ path, storageKey, suite, clock: () => 2_000 });
    expect(again.previousShutdownClean).toBe(true);
    expect(again.replayEpochStart).toBe(0);
    expect(again.openedAt).toBe(2_000);
    await again.close();
  });

  it('detects an unclean shutdown (running marker left set) and starts a replay epoch at its open', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await NodeStore.open({ path, storageKey, suite, clock: () => 1_000 });
    await store.close();
    // What a crash leaves behind: the marker written by open, never cleared by close.
    await withRawDb(path, async (db) => {
      const cipher = new RecordCipher(storageKey, suite);
      const key = metaKey(MetaName.run);
      const running = encodeRunState({ running: true, startedAt: 1_500, cleanShutdownAt: 1_000 });
      await db.put(key, cipher.seal(key, running));
      cipher.wipe();
    });
    const after = await NodeStore.open({ path, storageKey, suite, clock: () => 3_000 });
    expect(after.previousShutdownClean).toBe(false);
    expect(after.replayEpochStart).toBe(3_000);
    await after.close();
    // The crash is forgotten once this run closes cleanly.
    const next = await NodeStore.open({ path, storageKey, suite, clock: () => 4_000 });
    expect(next.previousShutdownClean).toBe(true);
    await next.close();
  });

  it('close is idempotent, waits for writes in flight, and refuses work afterwards with BUSY', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await NodeStore.open({ path, storageKey, suite });
    const record = content();
    const write = store.putContent(record);
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await Promise.all([write, closing]);
    expect(store.isOpen).toBe(false);
    await expect(store.getContent(record.contentId)).rejects.toMatchObject({
      code: ErrorCode.BUSY,
    });
    await expect(store.putNonces([nonce(1)])).rejects.toMatchObject({ code: ErrorCode.BUSY });

    const reopened = await NodeStore.open({ path, storageKey, suite });
    expect(reopened.previousShutdownClean).toBe(true);
    expect(await reopened.getContent(record.contentId)).toEqual(record);
    await reopened.close();
  });

  it('refuses unknown options, a bad path and a storage key of the wrong length', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    await expect(
      NodeStore.open({ path, storageKey, suite, sync: false } as unknown as Parameters<
        typeof NodeStore.open
      >[0]),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(NodeStore.open({ path: '', storageKey, suite })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(
      NodeStore.open({ path, storageKey: suite.randomBytes(16), suite }),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_LENGTH });
  });
});

describe('NodeStore run marker: a marker that fails authentication fails the open', () => {
  it.each(SEALED_VALUE_POSITIONS)(
    'a flipped byte at %i of the run marker fails the open',
    async (at) => {
      const { path, storageKey } = await populated(tempDir);
      await flipByte(path, metaKey(MetaName.run), at);
      await expectCorrupt(NodeStore.open({ path, storageKey, suite }));
      // The failed open released the database: a raw open still works.
      await withRawDb(path, async () => {});
    },
  );

  it('the wrong storage key fails at open (the run marker), and never yields data', async () => {
    const { path } = await populated(tempDir);
    await expectCorrupt(NodeStore.open({ path, storageKey: suite.randomBytes(32), suite }));
  });
});
