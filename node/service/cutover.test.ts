// A node's side of the cutover (decision 0017), on a real store: what it
// refuses (a record short of the admins' quorum, a handover it is not part
// of, a cutover that would leave a content behind at a node that stays), and
// what it keeps (the lineage, synced, and the custody record) before it
// answers and asks to be restarted, once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  encodeCutoverRecord,
  requireNativeSuite,
  signCutover,
  type MessageOf,
} from '../../protocol/internal.ts';
import { quorumFixture } from '../../test/support/protocol-fixture.ts';
import { content } from '../../test/support/store-fixture.ts';
import { freshNodeKeys, successorOf } from '../../test/support/reshare-fixture.ts';
import { silentLogger } from '../log.ts';
import { NodeStore } from '../store/index.ts';
import { CutoverService } from './cutover.ts';
import type { CustodyEvent } from './types.ts';

const suite = requireNativeSuite();
const old = quorumFixture(suite, 5, 3);
// Node 5 leaves, a fresh node 6 joins.
const next = successorOf(suite, old, [...old.nodes.slice(0, 4), freshNodeKeys(suite, 6)], 3);
const encoder = new TextEncoder();
const fromFile = encoder.encode(old.nodeSetFile);
const toFile = encoder.encode(next.toFile);
const record = encodeCutoverRecord(
  signCutover(suite, old.nodeSet.admins, { from: old.nodeSet.id, to: next.handover.to.id, at: 1 }, [
    old.adminSeed,
  ]),
);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function node(index: number) {
  const dir = mkdtempSync(join(tmpdir(), 'qkms-cutover-'));
  dirs.push(dir);
  const store = await NodeStore.open({ path: dir, storageKey: suite.randomBytes(32), suite });
  const keys = old.nodes[index - 1];
  if (keys === undefined) throw new Error(`no node ${index}`);
  const events: CustodyEvent[] = [];
  let restarts = 0;
  const service = new CutoverService({
    suite,
    nodeSet: old.nodeSet,
    files: [fromFile],
    identity: keys.identity,
    kem: suite.xwing.decapsulator(keys.kemSeed),
    store,
    audit: {
      record: (e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
    log: silentLogger,
    onCutover: () => {
      restarts += 1;
    },
  });
  return { store, service, events, restarts: () => restarts };
}

const cutover = (r = record): MessageOf<'reshare-cutover'> => ({
  type: 'reshare-cutover',
  record: r,
  from: fromFile,
  to: toFile,
  ancestors: [],
});

describe('CutoverService', () => {
  it('a staying node holding every content for the successor stores the lineage and answers serving, once', async () => {
    const n = await node(2);
    const c = content();
    await n.store.putContent(c);
    await n.store.putPending({
      content: { ...c, sharing: Uint8Array.of(0xa0) },
      nodeSetId: next.handover.to.id,
      held: true,
    });
    expect(await n.service.answer(cutover())).toEqual({
      type: 'reshare-cutover-ok',
      state: 'serving',
    });
    expect(await n.store.getLineage()).toEqual({ files: [fromFile, toFile], retired: false });
    expect(n.events.map((e) => e.kind)).toEqual(['cutover']);
    // Asked again (a coordinator retrying): the same answer, nothing written twice.
    expect(await n.service.answer(cutover())).toEqual({
      type: 'reshare-cutover-ok',
      state: 'serving',
    });
    expect(n.events).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(n.restarts()).toBe(1);
    await n.store.close();
  });

  it('a staying node refuses while a content it serves has no held share for the successor', async () => {
    const n = await node(1);
    const c = content();
    await n.store.putContent(c);
    await n.store.putPending({
      content: { ...c, sharing: Uint8Array.of(0xa0) },
      nodeSetId: next.handover.to.id,
      held: false,
    });
    await expect(n.service.answer(cutover())).rejects.toMatchObject({
      code: ErrorCode.RESHARE_DENIED,
      message: expect.stringMatching(/has no complete share for the successor/),
    });
    expect(await n.store.getLineage()).toBeUndefined();
    expect(n.events).toEqual([]);
    await n.store.close();
  });

  it('a leaving node answers retired and stores the lineage marked retired', async () => {
    const n = await node(5);
    await n.store.putContent(content());
    expect(await n.service.answer(cutover())).toEqual({
      type: 'reshare-cutover-ok',
      state: 'retired',
    });
    expect((await n.store.getLineage())?.retired).toBe(true);
    await n.store.close();
  });

  it('refuses a record without the old admins’ signatures, or for another successor', async () => {
    const n = await node(5);
    const unsigned = encodeCutoverRecord(
      signCutover(suite, old.nodeSet.admins, { from: old.nodeSet.id, to: old.nodeSet.id, at: 1 }, [
        old.adminSeed,
      ]),
    );
    await expect(n.service.answer(cutover(unsigned))).rejects.toMatchObject({
      code: ErrorCode.RESHARE_DENIED,
      message: expect.stringMatching(/another handover/),
    });
    await expect(n.service.answer(cutover(record.slice(0, 40)))).rejects.toMatchObject({
      code: ErrorCode.RESHARE_DENIED,
    });
    expect(await n.store.getLineage()).toBeUndefined();
    expect(n.restarts()).toBe(0);
    await n.store.close();
  });

  it('answers node-set with the files it served', async () => {
    const n = await node(3);
    expect(await n.service.answer({ type: 'node-set' })).toEqual({
      type: 'node-set-ok',
      files: [fromFile],
    });
    await n.store.close();
  });
});
