// Which node set a node serves (decision 0017). Without a cutover, the one in
// its node-set file. After one, the last of the lineage its store keeps
// (node/store MetaName.lineage), whatever file it was started with — as long
// as that file is one of the lineage, so an operator cannot point a node that
// moved on back at a set whose shares it no longer holds.
import { readFileSync } from 'node:fs';
import {
  ErrorCode,
  QkmsError,
  parseSignedNodeSetJson,
  toHex,
  verifyNodeSetChain,
  type CryptoSuite,
  type NodeSet,
} from '../protocol/internal.ts';
import type { StoredLineage } from './store/index.ts';

/** What a node serves, and what it can show a client of how it got there. */
export interface ServedLineage {
  /** The set in force. */
  readonly nodeSet: NodeSet;
  /** The sets before it this node served, oldest first (empty without a cutover). */
  readonly ancestors: readonly NodeSet[];
  /** The signed files of ancestors and the set in force, oldest first. */
  readonly files: readonly Uint8Array[];
  /** This node is not in the set in force: it wipes its shares and does not serve. */
  readonly retired: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The node-set file's bytes; CONFIG_INVALID if it cannot be read. */
export function readNodeSetFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new QkmsError(ErrorCode.CONFIG_INVALID, `node set file ${path}: cannot read`, {
      cause: e,
    });
  }
}

/**
 * The set this node serves: `configured` (parsed from `configuredFile`) when
 * the store holds no lineage; otherwise the lineage's last set, each link
 * verified again. CONFIG_INVALID if the configured set is not in the lineage;
 * STORE_CORRUPT if the stored lineage does not verify.
 */
export function servedLineage(
  suite: CryptoSuite,
  configured: { readonly nodeSet: NodeSet; readonly file: Uint8Array; readonly path: string },
  stored: StoredLineage | undefined,
): ServedLineage {
  if (stored === undefined)
    return { nodeSet: configured.nodeSet, ancestors: [], files: [configured.file], retired: false };
  const sets: NodeSet[] = [];
  try {
    const [first, ...rest] = stored.files;
    if (first === undefined) throw new Error('empty lineage');
    sets.push(parseSignedNodeSetJson(suite, utf8.decode(first)));
    for (const file of rest) {
      const previous = sets[sets.length - 1] as NodeSet;
      sets.push(verifyNodeSetChain(suite, previous, [JSON.parse(utf8.decode(file)) as unknown]));
    }
  } catch (e) {
    throw new QkmsError(
      ErrorCode.STORE_CORRUPT,
      'node store: the stored node-set lineage does not verify',
      {
        cause: e,
      },
    );
  }
  const current = sets[sets.length - 1] as NodeSet;
  if (!sets.some((s) => suite.equalBytes(s.id, configured.nodeSet.id)))
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `node set ${configured.path}: not one this node has served; since its last cutover it ` +
        `serves epoch ${current.epoch} (${toHex(current.id).slice(0, 16)}…)`,
    );
  return {
    nodeSet: current,
    ancestors: sets.slice(0, -1),
    files: stored.files,
    retired: stored.retired,
  };
}

/** Thrown by startDaemon for a node retired at a cutover, once its shares are wiped. */
export class NodeRetiredError extends Error {
  readonly successor: Uint8Array;

  constructor(successor: Uint8Array) {
    super(
      `this node retired at the cutover to node set ${toHex(successor).slice(0, 16)}…; ` +
        'its shares are wiped and it no longer serves',
    );
    this.name = 'NodeRetiredError';
    this.successor = successor;
  }
}
