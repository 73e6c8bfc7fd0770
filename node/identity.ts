// Who this node is, before anything starts: the signed node set it serves
// (never one admins did not sign) and its own entry in it, which must name
// this keystore's PeerId and KEM key — a node started with another node's
// set, or a keystore the set does not list, refuses to start (CONFIG_INVALID).
import { readFileSync } from 'node:fs';
import {
  ErrorCode,
  QkmsError,
  parseSignedNodeSetJson,
  toHex,
  type CryptoSuite,
  type NodeEntry,
  type NodeSet,
} from '../protocol/internal.ts';
import type { KeystorePublicInfo } from './keystore.ts';

/** Reads and verifies the signed node-set file at `path` (CONFIG_INVALID when unreadable). */
export function loadNodeSet(suite: CryptoSuite, path: string): NodeSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new QkmsError(ErrorCode.CONFIG_INVALID, `node set file ${path}: cannot read`, {
      cause: e,
    });
  }
  return parseSignedNodeSetJson(suite, text);
}

/** This node's entry in `nodeSet`: the one with the keystore's PeerId, listing its KEM key. */
export function selfEntry(nodeSet: NodeSet, keys: KeystorePublicInfo, path: string): NodeEntry {
  const self = nodeSet.nodes.find((n) => n.peerId === keys.peerId);
  if (self === undefined)
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `node set ${path}: this node (${keys.peerId}) is not in it`,
    );
  if (toHex(self.kemPublicKey) !== keys.kemPublicKey)
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `node set ${path}: node ${self.index} lists another KEM key than this keystore's`,
    );
  return self;
}
