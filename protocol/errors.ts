// The one error base class of qkms. Callers match on `code`, a closed union;
// messages name expected vs received types and lengths, never content, and
// are never sent to a peer (peers get wire rejection codes, defined apart).

export const ErrorCode = {
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
} as const;
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
