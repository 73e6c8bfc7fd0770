import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeCanonical,
  encodeMessage,
  requireNativeSuite,
} from '../../protocol/internal.ts';
import { freshNodeKeys } from '../../test/support/reshare-fixture.ts';
import { ReshareWorld, WORLD_TIME } from '../../test/support/reshare-world.ts';
import { runHandover, type CoordinatorOptions } from './coordinator.ts';

const suite = requireNativeSuite();
const worlds: ReshareWorld[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

async function world(count: number): Promise<ReshareWorld> {
  const w = await ReshareWorld.create(suite, count);
  worlds.push(w);
  return w;
}

type Successor = Awaited<ReturnType<ReshareWorld['successor']>>;

function options(
  w: ReshareWorld,
  s: Successor,
  extra: Partial<CoordinatorOptions> = {},
): CoordinatorOptions {
  return {
    suite,
    from: s.fromSide,
    to: s.toSide,
    ticket: w.ticket(s.handover.to),
    send: w.send,
    now: () => WORLD_TIME,
    ...extra,
  };
}

/** Every content opens from the first `t` new holders, and from the last `t`. */
async function expectRecoverable(w: ReshareWorld, s: Successor): Promise<void> {
  const t = s.handover.to.threshold;
  for (const c of w.contents) {
    const holders = [];
    for (const node of s.newNodes) {
      const h = await w.held(node, s.handover.to, c);
      expect(h, `node ${node.index} holds content`).toBeDefined();
      if (h !== undefined) holders.push(h);
    }
    expect(w.open(c, t, holders.slice(0, t))).toEqual(c.cek);
    expect(w.open(c, t, holders.slice(-t))).toEqual(c.cek);
  }
}

describe('admin reshare: the coordinator against in-process nodes with real stores', () => {
  it('join 5/3 -> 6/4: every content is held by all six, opens from any four, and a re-run changes nothing', async () => {
    const w = await world(5);
    const s = await w.successor([...w.old.nodes, freshNodeKeys(suite, 6)], 4);
    const progress: number[] = [];
    const report = await runHandover(
      options(w, s, { batchSize: 2, onProgress: (p) => progress.push(p.held) }),
    );
    expect(report).toMatchObject({ total: 5, held: 5, alreadyHeld: 0, partial: 0, failed: 0 });
    expect(progress).toEqual([2, 4, 5]);
    for (const c of report.contents) expect(c.heldBy).toEqual([1, 2, 3, 4, 5, 6]);
    await expectRecoverable(w, s);
    // Custody: each old node logged the contents it dealt; node 6 the ones it took and holds.
    const six = w.events(s.newNodes[5]!);
    expect(six.filter((e) => e.kind === 'reshare-committed')).toHaveLength(5);
    expect(six.filter((e) => e.kind === 'reshare-held')).toHaveLength(5);
    expect(w.events(w.old.nodes[0]!).filter((e) => e.kind === 'reshare-dealt')).toHaveLength(5);

    const again = await runHandover(options(w, s));
    expect(again).toMatchObject({ total: 5, held: 5, alreadyHeld: 5 });
    // Nothing was dealt again.
    expect(w.events(w.old.nodes[0]!).filter((e) => e.kind === 'reshare-dealt')).toHaveLength(5);
  });

  it('leave 5/3 -> 4/3 and refresh 5/3 -> 5/3 (same members, new shares, same CEK)', async () => {
    const w = await world(2);
    const leave = await w.successor(w.old.nodes.slice(1), 3);
    expect(await runHandover(options(w, leave))).toMatchObject({ held: 2, failed: 0 });
    await expectRecoverable(w, leave);
    const refresh = await w.successor(w.old.nodes, 3);
    expect(await runHandover(options(w, refresh))).toMatchObject({ held: 2, failed: 0 });
    await expectRecoverable(w, refresh);
    const before = await w.held(w.old.nodes[0]!, refresh.handover.to, w.contents[0]!);
    expect(before?.share).not.toEqual(w.contents[0]!.shares[0]);
  });

  it('a byzantine old node is named by the new nodes and the handover completes without it', async () => {
    const w = await world(3);
    w.lie(1);
    const s = await w.successor([...w.old.nodes, freshNodeKeys(suite, 6)], 4);
    const report = await runHandover(options(w, s));
    expect(report).toMatchObject({ held: 3, failed: 0 });
    for (const c of report.contents) {
      expect(c.dealers).not.toContain(1);
      expect(c.blamed.map((b) => [b.dealer, b.reason])).toContainEqual([1, 'bad-sub-share']);
    }
    expect(report.nodes.find((n) => n.set === 'old' && n.index === 1)?.blamed).toBeGreaterThan(0);
    await expectRecoverable(w, s);
  });

  it('with only two of five old nodes (t = 3) nothing is held: the report says how many dealt', async () => {
    const w = await world(2);
    for (const i of [3, 4, 5])
      w.down.add(Buffer.from(w.old.nodes[i - 1]!.identity.publicKey).toString('hex'));
    const s = await w.successor(w.old.nodes, 3);
    const report = await runHandover(options(w, s));
    expect(report).toMatchObject({ total: 2, held: 0, failed: 2 });
    for (const c of report.contents)
      expect(c.reason).toBe('only 2 honest old nodes dealt it, 3 needed');
    for (const node of s.newNodes.slice(0, 2))
      expect(await w.held(node, s.handover.to, w.contents[0]!)).toBeUndefined();
    const down = report.nodes
      .filter((n) => n.set === 'old' && n.unanswered > 0)
      .map((n) => n.index);
    expect(down).toEqual([3, 4, 5]);
  });

  it('a coordinator stopped after its first batch resumes: the next run moves only the rest', async () => {
    const w = await world(3);
    const s = await w.successor([...w.old.nodes, freshNodeKeys(suite, 6)], 4);
    await expect(
      runHandover(
        options(w, s, {
          batchSize: 1,
          onProgress: () => {
            throw new Error('coordinator killed');
          },
        }),
      ),
    ).rejects.toThrow('coordinator killed');
    const report = await runHandover(options(w, s));
    expect(report).toMatchObject({ total: 3, held: 3, alreadyHeld: 1 });
    await expectRecoverable(w, s);
  });

  it('a new node that missed a re-commit holds another sharing: the content is not taken as done until all agree', async () => {
    const w = await world(2);
    const s = await w.successor([...w.old.nodes, freshNodeKeys(suite, 6)], 4);
    const key = (i: number): string =>
      Buffer.from(s.newNodes[i - 1]!.identity.publicKey).toString('hex');
    w.down.add(key(6));
    expect(await runHandover(options(w, s))).toMatchObject({ held: 0, partial: 2 });
    w.down.delete(key(6));
    // Nodes 1-4 and 6 move to a fresh sharing; node 5, down, keeps the first one.
    w.down.add(key(5));
    expect(await runHandover(options(w, s))).toMatchObject({ held: 0, partial: 2 });
    w.down.delete(key(5));
    const last = await runHandover(options(w, s));
    expect(last).toMatchObject({ held: 2, alreadyHeld: 0, partial: 0 });
    await expectRecoverable(w, s);
  });

  it('nodes refuse an expired ticket, or one another admin key signed: nothing is dealt', async () => {
    const w = await world(1);
    const s = await w.successor(w.old.nodes, 3);
    const expired = await runHandover(
      options(w, s, { ticket: w.ticket(s.handover.to, WORLD_TIME - 1) }),
    );
    expect(expired.total).toBe(0);
    for (const n of expired.nodes.filter((x) => x.set === 'old'))
      expect(n.rejected).toEqual({ RESHARE_DENIED: 1 });
    const forged = {
      ...w.ticket(s.handover.to),
      admin: 0,
      signature: new Uint8Array(3373).fill(1),
    };
    expect((await runHandover(options(w, s, { ticket: forged }))).total).toBe(0);
    expect(w.events(w.old.nodes[0]!)).toEqual([]);
  });
});

describe('reshare-record on a new node', () => {
  it('a record of the right shape that is no valid sharing record is refused MALFORMED, not INTERNAL', async () => {
    const w = await world(1);
    const s = await w.successor([...w.old.nodes, freshNodeKeys(suite, 6)], 4);
    const node = s.handover.to.nodes[5];
    if (node === undefined) throw new Error('no new node 6');
    const frame = encodeMessage({
      type: 'reshare-record',
      ticket: w.ticket(s.handover.to),
      from: s.fromSide.file,
      to: s.toSide.file,
      // Well-formed CBOR of the right shape, but two commitments for a threshold of 1.
      records: [
        encodeCanonical({
          body: {
            v: 1,
            content: new Uint8Array(32),
            nodeSet: s.handover.to.id,
            t: 1,
            commitments: [new Uint8Array(32), new Uint8Array(32)],
            dealers: [1],
            previous: s.handover.from.id,
          },
          sigs: [{ node: 1, sig: new Uint8Array(64) }],
        }),
      ],
    });
    const answer = decodeMessage(await w.send(node, frame), 1 << 20, ['reject']);
    expect(answer).toMatchObject({ type: 'reject', code: 'MALFORMED' });
  });
});
