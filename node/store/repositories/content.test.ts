// Content records through the store (repositories/content.ts): round trip,
// replacement, counting, input checks, and a damaged value that is an error,
// never data.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/internal.ts';
import {
  SEALED_VALUE_POSITIONS,
  content,
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
import { contentKey } from '../keys.ts';

const tempDir = useTempDirs();

describe('NodeStore content records', () => {
  it('round-trips a content record and reports absent ids as undefined', async () => {
    const store = await openStore(tempDir());
    const record = content();
    await store.putContent(record);
    expect(await store.getContent(record.contentId)).toEqual(record);
    expect(await store.getContent(suite.randomBytes(32))).toBeUndefined();
    expect(await store.countContent()).toBe(1);
    await store.close();
  });

  it('replaces a record stored again under the same id', async () => {
    const store = await openStore(tempDir());
    const first = content();
    const second = content({ contentId: first.contentId, storedAt: first.storedAt + 1 });
    await store.putContent(first);
    await store.putContent(second);
    expect(await store.getContent(first.contentId)).toEqual(second);
    expect(await store.countContent()).toBe(1);
    await store.close();
  });

  it('counts many content records (past one iterator step)', async () => {
    const store = await openStore(tempDir());
    await Promise.all(Array.from({ length: 1500 }, () => store.putContent(content())));
    await store.putNonces([nonce(10)]); // other kinds do not count
    expect(await store.countContent()).toBe(1500);
    await store.close();
  });

  it('lists content ids in pages past one iterator batch, ascending, none twice, none missed', async () => {
    const store = await openStore(tempDir());
    const ids = Array.from({ length: 1300 }, () => content().contentId);
    await Promise.all(ids.map((contentId) => store.putContent(content({ contentId }))));
    await store.putNonces([nonce(10)]); // other kinds are not listed
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const first = await store.listContentIds(new Uint8Array(0), 1025);
    expect(first).toHaveLength(1025);
    const rest = await store.listContentIds(first[first.length - 1]!, 1025);
    expect(rest).toHaveLength(275);
    const listed = [...first, ...rest].map(hex);
    expect(listed).toEqual(ids.map(hex).sort());
    await store.close();
  });

  it.each([
    ['contentId of 31 bytes', { contentId: new Uint8Array(31) }, ErrorCode.INVALID_LENGTH],
    ['empty manifest', { manifest: new Uint8Array(0) }, ErrorCode.INVALID_LENGTH],
    [
      'manifest over the publish frame',
      { manifest: new Uint8Array(64 * 1024 + 1) },
      ErrorCode.INVALID_LENGTH,
    ],
    ['manifestHash of 33 bytes', { manifestHash: new Uint8Array(33) }, ErrorCode.INVALID_LENGTH],
    ['owner of 32 bytes', { owner: new Uint8Array(32) }, ErrorCode.INVALID_LENGTH],
    ['share of 16 bytes', { share: new Uint8Array(16) }, ErrorCode.INVALID_LENGTH],
    ['negative storedAt', { storedAt: -1 }, ErrorCode.INVALID_ARGUMENT],
    ['fractional storedAt', { storedAt: 1.5 }, ErrorCode.INVALID_ARGUMENT],
  ] as const)('refuses to store a record with %s', async (_name, bad, code) => {
    const store = await openStore(tempDir());
    await expect(store.putContent(content(bad))).rejects.toMatchObject({ code });
    expect(await store.countContent()).toBe(0);
    await store.close();
  });

  it('refuses a contentId of the wrong length on read', async () => {
    const store = await openStore(tempDir());
    await expect(store.getContent(new Uint8Array(16))).rejects.toMatchObject({
      code: ErrorCode.INVALID_LENGTH,
    });
    await store.close();
  });
});

describe('NodeStore content integrity: a value that fails authentication is an error, never data', () => {
  it.each(SEALED_VALUE_POSITIONS)(
    'a flipped byte at %i of a content value reads as STORE_CORRUPT',
    async (at) => {
      const { path, storageKey, record } = await populated(tempDir);
      await flipByte(path, contentKey(record.contentId), at);
      const store = await NodeStore.open({ path, storageKey, suite });
      await expectCorrupt(store.getContent(record.contentId));
      await store.close();
    },
  );

  it('a content value copied under another content id reads as STORE_CORRUPT', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await NodeStore.open({ path, storageKey, suite });
    const a = content();
    const b = content();
    await store.putContent(a);
    await store.putContent(b);
    await store.close();
    await withRawDb(path, async (db) => {
      await db.put(contentKey(b.contentId), await rawGet(db, contentKey(a.contentId)));
    });
    const reopened = await NodeStore.open({ path, storageKey, suite });
    expect(await reopened.getContent(a.contentId)).toEqual(a);
    await expectCorrupt(reopened.getContent(b.contentId));
    await reopened.close();
  });

  it('a truncated or emptied content value reads as STORE_CORRUPT', async () => {
    const { path, storageKey, record } = await populated(tempDir);
    for (const cut of [0, 1, 28, 60]) {
      await withRawDb(path, async (db) => {
        const key = contentKey(record.contentId);
        const value = await rawGet(db, key);
        await db.put(key, value.slice(0, cut));
      });
      const store = await NodeStore.open({ path, storageKey, suite });
      await expectCorrupt(store.getContent(record.contentId));
      await store.close();
    }
  });

  it('an error names the record kind and no content', async () => {
    const { path, storageKey, record } = await populated(tempDir);
    await flipByte(path, contentKey(record.contentId), -1);
    const store = await NodeStore.open({ path, storageKey, suite });
    const error: unknown = await store.getContent(record.contentId).catch((e: unknown) => e);
    await store.close();
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('content');
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    for (const secret of [record.contentId, record.share, record.owner]) {
      expect(message).not.toContain(hex(secret));
      expect(message).not.toContain(hex(secret.subarray(0, 4)));
    }
  });
});
