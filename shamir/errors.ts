// The one error class of shamir/, with a closed set of codes callers match on. Messages state
// what was expected and the type, length or count that was given: never share or secret bytes.

export const ShamirErrorCode = {
  /** An options bag is not a plain object, has an unknown key, or a hook of the wrong type. */
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  /** The secret is not a Uint8Array, is empty, or is longer than MAX_SECRET_BYTES. */
  INVALID_SECRET: 'INVALID_SECRET',
  /** The threshold is not an integer in 2..255 (1..255 in pedersen/), or exceeds the share count. */
  INVALID_THRESHOLD: 'INVALID_THRESHOLD',
  /** The share count is not an integer in threshold..255, or combine got more than 255 shares. */
  INVALID_SHARE_COUNT: 'INVALID_SHARE_COUNT',
  /** The injected random source returned something other than the bytes it was asked for. */
  INVALID_RANDOM_OUTPUT: 'INVALID_RANDOM_OUTPUT',
  /** A share is not a plain { x, y } record, or its y is not 1..MAX_SECRET_BYTES bytes. */
  INVALID_SHARE: 'INVALID_SHARE',
  /** A share's x is not an integer in 1..255 (x = 0 would be the secret itself). */
  INVALID_X: 'INVALID_X',
  /** Two shares have the same x. */
  DUPLICATE_X: 'DUPLICATE_X',
  /** Shares have y of different lengths. */
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',
  /** Fewer shares than the threshold. */
  NOT_ENOUGH_SHARES: 'NOT_ENOUGH_SHARES',
  /** No subset of threshold shares reconstructs a secret that the verify callback accepts. */
  NO_VERIFIED_SUBSET: 'NO_VERIFIED_SUBSET',
  /** The subset search reached maxCandidates before any subset verified. */
  TOO_MANY_CANDIDATES: 'TOO_MANY_CANDIDATES',
  /** Bytes in the shamir-secret-sharing format are not a Uint8Array of at least 2 bytes. */
  INVALID_SHARE_ENCODING: 'INVALID_SHARE_ENCODING',
  /** pedersen/: not a 32-byte canonical scalar (little-endian, below the ristretto255 order). */
  INVALID_SCALAR: 'INVALID_SCALAR',
  /** pedersen/: not a valid ristretto255 encoding, or the identity where a commitment is due. */
  INVALID_POINT: 'INVALID_POINT',
  /** pedersen/: a commitment vector is not an array of 1..255 points, or not t' of them. */
  INVALID_COMMITMENTS: 'INVALID_COMMITMENTS',
  /** pedersen/: a dealing is not a plain { dealer, commitments } record. */
  INVALID_DEALING: 'INVALID_DEALING',
  /** pedersen/: a redistribution's dealer set does not have exactly the old threshold's size. */
  INVALID_DEALER_SET: 'INVALID_DEALER_SET',
  /** pedersen/: redeal's own share does not verify against the old commitments. */
  SHARE_NOT_VERIFIED: 'SHARE_NOT_VERIFIED',
  /** pedersen/: a value does not match its commitment (a reconstruction, D_0, or C'_0 vs C_0). */
  COMMITMENT_MISMATCH: 'COMMITMENT_MISMATCH',
} as const;

export type ShamirErrorCode = (typeof ShamirErrorCode)[keyof typeof ShamirErrorCode];

export class ShamirError extends Error {
  readonly code: ShamirErrorCode;

  constructor(code: ShamirErrorCode, message: string) {
    super(message);
    this.name = 'ShamirError';
    this.code = code;
  }
}
