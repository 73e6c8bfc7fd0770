// Anti-entropy between two live sets over in-memory stores: equal sets cost
// one round and move nothing; any difference is repaired in both
// directions; one missing record among thousands is found in a few rounds;
// a record a peer sends that does not verify stops the exchange and is never
// stored; a second run moves nothing. The peer adapter speaks through the
// revsync wire messages, so what reconcile exchanges must also encode.
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  requireNativeSuite,
  toHex,
} from '../protocol/internal.ts';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import {
  adminsFixture,
  forged,
  principalsFor,
  revocationBody,
  signedRecords,
} from '../test/support/revocation-fixture.ts';
import { MemoryRevocationStore } from '../test/support/revocation-store.ts';
import {
  FETCH_BATCH_IDS,
  PUSH_BATCH_BYTES,
  answerDigest,
  reconcile,
  type SyncPeer,
} from './anti-entropy.ts';
import { LiveRevocations } from './live.ts';
import { revocationId, signRevocation, type RevocationRecord } from './record.ts';

const suite = requireNativeSuite();
const fixture = quorumFixture(suite);
const { nodeSet } = fixture;
const RECORDS = signedRecords(suite, fixture, 2_000);
const ROOT = new Uint8Array(0);

interface Node {
  readonly live: LiveRevocations;
  readonly store: MemoryRevocationStore;
}

/** A node whose store already holds `records` (as after a restart), loaded. */
async function nodeWith(records: readonly RevocationRecord[]): Promise<Node> {
  const store = new MemoryRevocationStore();
  for (const r of records) store.place(r.id, r.bytes);
  return { live: await LiveRevocations.load({ suite, nodeSet, store }), store };
}

interface Traffic {
  digests: number;
  fetches: (readonly Uint8Array[])[];
  pushes: (readonly Uint8Array[])[];
}

/** The remote side, as the node's /qkms/revsync handler answers it (through the wire messages). */
function peerOf(
  remote: LiveRevocations,
  traffic: Traffic = { digests: 0, fetches: [], pushes: [] },
  fetchAnswer?: (ids: readonly Uint8Array[]) => Promise<readonly Uint8Array[]>,
): SyncPeer & { traffic: Traffic } {
  const wire = <T extends 'revsync-digest-ok' | 'revsync-records'>(
    message: Parameters<typeof encodeMessage>[0],
    type: T,
  ) => decodeMessage(encodeMessage(message), MAX_FRAME_BYTES.revsync, [type]);
  return {
    traffic,
    async digest(prefix, mine) {
      traffic.digests += 1;
      const answer = await answerDigest(remote, prefix, mine);
      return wire({ type: 'revsync-digest-ok', ...answer }, 'revsync-digest-ok');
    },
    async fetch(ids) {
      traffic.fetches.push(ids);
      const records = await (fetchAnswer ?? ((i) => remote.records(i, PUSH_BATCH_BYTES)))(ids);
      return wire({ type: 'revsync-records', records }, 'revsync-records').records;
    },
    async push(records) {
      traffic.pushes.push(records);
      for (const bytes of records) await remote.accept(bytes, 'push');
    },
  };
}

function ids(node: Node): string[] {
  return [...node.store.records.keys()].sort();
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

describe('reconcile', () => {
  it('equal sets: one round, nothing fetched or pushed', async () => {
    const a = await nodeWith(RECORDS.slice(0, 200));
    const b = await nodeWith(RECORDS.slice(0, 200));
    const peer = peerOf(b.live);
    expect(await reconcile(a.live, peer)).toEqual({ pulled: 0, pushed: 0, rounds: 1 });
    expect(peer.traffic.fetches).toEqual([]);
    expect(peer.traffic.pushes).toEqual([]);
  });

  it('two empty sets: one round', async () => {
    const a = await nodeWith([]);
    const b = await nodeWith([]);
    expect(await reconcile(a.live, peerOf(b.live))).toEqual({ pulled: 0, pushed: 0, rounds: 1 });
  });

  it('disjoint sets converge both ways from one exchange', async () => {
    const a = await nodeWith(RECORDS.slice(0, 30));
    const b = await nodeWith(RECORDS.slice(30, 60));
    const result = await reconcile(a.live, peerOf(b.live));
    expect(result.pulled).toBe(30);
    expect(result.pushed).toBe(30);
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a)).toHaveLength(60);
    expect(a.live.summary(ROOT)).toEqual(b.live.summary(ROOT));
    for (const record of RECORDS.slice(0, 60)) {
      expect(a.live.revokedBy(principalsFor(record.body))).toBe(record.body.kind);
      expect(b.live.revokedBy(principalsFor(record.body))).toBe(record.body.kind);
    }
  });

  it('finds one record missing among 2,000 in at most three rounds, either side starting', async () => {
    const full = await nodeWith(RECORDS);
    expect(full.live.size).toBe(RECORDS.length); // loaded across several store pages
    const missing = RECORDS[1234]!;
    const lacking = await nodeWith(RECORDS.filter((r) => r !== missing));
    expect(lacking.live.revokedBy(principalsFor(missing.body))).toBeUndefined();

    const pull = await reconcile(lacking.live, peerOf(full.live));
    expect(pull.pulled).toBe(1);
    expect(pull.pushed).toBe(0);
    expect(pull.rounds).toBeLessThanOrEqual(3);
    expect(lacking.store.has(missing.id)).toBe(true);
    expect(lacking.live.revokedBy(principalsFor(missing.body))).toBe(missing.body.kind);

    const other = await nodeWith(RECORDS.filter((r) => r !== missing));
    const traffic: Traffic = { digests: 0, fetches: [], pushes: [] };
    const push = await reconcile(full.live, peerOf(other.live, traffic));
    expect(push).toMatchObject({ pulled: 0, pushed: 1 });
    expect(push.rounds).toBeLessThanOrEqual(3);
    expect(traffic.pushes.flat().map(toHex)).toEqual([toHex(missing.bytes)]);
    expect(ids(other)).toEqual(ids(full));
  });

  it('a second run after convergence moves nothing', async () => {
    const a = await nodeWith(RECORDS.slice(0, 40));
    const b = await nodeWith(RECORDS.slice(20, 60));
    const first = await reconcile(a.live, peerOf(b.live));
    expect(first).toMatchObject({ pulled: 20, pushed: 20 });
    expect(await reconcile(a.live, peerOf(b.live))).toEqual({ pulled: 0, pushed: 0, rounds: 1 });
    expect(await reconcile(b.live, peerOf(a.live))).toEqual({ pulled: 0, pushed: 0, rounds: 1 });
  });

  it('moves hundreds of records in bounded messages: fetches of at most FETCH_BATCH_IDS ids, pushes within PUSH_BATCH_BYTES', async () => {
    const a = await nodeWith(RECORDS.slice(0, 1_000));
    const b = await nodeWith(RECORDS.slice(400, 1_000));
    const pushTraffic: Traffic = { digests: 0, fetches: [], pushes: [] };
    expect(await reconcile(a.live, peerOf(b.live, pushTraffic))).toMatchObject({
      pulled: 0,
      pushed: 400,
    });
    expect(pushTraffic.pushes.length).toBeGreaterThan(1);
    for (const batch of pushTraffic.pushes)
      expect(batch.reduce((n, r) => n + r.length, 0)).toBeLessThanOrEqual(PUSH_BATCH_BYTES);
    expect(ids(b)).toEqual(ids(a));

    const c = await nodeWith(RECORDS.slice(400, 1_000));
    const pullTraffic: Traffic = { digests: 0, fetches: [], pushes: [] };
    expect(await reconcile(c.live, peerOf(a.live, pullTraffic))).toMatchObject({
      pulled: 400,
      pushed: 0,
    });
    expect(pullTraffic.fetches.length).toBeGreaterThan(1);
    for (const batch of pullTraffic.fetches)
      expect(batch.length).toBeLessThanOrEqual(FETCH_BATCH_IDS);
    expect(ids(c)).toEqual(ids(a));
  });

  it('a peer answering one record per fetch still gets everything pulled; one with none ends the pull', async () => {
    const a = await nodeWith(RECORDS.slice(0, 10));
    const b = await nodeWith(RECORDS.slice(0, 20));
    const slow = peerOf(b.live, undefined, (wanted) => b.live.records(wanted.slice(0, 1), 1));
    expect(await reconcile(a.live, slow)).toMatchObject({ pulled: 10, pushed: 0 });
    expect(slow.traffic.fetches).toHaveLength(10);
    expect(ids(a)).toEqual(ids(b));

    const c = await nodeWith(RECORDS.slice(0, 10));
    const empty = peerOf(b.live, undefined, () => Promise.resolve([]));
    expect(await reconcile(c.live, empty)).toMatchObject({ pulled: 0, pushed: 0 });
    expect(empty.traffic.fetches).toHaveLength(1);
  });

  it('a peer that sends a forged record makes reconcile reject with BAD_REVOCATION; nothing forged is stored', async () => {
    const shared = RECORDS.slice(0, 50);
    const target = RECORDS[50]!;
    const local = await nodeWith(shared);
    // The liar's store holds a forged copy (same id, bad signature); its digest advertises it.
    const liarStore = new MemoryRevocationStore();
    for (const r of shared) liarStore.place(r.id, r.bytes);
    liarStore.place(target.id, forged(target.bytes));
    const liar = await LiveRevocations.load({ suite, nodeSet, store: liarStore });

    const error = await failure(reconcile(local.live, peerOf(liar)));
    expect(isQkmsError(error, ErrorCode.BAD_REVOCATION)).toBe(true);
    expect(local.store.has(target.id)).toBe(false);
    expect(local.live.size).toBe(shared.length);
    expect(local.live.revokedBy(principalsFor(target.body))).toBeUndefined();
  });

  it('a peer that answers a fetch with a forged record it never advertised is refused too', async () => {
    const a = await nodeWith(RECORDS.slice(0, 5));
    const b = await nodeWith(RECORDS.slice(0, 6));
    const intruder = RECORDS[100]!;
    const lying = peerOf(b.live, undefined, () => Promise.resolve([forged(intruder.bytes)]));
    const error = await failure(reconcile(a.live, lying));
    expect(isQkmsError(error, ErrorCode.BAD_REVOCATION)).toBe(true);
    expect(a.store.has(intruder.id)).toBe(false);
    expect(a.store.records.size).toBe(5);
  });
});

describe('reconcile with records of another node set in the store', () => {
  // A store may hold records of an earlier node set (LiveRevocations.load counts
  // them in `foreign` and applies none). They are not in the digest, and must not
  // travel either: the peer refuses them (BAD_REVOCATION), so offering one fails
  // the whole exchange, every time, and the node never counts that peer as synced.
  const other = adminsFixture(suite, { admins: 1, threshold: 1, epoch: 9 });
  const local = RECORDS.slice(0, 10);
  const remote = RECORDS.slice(0, 200);
  const prefixes = new Set(RECORDS.slice(10, 200).map((r) => toHex(r.id.subarray(0, 2))));
  /** A foreign record whose id falls in a 2-byte bucket where the two sides differ. */
  const foreign = ((): RevocationRecord => {
    for (let label = 1; ; label++) {
      const body = revocationBody(other.nodeSet, 'wallet', label);
      if (prefixes.has(toHex(revocationId(suite, body).subarray(0, 2))))
        return signRevocation(suite, other.nodeSet, body, [other.adminSeeds[0]!]);
    }
  })();

  async function nodeWithForeign(): Promise<LiveRevocations> {
    const store = new MemoryRevocationStore();
    for (const r of [...local, foreign]) store.place(r.id, r.bytes);
    return LiveRevocations.load({ suite, nodeSet, store });
  }

  it('a foreign record is not offered to a peer (pushed)', async () => {
    const withForeign = await nodeWithForeign();
    expect(withForeign.foreign).toBe(1);
    const b = await nodeWith(remote);
    const result = await reconcile(withForeign, peerOf(b.live));
    expect(result).toMatchObject({ pulled: 190, pushed: 0 });
    expect(b.store.has(foreign.id)).toBe(false);
  });

  it('a foreign record is not listed to a peer that asks for a bucket (pulled)', async () => {
    const withForeign = await nodeWithForeign();
    const b = await nodeWith(remote);
    const result = await reconcile(b.live, peerOf(withForeign));
    expect(result).toMatchObject({ pulled: 0, pushed: 190 });
    expect(b.store.has(foreign.id)).toBe(false);
  });
});

describe('answerDigest', () => {
  it('answers an equal digest with empty children and ids, a differing one with the level below', async () => {
    const a = await nodeWith(RECORDS.slice(0, 100));
    const b = await nodeWith(RECORDS.slice(0, 101));
    const same = await answerDigest(a.live, ROOT, a.live.summary(ROOT));
    expect(same.children).toHaveLength(0);
    expect(same.ids).toEqual([]);
    const root = await answerDigest(b.live, ROOT, a.live.summary(ROOT));
    expect(root.count).toBe(101);
    expect(toHex(root.children)).toBe(toHex(b.live.children(ROOT)));
    const extra = RECORDS[100]!.id;
    const leaf = await answerDigest(
      b.live,
      extra.subarray(0, 2),
      a.live.summary(extra.subarray(0, 2)),
    );
    expect(leaf.children).toHaveLength(0);
    expect(leaf.ids.map(toHex)).toContain(toHex(extra));
  });
});
