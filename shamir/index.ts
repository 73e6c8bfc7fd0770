// shamir/: t-of-n Shamir secret sharing over GF(2^8), with a robust combine that returns only a
// reconstruction the caller's verify callback accepted. Pure: no I/O, no dependencies beyond
// crypto.getRandomValues. The field arithmetic (gf256.ts) stays internal.

export { assertOptionsBag, type AssertionFailure } from './assert.ts';
export { combine, DEFAULT_MAX_CANDIDATES } from './combine.ts';
export type { CombineOptions, CombineResult } from './combine.ts';
export { ShamirError, ShamirErrorCode } from './errors.ts';
export { fromSecretSharingFormat, toSecretSharingFormat } from './interop.ts';
export { MAX_SECRET_BYTES, MAX_SHARES } from './share.ts';
export type { Share } from './share.ts';
export { split } from './split.ts';
export type { SplitOptions } from './split.ts';
export {
  combinePedersen,
  combineSubShares,
  commitmentAt,
  dealPedersen,
  MAX_PEDERSEN_NODES,
  pedersenH,
  PEDERSEN_POINT_BYTES,
  randomScalar,
  redeal,
  redistributedCommitments,
  PEDERSEN_SCALAR_BYTES,
  verifyShare,
  verifyShareAt,
  verifySubShare,
} from './pedersen/index.ts';
export type {
  Dealing,
  DealingCommitments,
  DealOptions,
  PedersenShare,
  PedersenSharing,
  SubShareContribution,
} from './pedersen/index.ts';
