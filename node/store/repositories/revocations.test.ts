// Revocation records through the store (repositories/revocations.ts): put,
// get and has, listing by id prefix at the range edges, paging, input checks,
// a damaged value or key, and the store as revocation/'s RevocationStore.
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, toHex } from '../../../protocol/internal.ts';
import { LiveRevocations, type RevocationStore } from '../../../revocation/index.ts';
import { quorumFixture } from '../../../test/support/protocol-fixture.ts';
import { principalsFor, signedRecords } from '../../../test/support/revocation-fixture.ts';
import {
  content,
  expectCorrupt,
  flipByte,
  nonce,
  rawGet,
  suite,
  useTempDirs,
  withRawDb,
} from '../../../test/support/store-fixture.ts';
import { NodeStore } from '../db.ts';
import { KeyPrefix, revocationKey } from '../keys.ts';

const tempDir = useTempDirs();
afterEach(() => {
  vi.restoreAllMocks();
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
