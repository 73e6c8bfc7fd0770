// The client's own error: a recover that could not produce a verified CEK.
// It is a QkmsError (callers match on `code`, from protocol's closed set) and
// adds why it failed (`reason`) and what happened at each node (`report`).
import { ErrorCode, QkmsError } from '../protocol/index.ts';
import type { NodeReport } from './report.ts';

/**
 * - `not-enough-shares`: fewer than t nodes gave a share that verified
 *   (down, slow, lying, or refusing for a reason other than revocation);
 * - `revoked`: a node answered REVOKED and too few others served;
 * - `aborted`: the caller's signal or the call's deadline ended it first.
 */
export type RecoverFailure = 'not-enough-shares' | 'revoked' | 'aborted';

export class RecoverError extends QkmsError {
  readonly reason: RecoverFailure;
  /** One entry per node of the node set, by index. */
  readonly report: readonly NodeReport[];

  constructor(
    code: ErrorCode,
    reason: RecoverFailure,
    message: string,
    report: readonly NodeReport[],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'RecoverError';
    this.reason = reason;
    this.report = Object.freeze([...report]);
  }
}

/**
 * A recover refused because the wallet, session, delegation or content is
 * revoked (a node answered REVOKED and too few others served). Final: a
 * retry with the same principals meets the same revocation; the caller
 * should stop, not retry. `instanceof RecoverError` holds too.
 */
export class RevokedError extends RecoverError {
  constructor(message: string, report: readonly NodeReport[], options?: { cause?: unknown }) {
    super(ErrorCode.REVOKED, 'revoked', message, report, options);
    this.name = 'RevokedError';
  }
}
