// The two node sets of a handover, as the admin's reshare and cutover
// commands read them: the quorum's signed set (--quorum) and its successor
// (--to), which must chain from it and be its next epoch.
import { verifyNodeSetChain, type CryptoSuite, type NodeSet } from '../../protocol/internal.ts';
import { loadSignedNodeSet, readJson } from '../files.ts';
import { configError, type CliIo } from '../io.ts';
import { resolveQuorumFile } from '../quorum-file.ts';

export interface HandoverFiles {
  readonly from: ReturnType<typeof loadSignedNodeSet>;
  readonly to: NodeSet;
  /** The successor's file as parsed JSON (what requests carry, re-serialized). */
  readonly toJson: unknown;
}

/** Reads both sets; a config error (exit 3) unless `toPath` is the quorum set's next epoch. */
export function loadHandover(
  io: CliIo,
  suite: CryptoSuite,
  quorumFlag: string | undefined,
  toPath: string,
): HandoverFiles {
  const quorum = resolveQuorumFile(io, quorumFlag);
  const from = loadSignedNodeSet(io, suite, quorum.path);
  const toJson = readJson(io, toPath, 'node-set file');
  let to: NodeSet;
  try {
    to = verifyNodeSetChain(suite, from.set, [toJson]);
  } catch (e) {
    throw configError(
      `${toPath}: not a successor of the quorum's node set: ${e instanceof Error ? e.message : ''}`,
      e,
    );
  }
  if (to.epoch !== from.set.epoch + 1)
    throw configError(`${toPath}: epoch ${to.epoch}, the quorum's set is epoch ${from.set.epoch}`);
  return { from, to, toJson };
}
