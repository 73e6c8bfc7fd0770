// The chain of node sets (docs/protocol.md §5, "Epochs and the chain"): each
// set after the first names its predecessor's nodeSetId, takes the next epoch,
// and carries k of m signatures of the predecessor's admins besides its own
// admins' k of m. Whoever pins one set can so verify every later one, up to
// the current set, without trusting whoever hands the files over.
//
// verifyNodeSetChain walks the chain from a pinned set; nodeSetLineage gives
// the ids it walked, oldest first, so that what an ancestor set decided (a
// revocation record names its set's id) stays in force in its descendants.
import { abytes } from '../assert.ts';
import { toHex } from '../bytes.ts';
import { readArray } from '../codec/read.ts';
import { ID_BYTES } from '../constants.ts';
import { ErrorCode, QkmsError, isQkmsError } from '../errors.ts';
import type { CryptoSuite } from '../suite/types.ts';
import { asNodeSetError, freezeAll, invalid } from './fields.ts';
import { readSignedFile, verifySignedFile, type SignedFile } from './json.ts';
import { verifyAdminSignatures } from './signatures.ts';
import type { NodeSet } from './types.ts';

/**
 * Successors one chain walk verifies after the pinned set. A membership change
 * is an operator's deliberate act, a few a year; 64 is decades of them. It
 * bounds the work a file server can make a client do: each link verifies up to
 * 2 × 16 hybrid (ML-DSA-65) signatures and hashes a file of up to 4 Mi
 * characters. A client pinned further back re-pins from a trusted source.
 */
export const MAX_CHAIN_LENGTH = 64;

/** A successor's error, prefixed with its place in the input. */
function atSuccessor(position: number, e: unknown): unknown {
  if (!isQkmsError(e, ErrorCode.INVALID_NODE_SET)) return e;
  const path = e.message.startsWith('nodeSet')
    ? e.message.replace(/^nodeSet/, `successors[${position}]`)
    : `successors[${position}].${e.message}`;
  return new QkmsError(ErrorCode.INVALID_NODE_SET, path, { cause: e });
}

/**
 * Reads every successor (structure and id, no signature yet) and refuses
 * what no linear chain can be, before any signature is verified: a set that
 * appears twice or is the pinned one (a cycle), and two sets naming the same
 * predecessor (a fork).
 */
function readSuccessors(
  suite: CryptoSuite,
  pinned: NodeSet,
  successors: unknown,
): readonly SignedFile[] {
  const items = asNodeSetError(() => readArray(successors, 'successors', MAX_CHAIN_LENGTH));
  const files = items.map((json, position) => {
    try {
      return readSignedFile(suite, json);
    } catch (e) {
      throw atSuccessor(position, e);
    }
  });
  const positionOfId = new Map<string, number>([[toHex(pinned.id), -1]]);
  const positionOfPredecessor = new Map<string, number>();
  files.forEach(({ doc, id }, position) => {
    const field = `successors[${position}]`;
    const same = positionOfId.get(toHex(id));
    if (same !== undefined) {
      const which = same === -1 ? 'the pinned set' : `successors[${same}]`;
      throw invalid(field, `a set not already in the chain (it is ${which} again: a cycle)`);
    }
    positionOfId.set(toHex(id), position);
    // An epoch-1 file names none (the walk refuses it by its epoch); only named ones can fork.
    if (doc.predecessor === undefined) return;
    const named = toHex(doc.predecessor);
    const sibling = positionOfPredecessor.get(named);
    if (sibling !== undefined) {
      throw invalid(
        `${field}.document.predecessor`,
        `a predecessor no other set names (successors[${sibling}] names it too: a fork)`,
      );
    }
    positionOfPredecessor.set(named, position);
  });
  return files;
}

/** Verifies one link: `file` (at `position`) succeeds `previous`. Returns it as a NodeSet. */
function verifyLink(
  suite: CryptoSuite,
  previous: NodeSet,
  file: SignedFile,
  position: number,
): NodeSet {
  const field = `successors[${position}]`;
  const suffix = ` (the chain breaks after epoch ${previous.epoch})`;
  const { doc, id } = file;
  if (doc.epoch !== previous.epoch + 1) {
    throw invalid(
      `${field}.document.epoch`,
      `${previous.epoch + 1}, the epoch after ${previous.epoch}, got ${doc.epoch}${suffix}`,
    );
  }
  // epoch > 1 here, so readDocument required a predecessor.
  if (doc.predecessor === undefined || !suite.equalBytes(doc.predecessor, previous.id)) {
    throw invalid(
      `${field}.document.predecessor`,
      `the nodeSetId of the epoch ${previous.epoch} set before it${suffix}`,
    );
  }
  verifyAdminSignatures(suite, previous.admins, id, file.predecessorSignatures, {
    list: `${field}.predecessorSignatures`,
    whose: `epoch ${previous.epoch}'s `,
    suffix,
  });
  return verifySignedFile(suite, file, `${field}.signatures`, suffix);
}

function walk(suite: CryptoSuite, pinned: NodeSet, successors: unknown): readonly NodeSet[] {
  // pinned is the caller's trusted set; a wrong argument is a programming error, not a bad file.
  abytes((pinned as Partial<NodeSet> | undefined)?.id, 'pinned.id', ID_BYTES);
  const files = readSuccessors(suite, pinned, successors);
  const chain: NodeSet[] = [pinned];
  files.forEach((file, position) => {
    chain.push(verifyLink(suite, chain[chain.length - 1] ?? pinned, file, position));
  });
  return freezeAll(chain);
}

/**
 * Verifies the node sets that followed `pinned` and returns the current one
 * (the last; `pinned` itself when there are none). `successors` are signed
 * files (parsed JSON, SignedNodeSetJson), oldest first, starting right after
 * `pinned`; at most MAX_CHAIN_LENGTH. Each MUST name the previous set's id as
 * `predecessor`, take the previous epoch + 1, carry at least the previous
 * set's admins.threshold valid signatures of the previous set's admins, and
 * at least its own admins.threshold of its own (every signature present must
 * verify). A cycle or a fork in the input is refused too. Every failure is
 * QkmsError INVALID_NODE_SET naming `successors[i]` and the epoch after which
 * the chain breaks.
 */
export function verifyNodeSetChain(
  suite: CryptoSuite,
  pinned: NodeSet,
  successors: readonly unknown[],
): NodeSet {
  const chain = walk(suite, pinned, successors);
  return chain[chain.length - 1] ?? pinned;
}

/**
 * The ids of the verified chain from `pinned` to the current set, oldest
 * first (`pinned.id` first, the current set's last): verifyNodeSetChain's walk
 * and its refusals. A record bound to any of these ids was issued by an
 * ancestor of the current set, or by the current set itself.
 */
export function nodeSetLineage(
  suite: CryptoSuite,
  pinned: NodeSet,
  successors: readonly unknown[],
): readonly Uint8Array[] {
  return freezeAll(walk(suite, pinned, successors).map((set) => set.id));
}
