import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, defaultSuite, isQkmsError, toHex } from '../../protocol/index.ts';
import { LiveRevocations, type RevocationStore } from '../../revocation/index.ts';
import { quorumFixture } from '../../test/support/protocol-fixture.ts';
import { principalsFor, signedRecords } from '../../test/support/revocation-fixture.ts';
import { NodeStore } from './db.ts';
import { KeyPrefix, MetaName, contentKey, metaKey, nonceKey, revocationKey } from './keys.ts';
import { RecordCipher } from './record-cipher.ts';
import { encodeRunState, type NonceEntry, type StoredContent } from './records.ts';

const suite = defaultSuite();

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) {
    rmSync(d, { recursive: true, force: true });
    rmSync(`${d}-integrity`, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'qkms-'));
  dirs.push(d);
  return d;
}

function content(overrides: Partial<StoredContent> = {}): StoredContent {
  return {
    contentId: suite.randomBytes(32),
    manifest: suite.randomBytes(300),
    manifestHash: suite.randomBytes(32),
    owner: suite.randomBytes(20),
    share: suite.randomBytes(32),
    storedAt: 1_700_000_000_000,
    ...overrides,
  };
}

function nonce(expiresAt: number): NonceEntry {
  return { sessionKey: suite.randomBytes(32), nonce: suite.randomBytes(16), expiresAt };
}

async function expectCorrupt(p: Promise<unknown>): Promise<void> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isQkmsError(error, ErrorCode.STORE_CORRUPT)).toBe(true);
}

/** Opens the raw LevelDB (the store must be closed) and hands it to `edit`. */
async function withRawDb(
  path: string,
  edit: (db: Level<Uint8Array, Uint8Array>) => Promise<void>,
): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    await edit(db);
  } finally {
    await db.close();
  }
}

async function rawGet(db: Level<Uint8Array, Uint8Array>, key: Uint8Array): Promise<Uint8Array> {
  const value = (await db.get(key)) as Uint8Array | undefined; // absent keys read as undefined
  if (value === undefined) throw new Error('test: key absent');
  return new Uint8Array(value);
}

async function flipByte(path: string, key: Uint8Array, index: number): Promise<void> {
  await withRawDb(path, async (db) => {
    const value = await rawGet(db, key);
    const at = index < 0 ? value.length + index : index;
    value[at] = (value[at] ?? 0) ^ 0x01;
    await db.put(key, value);
  });
}

describe('NodeStore content records', () => {
  it('round-trips a content record and reports absent ids as undefined', async () => {
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    const record = content();
    await store.putContent(record);
    expect(await store.getContent(record.contentId)).toEqual(record);
    expect(await store.getContent(suite.randomBytes(32))).toBeUndefined();
    expect(await store.countContent()).toBe(1);
    await store.close();
  });

  it('replaces a record stored again under the same id', async () => {
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    const first = content();
    const second = content({ contentId: first.contentId, storedAt: first.storedAt + 1 });
    await store.putContent(first);
    await store.putContent(second);
    expect(await store.getContent(first.contentId)).toEqual(second);
    expect(await store.countContent()).toBe(1);
    await store.close();
  });

  it('counts many content records (past one iterator step)', async () => {
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    await Promise.all(Array.from({ length: 1500 }, () => store.putContent(content())));
    await store.putNonces([nonce(10)]); // other kinds do not count
    expect(await store.countContent()).toBe(1500);
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
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    await expect(store.putContent(content(bad))).rejects.toMatchObject({ code });
    expect(await store.countContent()).toBe(0);
    await store.close();
  });

  it('refuses a contentId of the wrong length on read', async () => {
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    await expect(store.getContent(new Uint8Array(16))).rejects.toMatchObject({
      code: ErrorCode.INVALID_LENGTH,
    });
    await store.close();
  });
});

describe('NodeStore nonce records', () => {
  it('round-trips nonces, lists only those live at now, sweeps and deletes', async () => {
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
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
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    await expect(store.listNonces(Number.NaN)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(store.sweepNonces(1.5)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await store.close();
  });

  it('writes an empty batch as a no-op', async () => {
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
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
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
    await expect(store.putNonces([nonce(10), { ...nonce(10), ...bad }])).rejects.toMatchObject({
      code,
    });
    expect(await store.listNonces(0)).toEqual([]);
    await store.close();
  });
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
    const store = await NodeStore.open({
      path: tempDir(),
      storageKey: suite.randomBytes(32),
      suite,
    });
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

describe('NodeStore integrity: a value that fails authentication is an error, never data', () => {
  async function populated(): Promise<{
    path: string;
    storageKey: Uint8Array;
    record: StoredContent;
    entry: NonceEntry;
  }> {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await NodeStore.open({ path, storageKey, suite });
    const record = content();
    const entry = nonce(10_000);
    await store.putContent(record);
    await store.putNonces([entry]);
    await store.close();
    return { path, storageKey, record, entry };
  }

  // version byte, GCM nonce, first and last ciphertext byte, tag
  const POSITIONS = [0, 1, 12, 13, -17, -1];

  it.each(POSITIONS)(
    'a flipped byte at %i of a content value reads as STORE_CORRUPT',
    async (at) => {
      const { path, storageKey, record } = await populated();
      await flipByte(path, contentKey(record.contentId), at);
      const store = await NodeStore.open({ path, storageKey, suite });
      await expectCorrupt(store.getContent(record.contentId));
      await store.close();
    },
  );

  it.each(POSITIONS)(
    'a flipped byte at %i of a nonce value fails the listing and the sweep',
    async (at) => {
      const { path, storageKey, entry } = await populated();
      await flipByte(path, nonceKey(entry.sessionKey, entry.nonce), at);
      const store = await NodeStore.open({ path, storageKey, suite });
      await expectCorrupt(store.listNonces(0));
      await expectCorrupt(store.sweepNonces(0));
      await store.close();
    },
  );

  it.each(POSITIONS)('a flipped byte at %i of the run marker fails the open', async (at) => {
    const { path, storageKey } = await populated();
    await flipByte(path, metaKey(MetaName.run), at);
    await expectCorrupt(NodeStore.open({ path, storageKey, suite }));
    // The failed open released the database: a raw open still works.
    await withRawDb(path, async () => {});
  });

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

  it('a nonce value copied under another pair, or a content value under a nonce key, fails', async () => {
    const { path, storageKey, record, entry } = await populated();
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
    const { path, storageKey } = await populated();
    await withRawDb(path, async (db) => {
      await db.put(Uint8Array.of(KeyPrefix.nonce, 1, 2, 3), new Uint8Array(40));
    });
    const store = await NodeStore.open({ path, storageKey, suite });
    await expectCorrupt(store.listNonces(0));
    await store.close();
  });

  it('a truncated or emptied content value reads as STORE_CORRUPT', async () => {
    const { path, storageKey, record } = await populated();
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

  it('the wrong storage key fails at open (the run marker), and never yields data', async () => {
    const { path } = await populated();
    await expectCorrupt(NodeStore.open({ path, storageKey: suite.randomBytes(32), suite }));
  });

  it('an error names the record kind and no content', async () => {
    const { path, storageKey, record } = await populated();
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

describe('NodeStore revocation records', () => {
  /** An id starting with `prefix`, then `fill`. */
  function id(prefix: readonly number[], fill = 0x5a): Uint8Array {
    const out = new Uint8Array(32).fill(fill);
    out.set(prefix);
    return out;
  }
  const hexes = (ids: readonly Uint8Array[]): string[] => ids.map((i) => toHex(i));

  async function open(path = tempDir(), storageKey = suite.randomBytes(32)): Promise<NodeStore> {
    return NodeStore.open({ path, storageKey, suite });
  }

  it('puts, reports and gets a record; an absent id is false and undefined', async () => {
    const store = await open();
    const a = suite.randomBytes(32);
    const record = suite.randomBytes(3_400);
    expect(await store.hasRevocation(a)).toBe(false);
    expect(await store.getRevocation(a)).toBeUndefined();
    await store.putRevocation(a, record);
    expect(await store.hasRevocation(a)).toBe(true);
    expect(toHex((await store.getRevocation(a))!)).toBe(toHex(record));
    expect(await store.hasRevocation(suite.randomBytes(32))).toBe(false);
    await store.close();
  });

  it('passes sync: true to LevelDB for a revocation put', async () => {
    const store = await open();
    const batch = vi.spyOn(Level.prototype, 'batch');
    await store.putRevocation(suite.randomBytes(32), suite.randomBytes(100));
    expect(batch).toHaveBeenCalledTimes(1);
    expect((batch.mock.calls[0] as unknown[] | undefined)?.[1]).toEqual({ sync: true });
    await store.close();
  });

  it('lists ids by a 0-, 1- or 2-byte prefix, ascending, including the 0xff and 0xffff edges', async () => {
    const store = await open();
    const ids = [
      id([0x00, 0x00], 0x00),
      id([0x12, 0x34]),
      id([0x12, 0xfe]),
      id([0x12, 0xff], 0x00),
      id([0x12, 0xff], 0xff),
      id([0x13, 0x00], 0x00),
      id([0xfe, 0xff], 0xff),
      id([0xff, 0x00], 0x00),
      id([0xff, 0xfe]),
      id([0xff, 0xff], 0x00),
      id([0xff, 0xff], 0xff),
    ];
    for (const i of [...ids].reverse()) await store.putRevocation(i, Uint8Array.of(1));
    // Other kinds before and after the revocation prefix are never listed.
    await store.putContent(content());
    await store.putNonces([nonce(10)]);
    const under = async (...prefix: number[]): Promise<string[]> =>
      hexes(await store.revocationIds(Uint8Array.from(prefix)));
    const sorted = hexes(ids);
    const startsWith = (...prefix: number[]): string[] =>
      sorted.filter((h) => h.startsWith(toHex(Uint8Array.from(prefix))));

    expect(await under()).toEqual(sorted);
    expect(await under(0x12)).toEqual(startsWith(0x12));
    expect(await under(0x12)).toHaveLength(4);
    expect(await under(0x12, 0xff)).toEqual(startsWith(0x12, 0xff));
    expect(await under(0x12, 0xff)).toHaveLength(2);
    expect(await under(0xff)).toEqual(startsWith(0xff));
    expect(await under(0xff)).toHaveLength(4);
    expect(await under(0xff, 0xff)).toEqual(startsWith(0xff, 0xff));
    expect(await under(0xff, 0xff)).toHaveLength(2);
    expect(await under(0x00, 0x00)).toEqual(startsWith(0x00, 0x00));
    expect(await under(0x42)).toEqual([]);
    expect(await under(0x12, 0x00)).toEqual([]);
    await store.close();
  });

  it('does not list a key just past the revocation range under prefix 0xff / 0xffff', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await open(path, storageKey);
    const last = id([0xff, 0xff], 0xff);
    await store.putRevocation(last, Uint8Array.of(1));
    await store.close();
    await withRawDb(path, async (db) => {
      await db.put(Uint8Array.of(KeyPrefix.revocation + 1, 0xff, 0xff), Uint8Array.of(0));
      await db.put(Uint8Array.of(KeyPrefix.revocation + 1), Uint8Array.of(0));
    });
    const reopened = await open(path, storageKey);
    expect(hexes(await reopened.revocationIds(Uint8Array.of(0xff)))).toEqual([toHex(last)]);
    expect(hexes(await reopened.revocationIds(Uint8Array.of(0xff, 0xff)))).toEqual([toHex(last)]);
    expect(hexes(await reopened.revocationIds(new Uint8Array(0)))).toEqual([toHex(last)]);
    expect((await reopened.listRevocations(new Uint8Array(0), 10)).map((r) => toHex(r.id))).toEqual(
      [toHex(last)],
    );
    await reopened.close();
  });

  it('pages through records with `after`, ascending, each page up to `limit`', async () => {
    const store = await open();
    const records = new Map<string, Uint8Array>();
    for (let i = 0; i < 25; i++) {
      const key = suite.randomBytes(32);
      const value = suite.randomBytes(10 + i);
      records.set(toHex(key), value);
      await store.putRevocation(key, value);
    }
    const seen: string[] = [];
    let after: Uint8Array = new Uint8Array(0);
    let pages = 0;
    for (;;) {
      const page = await store.listRevocations(after, 10);
      pages += 1;
      expect(page.length).toBeLessThanOrEqual(10);
      for (const { id: key, record } of page) {
        seen.push(toHex(key));
        expect(toHex(record)).toBe(toHex(records.get(toHex(key))!));
      }
      const last = page.at(-1);
      if (last === undefined) break;
      after = last.id;
    }
    expect(seen).toEqual([...records.keys()].sort());
    expect(pages).toBe(4); // 10 + 10 + 5, then an empty page
    // `after` need not be a stored id: it is a position.
    const middle = id([0x80], 0x00);
    expect(
      (await store.listRevocations(middle, 100)).every((r) => toHex(r.id) > toHex(middle)),
    ).toBe(true);
    await store.close();
  });

  it.each([
    [
      'an id of 31 bytes on put',
      (s: NodeStore) => s.putRevocation(new Uint8Array(31), Uint8Array.of(1)),
      ErrorCode.INVALID_LENGTH,
    ],
    [
      'an id of 33 bytes on get',
      (s: NodeStore) => s.getRevocation(new Uint8Array(33)),
      ErrorCode.INVALID_LENGTH,
    ],
    [
      'an id of 0 bytes on has',
      (s: NodeStore) => s.hasRevocation(new Uint8Array(0)),
      ErrorCode.INVALID_LENGTH,
    ],
    [
      'a 3-byte prefix',
      (s: NodeStore) => s.revocationIds(new Uint8Array(3)),
      ErrorCode.INVALID_ARGUMENT,
    ],
    [
      'an `after` of 16 bytes',
      (s: NodeStore) => s.listRevocations(new Uint8Array(16), 1),
      ErrorCode.INVALID_LENGTH,
    ],
    [
      'a limit of 0',
      (s: NodeStore) => s.listRevocations(new Uint8Array(0), 0),
      ErrorCode.INVALID_ARGUMENT,
    ],
  ] as const)('refuses %s', async (_name, call, code) => {
    const store = await open();
    await expect(call(store)).rejects.toMatchObject({ code });
    await store.close();
  });

  it('keeps records across close and reopen', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const first = await open(path, storageKey);
    const a = suite.randomBytes(32);
    const record = suite.randomBytes(500);
    await first.putRevocation(a, record);
    await first.close();
    const second = await open(path, storageKey);
    expect(await second.hasRevocation(a)).toBe(true);
    expect(toHex((await second.getRevocation(a))!)).toBe(toHex(record));
    expect(hexes(await second.revocationIds(new Uint8Array(0)))).toEqual([toHex(a)]);
    await second.close();
  });

  it.each([0, 1, 12, 13, -17, -1])(
    'a flipped byte at %i of a revocation value is STORE_CORRUPT on get and on listing',
    async (at) => {
      const path = tempDir();
      const storageKey = suite.randomBytes(32);
      const store = await open(path, storageKey);
      const a = suite.randomBytes(32);
      await store.putRevocation(a, suite.randomBytes(200));
      await store.close();
      await flipByte(path, revocationKey(a), at);
      const reopened = await open(path, storageKey);
      await expectCorrupt(reopened.getRevocation(a));
      await expectCorrupt(reopened.listRevocations(new Uint8Array(0), 10));
      await reopened.close();
    },
  );

  it('a revocation value copied under another id, and a malformed revocation key, are STORE_CORRUPT', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await open(path, storageKey);
    const a = suite.randomBytes(32);
    const b = suite.randomBytes(32);
    await store.putRevocation(a, suite.randomBytes(200));
    await store.close();
    await withRawDb(path, async (db) => {
      await db.put(revocationKey(b), await rawGet(db, revocationKey(a)));
    });
    let reopened = await open(path, storageKey);
    await expectCorrupt(reopened.getRevocation(b));
    await reopened.close();

    await withRawDb(path, async (db) => {
      await db.del(revocationKey(b));
      await db.put(Uint8Array.of(KeyPrefix.revocation, 1, 2, 3), new Uint8Array(40));
    });
    reopened = await open(path, storageKey);
    await expectCorrupt(reopened.revocationIds(new Uint8Array(0)));
    await expectCorrupt(reopened.listRevocations(new Uint8Array(0), 10));
    await reopened.close();
  });

  it('is a RevocationStore: a live set loads from it after a reopen', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const fixture = quorumFixture(suite);
    const records = signedRecords(suite, fixture, 5);
    const store = await open(path, storageKey);
    const live = await LiveRevocations.load({ suite, nodeSet: fixture.nodeSet, store });
    for (const r of records) expect((await live.accept(r.bytes, 'client')).status).toBe('stored');
    await store.close();

    const reopened = await open(path, storageKey);
    const asRevocationStore: RevocationStore = reopened;
    const again = await LiveRevocations.load({
      suite,
      nodeSet: fixture.nodeSet,
      store: asRevocationStore,
    });
    expect(again.size).toBe(records.length);
    for (const r of records) expect(again.revokedBy(principalsFor(r.body))).toBe(r.body.kind);
    expect((await again.accept(records[0]!.bytes, 'sync')).status).toBe('unchanged');
    await reopened.close();
  });
});
