import { beforeAll, describe, expect, it } from 'vitest';
import {
  contentFixture,
  quorumFixture,
  sessionFixture,
  type ContentFixture,
  type QuorumFixture,
} from '../../test/support/protocol-fixture.ts';
import {
  freshNodeKeys,
  successorOf,
  type HandoverFixture,
} from '../../test/support/reshare-fixture.ts';
import { concatBytes } from '../bytes.ts';
import { encodeCanonical } from '../codec/cbor.ts';
import { open, seal } from '../seal.ts';
import { manifestToCbor, openCek } from '../manifest.ts';
import { sharingRecordToCbor, verifySharingRecord, withAttestations } from '../sharing-record.ts';
import { checkShareBytes, combineKey } from '../sharing.ts';
import { requireNativeSuite } from '../suite/index.ts';
import {
  commitBatch,
  dealBatch,
  dealingSigningBytes,
  reshareSealContext,
  type CommitOutcome,
  type DealInput,
  type DealtBatch,
  type ForwardedDealing,
  type Handover,
  type SharingSource,
} from './dealing.ts';

const suite = requireNativeSuite();

let old: QuorumFixture;
let contents: ContentFixture[];

beforeAll(async () => {
  old = quorumFixture(suite, 5, 3);
  const publisher = await sessionFixture(suite, old.nodeSet);
  contents = [1, 2, 3].map((label) =>
    contentFixture(suite, old.nodeSet, publisher, { kind: 'open' }, label),
  );
});

function sourceOf(c: ContentFixture, record?: Uint8Array): SharingSource {
  return {
    contentId: c.contentId,
    manifest: encodeCanonical(manifestToCbor(c.manifest)),
    ...(record === undefined ? {} : { record }),
  };
}

/** Old node `dealer` deals every content from its shares (shareOf gives its 64 bytes). */
function deal(
  handover: Handover,
  dealer: number,
  inputs: (c: ContentFixture, i: number) => DealInput,
): Promise<DealtBatch> {
  const keys = old.nodes[dealer - 1]!;
  return dealBatch(
    suite,
    handover,
    { index: dealer, identity: keys.identity },
    contents.map(inputs),
  );
}

function forwarded(batch: DealtBatch, position: number): ForwardedDealing {
  return { ...batch.dealing, sealed: batch.sealed[position]! };
}

/** Every new node commits with dealers `dealers` for every content. */
async function commitAll(
  fx: HandoverFixture,
  batches: readonly DealtBatch[],
  dealers: readonly number[],
): Promise<CommitOutcome[][]> {
  const sources = batches.flatMap((b) => b.sources);
  return Promise.all(
    fx.newNodes.map((node, position) =>
      commitBatch(
        suite,
        fx.handover,
        {
          index: node.index,
          kem: suite.xwing.decapsulator(node.kemSeed),
          identity: node.identity,
        },
        batches.map((b) => forwarded(b, position)),
        sources,
        contents.map((c) => ({ contentId: c.contentId, dealers })),
      ),
    ),
  );
}

function honest(c: ContentFixture, dealer: number): DealInput {
  return { contentId: c.contentId, source: sourceOf(c), share: c.shares[dealer - 1]!.slice() };
}

describe('redistribution rounds (decision 0016)', () => {
  it('join 5/3 -> 6/4: every new node verifies its share, t′ of them open each CEK, and the record verifies', async () => {
    const fx = successorOf(suite, old, [...old.nodes, freshNodeKeys(suite, 6)], 4);
    const batches = await Promise.all(
      [1, 2, 3, 4, 5].map((d) => deal(fx.handover, d, (c) => honest(c, d))),
    );
    expect(batches[0]!.dealing.items.every((i) => i.status === 'ok')).toBe(true);
    expect(batches[0]!.sealed).toHaveLength(6);
    const outcomes = await commitAll(fx, batches, [1, 3, 5]);
    for (const [k, c] of contents.entries()) {
      const perNode = outcomes.map((o) => o[k]!);
      for (const o of perNode) expect(o.status).toBe('ok');
      const ok = perNode.filter((o) => o.status === 'ok');
      const body = ok[0]!.body;
      for (const o of ok) expect(o.body.commitments).toEqual(body.commitments);
      // Each new share lies on the new commitments; the old ones no longer fit it.
      ok.forEach((o, j) => {
        expect(checkShareBytes(body.commitments, j + 1, o.share)).toBe(true);
        expect(checkShareBytes(c.manifest.body.commitments, j + 1, o.share)).toBe(false);
      });
      const record = withAttestations(
        body,
        ok.map((o) => o.attestation),
      );
      expect(
        verifySharingRecord(suite, record, fx.handover.to, c.manifest.body.commitments[0]!),
      ).toEqual(body.commitments);
      // Any 4 of the 6 new shares open the CEK; 3 do not.
      for (const pick of [
        [1, 2, 3, 4],
        [3, 4, 5, 6],
        [1, 2, 5, 6],
      ]) {
        const key = combineKey(
          pick.map((x) => ({ x, bytes: ok[x - 1]!.share })),
          4,
          () => true,
        );
        expect(openCek(suite, c.manifest.body, key)).toEqual(c.cek);
      }
      const three = combineKey(
        [1, 2, 3].map((x) => ({ x, bytes: ok[x - 1]!.share })),
        3,
        () => true,
      );
      expect(openCek(suite, c.manifest.body, three)).toBeUndefined();
    }
  });

  it('a second handover deals from the sharing record, and leave 6/4 -> 4/2 still opens every CEK', async () => {
    const first = successorOf(suite, old, [...old.nodes, freshNodeKeys(suite, 6)], 4);
    const batches = await Promise.all(
      [1, 2, 3, 4, 5].map((d) => deal(first.handover, d, (c) => honest(c, d))),
    );
    const outcomes = await commitAll(first, batches, [2, 3, 4]);
    // The first set's successor is now the old set: its holders deal from record + share.
    const mid: QuorumFixture = {
      nodeSet: first.handover.to,
      nodeSetFile: first.toFile,
      nodes: first.newNodes,
      adminSeed: old.adminSeed,
    };
    const second = successorOf(
      suite,
      mid,
      [first.newNodes[1]!, first.newNodes[2]!, first.newNodes[4]!, first.newNodes[5]!],
      2,
    );
    const records = contents.map((_, k) => {
      const ok = outcomes.map((o) => o[k]!).filter((o) => o.status === 'ok');
      return encodeCanonical(
        sharingRecordToCbor(
          withAttestations(
            ok[0]!.body,
            ok.map((o) => o.attestation),
          ),
        ),
      );
    });
    const batches2 = await Promise.all(
      [1, 3, 6, 2].map((d) =>
        dealBatch(
          suite,
          second.handover,
          { index: d, identity: first.newNodes[d - 1]!.identity },
          contents.map((c, k) => {
            const o = outcomes[d - 1]![k]!;
            if (o.status !== 'ok') throw new Error('expected a share');
            return {
              contentId: c.contentId,
              source: sourceOf(c, records[k]),
              share: o.share.slice(),
            };
          }),
        ),
      ),
    );
    const outcomes2 = await commitAll(second, batches2, [1, 2, 3, 6]);
    for (const [k, c] of contents.entries()) {
      const ok = outcomes2.map((o) => o[k]!);
      for (const o of ok) expect(o.status).toBe('ok');
      const shares = ok.flatMap((o) => (o.status === 'ok' ? [o.share] : []));
      const key = combineKey(
        [
          { x: 2, bytes: shares[1]! },
          { x: 4, bytes: shares[3]! },
        ],
        2,
        () => true,
      );
      expect(openCek(suite, c.manifest.body, key)).toEqual(c.cek);
    }
  });

  it('a dealer holding a share off the committed polynomial deals it as failed; choosing it names it, choosing others completes', async () => {
    const fx = successorOf(suite, old, old.nodes, 3);
    // Old node 2 deals from a share that is not its own (node 4's): its D_0 does not commit to share 2.
    const batches = await Promise.all(
      [1, 2, 3, 4, 5].map((d) =>
        deal(fx.handover, d, (c) =>
          d === 2
            ? { contentId: c.contentId, source: sourceOf(c), share: c.shares[3]!.slice() }
            : honest(c, d),
        ),
      ),
    );
    // Node 2's own check refuses to spread a share that is not on the committed polynomial.
    expect(batches[1]!.dealing.items.every((i) => i.status === 'failed')).toBe(true);
    const withTwo = await commitAll(fx, batches, [1, 2, 3]);
    for (const o of withTwo.flat()) {
      expect(o.status).toBe('blame');
      if (o.status === 'blame') expect(o.blamed).toEqual([{ dealer: 2, reason: 'disagrees' }]);
    }
    const without = await commitAll(fx, batches, [1, 3, 4]);
    for (const o of without.flat()) expect(o.status).toBe('ok');
  });

  it('a relayed seal altered names its dealer bad-signature; a dealer sealing sub-shares off its polynomial is named bad-sub-share and routed around', async () => {
    const fx = successorOf(suite, old, old.nodes, 3);
    const batches = await Promise.all(
      [1, 2, 3, 4].map((d) => deal(fx.handover, d, (c) => honest(c, d))),
    );
    const sources = batches[0]!.sources;
    const node = fx.newNodes[0]!;
    const self = { index: 1, kem: suite.xwing.decapsulator(node.kemSeed), identity: node.identity };
    const choices = contents.map((c) => ({ contentId: c.contentId, dealers: [1, 2, 3] }));
    const flipped = (b: Uint8Array): Uint8Array => {
      const copy = b.slice();
      copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
      return copy;
    };
    // A relay flipping a ciphertext byte: the seal's digest no longer matches what dealer 1 signed.
    const tamperedSeal = forwarded(batches[0]!, 0);
    const sealedOut = await commitBatch(
      suite,
      fx.handover,
      self,
      [
        {
          ...tamperedSeal,
          sealed: { ...tamperedSeal.sealed, ciphertext: flipped(tamperedSeal.sealed.ciphertext) },
        },
        forwarded(batches[1]!, 0),
        forwarded(batches[2]!, 0),
      ],
      sources,
      choices,
    );
    for (const o of sealedOut)
      expect(o).toMatchObject({
        status: 'blame',
        blamed: [{ dealer: 1, reason: 'bad-signature' }],
      });
    // Dealer 3 seals node 1 sub-shares that are not on its polynomial (dealer 1's, re-sealed), and
    // signs the dealing with that seal's digest: everything it signed is consistent, the sub-shares lie.
    const three = batches[2]!;
    const stolen = await open(
      suite,
      self.kem,
      reshareSealContext(suite, fx.handover, 1, 1, batches[0]!.dealing.items),
      batches[0]!.sealed[0]!,
    );
    const resealed = await seal(
      suite,
      node.kemPublicKey,
      reshareSealContext(suite, fx.handover, 3, 1, three.dealing.items),
      stolen,
    );
    const digests = three.dealing.sealDigests.map((d, j) =>
      j === 0 ? suite.sha256(concatBytes(resealed.enc, resealed.ciphertext)) : d,
    );
    const lying: ForwardedDealing = {
      ...three.dealing,
      sealDigests: digests,
      signature: old.nodes[2]!.identity.sign(
        dealingSigningBytes(fx.handover, 3, three.dealing.items, digests),
      ),
      sealed: resealed,
    };
    const out = await commitBatch(
      suite,
      fx.handover,
      self,
      [forwarded(batches[0]!, 0), forwarded(batches[1]!, 0), lying, forwarded(batches[3]!, 0)],
      sources,
      choices,
    );
    for (const o of out)
      expect(o).toMatchObject({
        status: 'blame',
        blamed: [{ dealer: 3, reason: 'bad-sub-share' }],
      });
    // Without dealer 3 the same dealings complete.
    const routed = await commitBatch(
      suite,
      fx.handover,
      self,
      [forwarded(batches[0]!, 0), forwarded(batches[1]!, 0), lying, forwarded(batches[3]!, 0)],
      sources,
      contents.map((c) => ({ contentId: c.contentId, dealers: [1, 2, 4] })),
    );
    expect(routed.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('a wrong dealer count or a missing source is refused without naming anyone', async () => {
    const fx = successorOf(suite, old, old.nodes, 3);
    const batches = await Promise.all(
      [1, 2, 3].map((d) => deal(fx.handover, d, (c) => honest(c, d))),
    );
    const node = fx.newNodes[0]!;
    const self = { index: 1, kem: suite.xwing.decapsulator(node.kemSeed), identity: node.identity };
    const out = await commitBatch(
      suite,
      fx.handover,
      self,
      batches.map((b) => forwarded(b, 0)),
      batches[0]!.sources.slice(1),
      [
        { contentId: contents[0]!.contentId, dealers: [1, 2, 3] },
        { contentId: contents[1]!.contentId, dealers: [1, 2] },
        { contentId: contents[2]!.contentId, dealers: [3, 2, 1] },
      ],
    );
    expect(out.map((o) => o.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('a content the dealer does not hold is dealt as absent, and the others still go through', async () => {
    const fx = successorOf(suite, old, old.nodes, 3);
    const batch = await deal(fx.handover, 1, (c, i) =>
      i === 1 ? { contentId: c.contentId, status: 'absent' } : honest(c, 1),
    );
    expect(batch.dealing.items.map((i) => i.status)).toEqual(['ok', 'absent', 'ok']);
    expect(batch.sources).toHaveLength(2);
  });
});
