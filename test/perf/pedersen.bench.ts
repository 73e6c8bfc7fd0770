// Pedersen VSS over ristretto255 (shamir/pedersen/, on @noble/curves) for one 32-byte key scalar,
// and its verifiable redistribution from 3-of-5 to 4-of-6. `redistribute` is the CPU of one
// content's whole move summed over all nodes: the 5 old nodes each redeal; each of the 6 new nodes
// checks all 5 dealings' sub-shares to it, combines 3, derives C' and verifies its new share.
import {
  combineSubShares,
  commitmentAt,
  dealPedersen,
  randomScalar,
  redeal,
  redistributedCommitments,
  verifyShare,
  verifyShareAt,
  verifySubShare,
  type Dealing,
  type PedersenShare,
} from '../../shamir/index.ts';
import { check, syncOp, type Bench } from './harness.ts';

const OLD_THRESHOLD = 3;
const OLD_XS = [1, 2, 3, 4, 5];
const NEW_THRESHOLD = 4;
const NEW_XS = [1, 2, 3, 4, 5, 6];
const IMPL = 'qkms';

const secret = randomScalar();

function sharing(): { shares: PedersenShare[]; commitments: Uint8Array[] } {
  return dealPedersen(secret, OLD_THRESHOLD, OLD_XS);
}

function first<T>(items: readonly T[]): T {
  const item = items[0];
  if (item === undefined) throw new Error('pedersen bench: empty list');
  return item;
}

function subShare(d: Dealing, j: number): PedersenShare {
  const s = d.subShares[j];
  if (s === undefined) throw new Error(`pedersen bench: no sub-share ${j}`);
  return s;
}

/** Every node's work to move one content's sharing from 3-of-5 to 4-of-6; returns C'_1's first byte. */
function redistributeOnce(shares: readonly PedersenShare[], commitments: Uint8Array[]): number {
  const dealings = shares.map((s) => redeal(s, commitments, NEW_THRESHOLD, NEW_XS));
  let sink = 0;
  NEW_XS.forEach((x, j) => {
    const accepted = dealings.filter((d) =>
      verifySubShare(commitments, NEW_THRESHOLD, d, subShare(d, j)),
    );
    const b = accepted.slice(0, OLD_THRESHOLD);
    const next = redistributedCommitments(commitments, b, NEW_THRESHOLD);
    const share = combineSubShares(
      x,
      b.map((d) => ({ dealer: d.dealer, s: subShare(d, j).s, r: subShare(d, j).r })),
      OLD_THRESHOLD,
    );
    if (!verifyShare(next, share)) throw new Error('pedersen bench: new share did not verify');
    sink ^= next[1]?.[0] ?? 0;
  });
  return sink;
}

export const pedersenBenches: readonly Bench[] = [
  {
    name: 'pedersen.deal_3of5',
    impl: IMPL,
    setup: () => syncOp(() => first(sharing().commitments)),
  },
  {
    name: 'pedersen.verify_share_3of5',
    impl: IMPL,
    setup: () => {
      const { shares, commitments } = sharing();
      const share = first(shares);
      check(verifyShare(commitments, share), 'a dealt share verifies');
      return syncOp(() => verifyShare(commitments, share));
    },
  },
  {
    name: 'pedersen.verify_share_at_cached_3of5',
    impl: IMPL,
    setup: () => {
      const { shares, commitments } = sharing();
      const share = first(shares);
      const point = commitmentAt(commitments, share.x);
      check(verifyShareAt(point, share), 'a dealt share verifies at its cached point');
      return syncOp(() => verifyShareAt(point, share));
    },
  },
  {
    name: 'pedersen.redeal_3of5_to_4of6',
    impl: IMPL,
    setup: () => {
      const { shares, commitments } = sharing();
      const share = first(shares);
      return syncOp(() => first(redeal(share, commitments, NEW_THRESHOLD, NEW_XS).commitments));
    },
  },
  {
    name: 'pedersen.verify_sub_share_3of5_to_4of6',
    impl: IMPL,
    setup: () => {
      const { shares, commitments } = sharing();
      const d = redeal(first(shares), commitments, NEW_THRESHOLD, NEW_XS);
      const sub = subShare(d, 0);
      return syncOp(() => verifySubShare(commitments, NEW_THRESHOLD, d, sub));
    },
  },
  {
    name: 'pedersen.combine_sub_shares_3of5_to_4of6',
    impl: IMPL,
    setup: () => {
      const { shares, commitments } = sharing();
      const contributions = shares
        .slice(0, OLD_THRESHOLD)
        .map((s) => redeal(s, commitments, NEW_THRESHOLD, NEW_XS))
        .map((d) => ({ dealer: d.dealer, s: subShare(d, 0).s, r: subShare(d, 0).r }));
      return syncOp(() => combineSubShares(1, contributions, OLD_THRESHOLD).s);
    },
  },
  {
    name: 'pedersen.redistribute_3of5_to_4of6_all_nodes',
    impl: IMPL,
    setup: () => {
      const { shares, commitments } = sharing();
      return syncOp(() => redistributeOnce(shares, commitments));
    },
  },
];
