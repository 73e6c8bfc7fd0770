// Verifiable secret redistribution (Desmedt–Jajodia 1997; Wong–Wang–Wing 2002, with Pedersen
// commitments): moves a sharing (C, t) on old nodes to new nodes xs' with threshold t' without
// anyone reconstructing the secret.
//
// Old node i with verified share (x_i, s_i, r_i) deals it afresh: polynomials f_i, g_i of degree
// t' − 1 with f_i(0) = s_i, g_i(0) = r_i; commitments D_i; sub-share (f_i(x'), g_i(x')) for each
// new x'. New node x' accepts dealer i's sub-share iff D_{i,0} == commitmentAt(C, x_i) and
// f_i(x')·G + g_i(x')·H == commitmentAt(D_i, x'). Over a set B of exactly t verified dealers with
// Lagrange coefficients λ_i at 0: new share (x', Σ λ_i f_i(x'), Σ λ_i g_i(x')), new commitments
// C'_k = Σ λ_i D_{i,k}, and C'_0 == C_0 because Σ λ_i (s_i·G + r_i·H) = s·G + r·H.
// Every node must use the same B for its share and for C'.

import { ownProperty } from '../assert.ts';
import { ShamirError } from '../errors.ts';
import { assertX } from '../share.ts';
import { decodeScalar, encodeScalar, Fn, IDENTITY, type Point } from './group.ts';
import { commitmentAtPoint, lagrangeAtZero } from './polynomial.ts';
import {
  assertDistinct,
  assertList,
  assertRecord,
  assertThreshold,
  assertXs,
  decodeCommitments,
  decodeShare,
  MAX_PEDERSEN_NODES,
  type PedersenShare,
} from './share.ts';
import { assertThresholdFor, sharePolynomials, verifiesAt } from './vss.ts';

/** What a dealer publishes to every new node: its old x and D_0..D_{t'-1}. */
export interface DealingCommitments {
  readonly dealer: number;
  readonly commitments: readonly Uint8Array[];
}

/** One old node's redistribution: its commitments and one sub-share per new node (secret). */
export interface Dealing extends DealingCommitments {
  readonly commitments: Uint8Array[];
  /** (x', f_i(x'), g_i(x')) for each new x', in the order of newXs; each goes to its node only. */
  readonly subShares: PedersenShare[];
}

/** A sub-share a new node accepted from `dealer`. */
export interface SubShareContribution {
  readonly dealer: number;
  readonly s: Uint8Array;
  readonly r: Uint8Array;
}

/**
 * Deals an old node's share to the new nodes `newXs` with threshold `newThreshold`. Checks first
 * that the share verifies against `oldCommitments` (SHARE_NOT_VERIFIED otherwise): a node must
 * not spread a share it cannot stand behind.
 */
export function redeal(
  share: PedersenShare,
  oldCommitments: readonly Uint8Array[],
  newThreshold: number,
  newXs: readonly number[],
): Dealing {
  const old = decodeCommitments(oldCommitments, 'redeal: oldCommitments');
  const own = decodeShare(share, 'redeal: share');
  const xs = assertXs(newXs, 'redeal: newXs', 1);
  const t = assertThresholdFor(newThreshold, 'redeal: newThreshold', xs.length);
  if (!verifiesAt(commitmentAtPoint(old, own.x), own)) {
    throw new ShamirError(
      'SHARE_NOT_VERIFIED',
      `redeal: share x = ${own.x} does not verify against oldCommitments`,
    );
  }
  const { shares, commitments } = sharePolynomials(own.s, own.r, t, xs);
  return { dealer: own.x, commitments: commitments.map((c) => c.toBytes()), subShares: shares };
}

function decodeDealing(
  value: unknown,
  name: string,
  newThreshold: number,
): { dealer: number; commitments: Point[] } {
  const record = assertRecord(value, name, '{ dealer, commitments }', 'INVALID_DEALING');
  return {
    dealer: assertX(ownProperty(record, 'dealer'), `${name}.dealer`),
    commitments: decodeCommitments(
      ownProperty(record, 'commitments'),
      `${name}.commitments`,
      newThreshold,
    ),
  };
}

/**
 * Whether new node subShare.x accepts `subShare` from `dealing`: the dealing has exactly
 * newThreshold commitments (ShamirError otherwise), D_0 commits to the dealer's old share, and the
 * sub-share lies on D. false names dealing.dealer as a cheater (or the channel as corrupt).
 */
export function verifySubShare(
  oldCommitments: readonly Uint8Array[],
  newThreshold: number,
  dealing: DealingCommitments,
  subShare: PedersenShare,
): boolean {
  const old = decodeCommitments(oldCommitments, 'verifySubShare: oldCommitments');
  const t = assertThreshold(newThreshold, 'verifySubShare: newThreshold');
  const { dealer, commitments } = decodeDealing(dealing, 'verifySubShare: dealing', t);
  const value = decodeShare(subShare, 'verifySubShare: subShare');
  const d0 = commitments[0];
  if (d0 === undefined || !d0.equals(commitmentAtPoint(old, dealer))) return false;
  return verifiesAt(commitmentAtPoint(commitments, value.x), value);
}

/** Dealers' xs of a dealer set: exactly oldThreshold, distinct. */
function assertDealerSet(dealers: readonly number[], name: string, oldThreshold: number): void {
  if (dealers.length !== oldThreshold) {
    throw new ShamirError(
      'INVALID_DEALER_SET',
      `${name}: expected exactly ${oldThreshold} dealers (the old threshold), got ${dealers.length}`,
    );
  }
  assertDistinct(dealers, name);
}

/**
 * New node newX's share from the verified sub-shares of a dealer set B of exactly oldThreshold
 * distinct dealers: (newX, Σ λ_i s_i, Σ λ_i r_i). It verifies against redistributedCommitments
 * over the same B; check it with verifyShare before storing it.
 */
export function combineSubShares(
  newX: number,
  contributions: readonly SubShareContribution[],
  oldThreshold: number,
): PedersenShare {
  const x = assertX(newX, 'combineSubShares: newX');
  const t = assertThreshold(oldThreshold, 'combineSubShares: oldThreshold');
  const list = assertList(contributions, 'combineSubShares: contributions', MAX_PEDERSEN_NODES);
  const values = list.map((c, i) => {
    const name = `combineSubShares: contributions[${i}]`;
    const record = assertRecord(c, name, '{ dealer, s, r }', 'INVALID_SHARE');
    return {
      dealer: assertX(ownProperty(record, 'dealer'), `${name}.dealer`),
      s: decodeScalar(ownProperty(record, 's'), `${name}.s`),
      r: decodeScalar(ownProperty(record, 'r'), `${name}.r`),
    };
  });
  const dealers = values.map((v) => v.dealer);
  assertDealerSet(dealers, 'combineSubShares: contributions', t);
  const weights = lagrangeAtZero(dealers);
  let s = 0n;
  let r = 0n;
  values.forEach((v, i) => {
    const w = weights[i] ?? 0n;
    s = Fn.add(s, Fn.mul(w, v.s));
    r = Fn.add(r, Fn.mul(w, v.r));
  });
  return { x, s: encodeScalar(s), r: encodeScalar(r) };
}

/**
 * The new commitments C'_k = Σ λ_i D_{i,k} over a dealer set B of exactly oldCommitments.length
 * distinct dealers, each with newThreshold commitments. Refuses (COMMITMENT_MISMATCH) a dealer
 * whose D_0 is not commitmentAt(oldCommitments, dealer), naming it, and a result with C'_0 ≠ C_0.
 */
export function redistributedCommitments(
  oldCommitments: readonly Uint8Array[],
  dealings: readonly DealingCommitments[],
  newThreshold: number,
): Uint8Array[] {
  const old = decodeCommitments(oldCommitments, 'redistributedCommitments: oldCommitments');
  const t = assertThreshold(newThreshold, 'redistributedCommitments: newThreshold');
  const list = assertList(dealings, 'redistributedCommitments: dealings', MAX_PEDERSEN_NODES);
  const decoded = list.map((d, i) =>
    decodeDealing(d, `redistributedCommitments: dealings[${i}]`, t),
  );
  const dealers = decoded.map((d) => d.dealer);
  assertDealerSet(dealers, 'redistributedCommitments: dealings', old.length);
  for (const { dealer, commitments } of decoded) {
    if (!(commitments[0]?.equals(commitmentAtPoint(old, dealer)) ?? false)) {
      throw new ShamirError(
        'COMMITMENT_MISMATCH',
        `redistributedCommitments: dealer x = ${dealer}: D_0 does not commit to its old share`,
      );
    }
  }
  const weights = lagrangeAtZero(dealers);
  const next = Array.from({ length: t }, (_, k) =>
    decoded.reduce(
      (acc, d, i) => acc.add((d.commitments[k] ?? IDENTITY).multiplyUnsafe(weights[i] ?? 0n)),
      IDENTITY,
    ),
  );
  const c0 = old[0];
  if (c0 === undefined || !(next[0]?.equals(c0) ?? false)) {
    throw new ShamirError('COMMITMENT_MISMATCH', "redistributedCommitments: C'_0 differs from C_0");
  }
  if (next.some((c) => c.is0())) {
    throw new ShamirError('INVALID_POINT', "redistributedCommitments: a C'_k is the identity");
  }
  return next.map((c) => c.toBytes());
}
