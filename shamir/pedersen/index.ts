// shamir/pedersen/: Pedersen verifiable secret sharing of ristretto255 scalars, and verifiable
// redistribution of such a sharing to a new node set and threshold without reconstructing it.
//
// Definitions. Scalars: integers mod ℓ (the ristretto255 group order), 32 bytes little-endian,
// canonical (< ℓ; a non-canonical encoding is refused). Points: 32-byte ristretto255 encodings (an
// invalid one is refused, and the identity wherever a commitment is expected). G: the standard
// base point. H: ristretto255 element derivation (RFC 9496 §4.3.4) of SHA-512("qkms/v2/pedersen-h"),
// computed once, lazily; nobody knows log_G(H).
// Sharing: f(0) = s, g(0) = r, degree t − 1; node x gets (x, f(x), g(x)); C_k = a_k·G + b_k·H.
// commitmentAt(C, x) = Σ C_k·x^k; a share verifies iff f(x)·G + g(x)·H == commitmentAt(C, x).
// Redistribution: see redistribute.ts. A 32-byte content key is generally not a canonical scalar
// (ℓ ≈ 2^252): share a scalar (randomScalar) and derive the key from it, or encode the key first.
// Bigint intermediates cannot be wiped in JavaScript; random byte buffers are.

export { pedersenH, PEDERSEN_POINT_BYTES, PEDERSEN_SCALAR_BYTES, randomScalar } from './group.ts';
export {
  combineSubShares,
  redeal,
  redistributedCommitments,
  verifySubShare,
} from './redistribute.ts';
export type { Dealing, DealingCommitments, SubShareContribution } from './redistribute.ts';
export { MAX_PEDERSEN_NODES } from './share.ts';
export type { PedersenShare } from './share.ts';
export { combinePedersen, commitmentAt, dealPedersen, verifyShare, verifyShareAt } from './vss.ts';
export type { DealOptions, PedersenSharing } from './vss.ts';
