// What a cutover does to a node's store (decision 0017): the lineage survives
// a restart; held pending shares become the content records (the old share
// overwritten), never-held ones are dropped; a retired node's wipe leaves no
// share and does not read as a loss when the store opens again.
import { describe, expect, it } from 'vitest';
import { content, suite, useTempDirs } from '../../../test/support/store-fixture.ts';
import { NodeStore } from '../db.ts';

const tempDir = useTempDirs();
const storageKey = suite.randomBytes(32);
/** Every open of one directory uses the same key, as a node's restarts do. */
const openStore = (path: string): Promise<NodeStore> => NodeStore.open({ path, storageKey, suite });

function pending(contentId: Uint8Array, nodeSetId: Uint8Array, held: boolean) {
  return {
    content: { ...content({ contentId }), sharing: Uint8Array.of(0xa0) },
    nodeSetId,
    held,
  };
}

describe('NodeStore cutover records', () => {
  it('keeps the lineage across a restart', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    expect(await store.getLineage()).toBeUndefined();
    const lineage = { files: [Uint8Array.of(1, 2), Uint8Array.of(3)], retired: false };
    await store.putLineage(lineage);
    await store.close();
    const again = await openStore(dir);
    expect(await again.getLineage()).toEqual(lineage);
    await again.close();
  });

  it('promotes held pending shares over the old ones, drops unheld ones, leaves other sets alone', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const next = suite.randomBytes(32);
    const other = suite.randomBytes(32);
    const ids = Array.from({ length: 300 }, () => suite.randomBytes(32));
    for (const id of ids) await store.putContent(content({ contentId: id }));
    for (const id of ids.slice(0, 299)) await store.putPending(pending(id, next, true));
    const unheld = ids[299] ?? new Uint8Array();
    await store.putPending(pending(unheld, next, false));
    await store.putPending(pending(unheld, other, true));

    expect(await store.promotePending(next)).toEqual({ promoted: 299, dropped: 1 });
    for (const id of ids.slice(0, 299)) {
      const c = await store.getContent(id);
      expect(c?.sharing).toEqual(Uint8Array.of(0xa0));
      expect(await store.getPending(next, id)).toBeUndefined();
    }
    // The never-held share is gone; the content keeps its old record; another set's pending stays.
    expect(await store.getPending(next, unheld)).toBeUndefined();
    expect((await store.getContent(unheld))?.sharing).toBeUndefined();
    expect(await store.getPending(other, unheld)).toBeDefined();
    expect(await store.promotePending(next)).toEqual({ promoted: 0, dropped: 0 });
    await store.close();
    const again = await openStore(dir);
    expect(again.integrity).toBeUndefined();
    expect(await again.countContent()).toBe(300);
    await again.close();
  });

  it("a retired node's wipe deletes every share and the reopened store reports no loss", async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const ids = Array.from({ length: 200 }, () => suite.randomBytes(32));
    for (const id of ids) await store.putContent(content({ contentId: id }));
    await store.putPending(pending(ids[0] ?? new Uint8Array(), suite.randomBytes(32), true));
    expect(await store.wipeShares()).toBe(201);
    expect(await store.countContent()).toBe(0);
    await store.close();
    const again = await openStore(dir);
    expect(again.integrity).toBeUndefined();
    expect(await again.listContentIds(new Uint8Array(0), 10)).toEqual([]);
    // It can still take content afterwards (the mark's index starts again).
    await again.putContent(content());
    await again.close();
    const third = await openStore(dir);
    expect(third.integrity).toBeUndefined();
    expect(await third.countContent()).toBe(1);
    await third.close();
  });
});
