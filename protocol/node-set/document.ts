// The `document` object of a node-set file (docs/protocol.md §5): the strict
// reader that validates it (structure, types, ranges, uniqueness; no
// signatures), its normalized JSON form, and createNodeSetDocument, which
// builds one from plain values. The epoch rule lives here: epoch 1 has no
// `predecessor`, every later epoch names one.
//
// JSON.parse keeps the last of duplicate object keys; what is hashed and
// signed is the parsed value, so a file with duplicate keys reads differently
// to a human than to qkms. Tools that show a node set to a person should show
// the normalized form serializeSignedNodeSet (json.ts) writes.
import { toHex } from '../bytes.ts';
import { readArray, readLiteral, readMap, type CborMap } from '../codec/read.ts';
import { ID_BYTES, MAX_NODES } from '../constants.ts';
import { HYBRID_LENGTHS } from '../suite/hybrid.ts';
import { ED25519_LENGTHS, XWING_LENGTHS } from '../suite/types.ts';
import {
  asNodeSetError,
  freezeAll,
  invalid,
  readHex,
  readInt,
  readMultiaddr,
  readPeerId,
  readSiweDomain,
} from './fields.ts';
import {
  MAX_ADMINS,
  MAX_MULTIADDRS_PER_NODE,
  NODE_SET_FORMAT_VERSION,
  NODE_SET_PARAM_BOUNDS,
  type NodeEntry,
  type NodeSetAdmins,
  type NodeSetDocumentInput,
  type NodeSetDocumentJson,
  type NodeSetParams,
} from './types.ts';

const DOCUMENT_KEYS = ['qkmsNodeSet', 'epoch', 'threshold', 'nodes', 'admins', 'params'] as const;
const INPUT_KEYS = ['epoch', 'threshold', 'nodes', 'admins', 'params'] as const;
/** Optional in the key set; the epoch rule (readPredecessor) decides whether it must be there. */
const OPTIONAL_KEYS = ['predecessor'] as const;
const NODE_KEYS = ['index', 'peerId', 'multiaddrs', 'kemPublicKey'] as const;
const ADMINS_KEYS = ['threshold', 'keys'] as const;
const PARAMS_KEYS = [
  'maxGrantAgeMs',
  'maxClockSkewMs',
  'maxDelegationLifetimeMs',
  'siweDomain',
  'chainId',
] as const;

/** The validated fields of a `document` object, before its id is computed. */
export interface ParsedDocument {
  readonly epoch: number;
  readonly predecessor?: Uint8Array;
  readonly threshold: number;
  readonly nodes: readonly NodeEntry[];
  readonly admins: NodeSetAdmins;
  readonly params: NodeSetParams;
}

function readNodes(value: unknown): readonly NodeEntry[] {
  const items = readArray(value, 'document.nodes', MAX_NODES, 2);
  const n = items.length;
  const byIndex: (NodeEntry | undefined)[] = new Array<NodeEntry | undefined>(n).fill(undefined);
  const positionOfIndex = new Map<number, number>();
  const positionOfPeer = new Map<string, number>();
  const positionOfKem = new Map<string, number>();
  items.forEach((item, position) => {
    const field = `document.nodes[${position}]`;
    const map = readMap(item, field, NODE_KEYS);
    const index = readInt(map.index, `${field}.index`, 1, n);
    const sameIndex = positionOfIndex.get(index);
    if (sameIndex !== undefined) {
      throw invalid(`${field}.index`, `an index no other node has (nodes[${sameIndex}] has it)`);
    }
    positionOfIndex.set(index, position);

    const { peerId, publicKey } = readPeerId(map.peerId, `${field}.peerId`);
    const samePeer = positionOfPeer.get(peerId);
    if (samePeer !== undefined) {
      throw invalid(`${field}.peerId`, `a PeerId no other node has (nodes[${samePeer}] has it)`);
    }
    positionOfPeer.set(peerId, position);

    const addrs = readArray(map.multiaddrs, `${field}.multiaddrs`, MAX_MULTIADDRS_PER_NODE, 1);
    const multiaddrs = addrs.map((a, j) => readMultiaddr(a, `${field}.multiaddrs[${j}]`));
    multiaddrs.forEach((a, j) => {
      if (multiaddrs.indexOf(a) !== j) {
        throw invalid(`${field}.multiaddrs[${j}]`, 'a multiaddr not listed before for this node');
      }
    });

    const kemPublicKey = readHex(
      map.kemPublicKey,
      `${field}.kemPublicKey`,
      XWING_LENGTHS.publicKey,
    );
    const kemHex = map.kemPublicKey as string;
    const sameKem = positionOfKem.get(kemHex);
    if (sameKem !== undefined) {
      throw invalid(`${field}.kemPublicKey`, `a key no other node has (nodes[${sameKem}] has it)`);
    }
    positionOfKem.set(kemHex, position);

    byIndex[index - 1] = Object.freeze({
      index,
      peerId,
      nodePublicKey: publicKey,
      multiaddrs: freezeAll(multiaddrs),
      kemPublicKey,
    });
  });
  // n entries with distinct indexes in 1..n: every slot is filled.
  return freezeAll(byIndex.filter((e): e is NodeEntry => e !== undefined));
}

function readAdmins(value: unknown): NodeSetAdmins {
  const map = readMap(value, 'document.admins', ADMINS_KEYS);
  const items = readArray(map.keys, 'document.admins.keys', MAX_ADMINS, 1);
  const keys: Uint8Array[] = [];
  // Two admins sharing either half of a hybrid key are not independent admins.
  const halves = new Map<string, number>();
  items.forEach((item, position) => {
    const field = `document.admins.keys[${position}]`;
    const key = readHex(item, field, HYBRID_LENGTHS.publicKey);
    const hex = item as string;
    const edHalf = `ed25519:${hex.slice(0, 2 * ED25519_LENGTHS.publicKey)}`;
    const mlHalf = `mldsa65:${hex.slice(2 * ED25519_LENGTHS.publicKey)}`;
    for (const half of [edHalf, mlHalf]) {
      const same = halves.get(half);
      if (same !== undefined) {
        throw invalid(field, `a key sharing no half with another admin's (keys[${same}])`);
      }
      halves.set(half, position);
    }
    keys.push(key);
  });
  const threshold = readInt(map.threshold, 'document.admins.threshold', 1, keys.length);
  return Object.freeze({ threshold, keys: freezeAll(keys) });
}

function readParams(value: unknown): NodeSetParams {
  const map = readMap(value, 'document.params', PARAMS_KEYS);
  const bounded = (key: keyof typeof NODE_SET_PARAM_BOUNDS): number => {
    const { min, max } = NODE_SET_PARAM_BOUNDS[key];
    return readInt(map[key], `document.params.${key}`, min, max);
  };
  return Object.freeze({
    maxGrantAgeMs: bounded('maxGrantAgeMs'),
    maxClockSkewMs: bounded('maxClockSkewMs'),
    maxDelegationLifetimeMs: bounded('maxDelegationLifetimeMs'),
    siweDomain: readSiweDomain(map.siweDomain, 'document.params.siweDomain'),
    chainId: bounded('chainId'),
  });
}

/** The epoch rule: epoch 1 MUST NOT name a predecessor; every later epoch MUST. */
function readPredecessor(map: CborMap, epoch: number): Uint8Array | undefined {
  const field = 'document.predecessor';
  const present = Object.hasOwn(map, 'predecessor');
  if (epoch === 1) {
    if (present) throw invalid(field, 'no predecessor at epoch 1 (the first set of a quorum)');
    return undefined;
  }
  if (!present)
    throw invalid(field, `the nodeSetId of the epoch ${epoch - 1} set, at epoch ${epoch}`);
  return readHex(map.predecessor, field, ID_BYTES);
}

function isRecord(value: unknown): value is CborMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the `document` object: structure, types, ranges, uniqueness. No signatures. */
export function readDocument(json: unknown): ParsedDocument {
  return asNodeSetError(() => {
    // The version first, so a newer document is named as such rather than by its new keys.
    if (isRecord(json) && Object.hasOwn(json, 'qkmsNodeSet')) {
      readLiteral(json.qkmsNodeSet, 'document.qkmsNodeSet', [NODE_SET_FORMAT_VERSION]);
    }
    const map = readMap(json, 'document', DOCUMENT_KEYS, OPTIONAL_KEYS);
    const epoch = readInt(map.epoch, 'document.epoch', 1, Number.MAX_SAFE_INTEGER);
    const predecessor = readPredecessor(map, epoch);
    const nodes = readNodes(map.nodes);
    const threshold = readInt(map.threshold, 'document.threshold', 2, nodes.length);
    const admins = readAdmins(map.admins);
    const params = readParams(map.params);
    return {
      epoch,
      ...(predecessor === undefined ? {} : { predecessor }),
      threshold,
      nodes,
      admins,
      params,
    };
  });
}

/** The `document` object of the file: nodes by index, keys as lower-case hex. */
export function toDocumentJson(doc: ParsedDocument): NodeSetDocumentJson {
  return {
    qkmsNodeSet: NODE_SET_FORMAT_VERSION,
    epoch: doc.epoch,
    ...(doc.predecessor === undefined ? {} : { predecessor: toHex(doc.predecessor) }),
    threshold: doc.threshold,
    nodes: doc.nodes.map((node) => ({
      index: node.index,
      peerId: node.peerId,
      multiaddrs: [...node.multiaddrs],
      kemPublicKey: toHex(node.kemPublicKey),
    })),
    admins: { threshold: doc.admins.threshold, keys: doc.admins.keys.map((k) => toHex(k)) },
    params: {
      maxGrantAgeMs: doc.params.maxGrantAgeMs,
      maxClockSkewMs: doc.params.maxClockSkewMs,
      maxDelegationLifetimeMs: doc.params.maxDelegationLifetimeMs,
      siweDomain: doc.params.siweDomain,
      chainId: doc.params.chainId,
    },
  };
}

/**
 * Builds the `document` object of a node-set file from plain values, nodes
 * listed by index. Validates it as parseNodeSetDocument would; paths in error
 * messages name the document being built (`document.nodes[i]` is input.nodes[i]).
 */
export function createNodeSetDocument(input: NodeSetDocumentInput): NodeSetDocumentJson {
  const hexOf = (value: unknown, field: string): string => {
    if (!(value instanceof Uint8Array)) throw invalid(field, 'a Uint8Array');
    return toHex(value);
  };
  const raw = asNodeSetError(() => {
    const map = readMap(input, 'document', INPUT_KEYS, OPTIONAL_KEYS);
    const nodes = readArray(map.nodes, 'document.nodes', MAX_NODES).map((item, position) => {
      const field = `document.nodes[${position}]`;
      const node = readMap(item, field, NODE_KEYS);
      return { ...node, kemPublicKey: hexOf(node.kemPublicKey, `${field}.kemPublicKey`) };
    });
    const admins = readMap(map.admins, 'document.admins', ADMINS_KEYS);
    const keys = readArray(admins.keys, 'document.admins.keys', MAX_ADMINS).map((key, position) =>
      hexOf(key, `document.admins.keys[${position}]`),
    );
    return {
      qkmsNodeSet: NODE_SET_FORMAT_VERSION,
      epoch: map.epoch,
      ...(Object.hasOwn(map, 'predecessor')
        ? { predecessor: hexOf(map.predecessor, 'document.predecessor') }
        : {}),
      threshold: map.threshold,
      nodes,
      admins: { threshold: admins.threshold, keys },
      params: map.params,
    };
  });
  return toDocumentJson(readDocument(raw));
}
