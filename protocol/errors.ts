// The one error base class of qkms. Callers match on `code`, a closed union:
// the wire rejection codes (protocol/rejection.ts), which verification
// failures carry so a node can answer with them directly, plus local codes
// that never cross the wire. Messages name expected vs received types and
// lengths, never content, and are never sent to a peer.
import { RejectionCode, isRejectionCode } from './rejection.ts';

export const LocalErrorCode = {
  /** A byte string had the wrong length for its role. */
  INVALID_LENGTH: 'INVALID_LENGTH',
  /** A value had the wrong type, range or shape. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** AEAD or HPKE authentication failed: wrong key, wrong context or tampered bytes. */
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  /** A KEM decapsulation or key agreement failed (e.g. a low-order X25519 point). */
  KEM_FAILED: 'KEM_FAILED',
  /** The runtime lacks a primitive this operation needs. */
  UNSUPPORTED: 'UNSUPPORTED',
  /** A node-set document is malformed, inconsistent or not signed by enough admins. */
  INVALID_NODE_SET: 'INVALID_NODE_SET',
  /** A content manifest is malformed, inconsistent or badly signed. */
  INVALID_MANIFEST: 'INVALID_MANIFEST',
  /** A sharing record (decision 0016) is malformed, names another set, or lacks t node signatures. */
  INVALID_SHARING_RECORD: 'INVALID_SHARING_RECORD',
  /** A stored value failed authentication or decoding: the disk changed under us. Reported, never used. */
  STORE_CORRUPT: 'STORE_CORRUPT',
  /** A node setting (flag, config file, QKMS_* variable) is invalid; the message names it. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A keystore file is missing, malformed or has unsafe permissions. */
  KEYSTORE_INVALID: 'KEYSTORE_INVALID',
  /** The keystore passphrase is wrong (or missing for an encrypted keystore). */
  WRONG_PASSPHRASE: 'WRONG_PASSPHRASE',
} as const;

export const ErrorCode = { ...RejectionCode, ...LocalErrorCode } as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class QkmsError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QkmsError';
    this.code = code;
  }
}

export function isQkmsError(e: unknown, code?: ErrorCode): e is QkmsError {
  return e instanceof QkmsError && (code === undefined || e.code === code);
}

/** The code a peer is answered with for `e`: its own rejection code, or INTERNAL for anything else. */
export function rejectionCodeOf(e: unknown): RejectionCode {
  return isQkmsError(e) && isRejectionCode(e.code) ? e.code : RejectionCode.INTERNAL;
}
