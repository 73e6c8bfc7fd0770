// The client's own error: a recover that could not produce a verified CEK.
// It is a QkmsError (callers match on `code`, from protocol's closed set) and
// adds why it failed (`reason`) and what happened at each node (`report`).
import { QkmsError, type ErrorCode } from '../protocol/index.ts';
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
