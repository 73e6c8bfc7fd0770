// The node-set document (DESIGN.md, "The node-set document"): the JSON file,
// signed by k of m admins, that defines one quorum epoch — threshold t, the n
// nodes (index 1..n, PeerId, multiaddrs, X-Wing KEM public key), the admin
// keys and their threshold, and the protocol parameters.
//
//   nodeset.json = { "document": { … }, "signatures": [ { "admin": i, "signature": hex } ] }
//
// Canonical form: the document as a CBOR value — keys exactly as in the JSON,
// nodes sorted by index, KEM and admin keys as byte strings, PeerIds and
// multiaddrs as text — in deterministic CBOR (codec/cbor.ts). Then
//   nodeSetId = SHA-256(DomainTag.NODE_SET_ID || canonical bytes)
// which JSON whitespace, key order and node order cannot change. Each admin
// signs DomainTag.NODE_SET_SIGNATURE || nodeSetId with its hybrid key
// (suite/hybrid.ts). A node set is valid only if every signature in the file
// verifies and at least admins.threshold distinct admins signed.
//
// Every problem is QkmsError INVALID_NODE_SET whose message names the field by
// its path in the file (`document.nodes[2].kemPublicKey: expected …`); node
// positions in paths are positions in the file's array, not node indexes.
//
// JSON.parse keeps the last of duplicate object keys; what is hashed and
// signed is the parsed value, so a file with duplicate keys reads differently
// to a human than to qkms. Tools that show a node set to a person should show
// the normalized form serializeSignedNodeSet writes.
import { abytes } from './assert.ts';
import { concatBytes, fromHex, toHex } from './bytes.ts';
import { encodeCanonical, type CborValue } from './codec/cbor.ts';
import { readArray, readLiteral, readMap, readUint, type CborMap } from './codec/read.ts';
import { MAX_NODES } from './constants.ts';
import { DomainTag, tagBytes, taggedHash } from './domain-tags.ts';
import { ErrorCode, QkmsError, isQkmsError } from './errors.ts';
import { ed25519PublicKeyFromPeerId } from './peer-id.ts';
import { HYBRID_LENGTHS } from './suite/hybrid.ts';
import { ED25519_LENGTHS, XWING_LENGTHS, type CryptoSuite } from './suite/types.ts';

/** Format version of the document (its `qkmsNodeSet` field). */
export const NODE_SET_FORMAT_VERSION = 1;
/** Admin keys a node set may list: admin quorums are small, and it bounds the signatures verified per file. */
export const MAX_ADMINS = 16;
/** Multiaddrs per node: a few transports over IPv4 and IPv6; more is a configuration mistake. */
export const MAX_MULTIADDRS_PER_NODE = 8;
/** Characters per multiaddr: DNS name, port, transport, relay and /p2p/ parts fit with room. */
export const MAX_MULTIADDR_CHARS = 256;
/** Characters of the SIWE domain: a DNS name is at most 253 (RFC 1035). */
export const MAX_SIWE_DOMAIN_CHARS = 253;
/**
 * Characters of a signed node-set file, checked before JSON.parse: 255 nodes of
 * about 4.6 KB (2,432 hex KEM key, 8 multiaddrs) plus 16 admin keys and 16
 * signatures come to about 1.5 MB pretty-printed; 4 Mi characters leaves room.
 */
export const MAX_NODE_SET_JSON_CHARS = 4 * 1024 * 1024;

/** Inclusive bounds of the numeric parameters, in milliseconds except chainId. */
export const NODE_SET_PARAM_BOUNDS = {
  /** 1 s .. 1 h: below a second honest clients fail on latency; above an hour a leaked request lives too long. */
  maxGrantAgeMs: { min: 1_000, max: 3_600_000 },
  /** 0 .. 5 min: NTP-synchronized hosts are within a second; minutes cover a bad clock, not a broken one. */
  maxClockSkewMs: { min: 0, max: 300_000 },
  /** 1 min .. 30 days: the longest a wallet's delegation to a session key may be valid. */
  maxDelegationLifetimeMs: { min: 60_000, max: 30 * 24 * 3_600_000 },
  /** EIP-155 chain ids are positive; kept to safe integers so JSON and CBOR agree. */
  chainId: { min: 1, max: Number.MAX_SAFE_INTEGER },
} as const;

/**
 * Defaults for the timing parameters. The SIWE domain and chain id have no
 * default: they are security bindings, so every node set names them itself.
 */
export const DEFAULT_NODE_SET_PARAMS = {
  /** 2 min: a request is signed just before it is sent; this covers slow links and hedged retries. */
  maxGrantAgeMs: 120_000,
  /** 30 s of clock skew between a client and a node. */
  maxClockSkewMs: 30_000,
  /** 7 days: a player signs in with its wallet about once a week. */
  maxDelegationLifetimeMs: 7 * 24 * 3_600_000,
} as const satisfies Partial<NodeSetParams>;

export interface NodeSetParams {
  /** A request's issuedAt may be at most this old. */
  readonly maxGrantAgeMs: number;
  /** A request's issuedAt may be at most this far in the future. */
  readonly maxClockSkewMs: number;
  /** A delegation's expiry may be at most this long after its issuedAt. */
  readonly maxDelegationLifetimeMs: number;
  /** The SIWE domain delegations must carry: host[:port], lower case. */
  readonly siweDomain: string;
  /** The EIP-155 chain id delegations must carry. */
  readonly chainId: number;
}

export interface NodeEntry {
  /** 1..n: the node's Shamir x-coordinate and its audience index in requests. */
  readonly index: number;
  readonly peerId: string;
  /** The node's Ed25519 public key, taken from its PeerId. */
  readonly nodePublicKey: Uint8Array;
  readonly multiaddrs: readonly string[];
  /** X-Wing public key that publishers seal this node's shares to. */
  readonly kemPublicKey: Uint8Array;
}

export interface NodeSetAdmins {
  /** k: admin signatures a node set or a revocation needs. */
  readonly threshold: number;
  /** m hybrid (Ed25519 + ML-DSA-65) public keys; signatures name their position. */
  readonly keys: readonly Uint8Array[];
}

/** A validated document whose admin signatures have not been checked: for tools, never for trust. */
export interface NodeSetDocument {
  readonly id: Uint8Array;
  readonly epoch: number;
  readonly threshold: number;
  /** Sorted by index: nodes[i] has index i + 1. */
  readonly nodes: readonly NodeEntry[];
  readonly admins: NodeSetAdmins;
  readonly params: NodeSetParams;
  node(index: number): NodeEntry | undefined;
  nodeByPeerId(peerId: string): NodeEntry | undefined;
}

/** A node set signed by at least admins.threshold admins: the only form a node or client trusts. */
export interface NodeSet extends NodeSetDocument {
  /** Positions in admins.keys of the admins whose signatures verified, ascending. */
  readonly signers: readonly number[];
}

export interface NodeEntryJson {
  readonly index: number;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
  /** Lower-case hex. */
  readonly kemPublicKey: string;
}

/** The `document` object of the file, as JSON values. */
export interface NodeSetDocumentJson {
  readonly qkmsNodeSet: typeof NODE_SET_FORMAT_VERSION;
  readonly epoch: number;
  readonly threshold: number;
  readonly nodes: readonly NodeEntryJson[];
  readonly admins: { readonly threshold: number; readonly keys: readonly string[] };
  readonly params: NodeSetParams;
}

export interface NodeSetSignatureJson {
  /** Position of the signing admin's key in admins.keys. */
  readonly admin: number;
  /** Lower-case hex hybrid signature over NODE_SET_SIGNATURE || nodeSetId. */
  readonly signature: string;
}

export interface SignedNodeSetJson {
  readonly document: NodeSetDocumentJson;
  readonly signatures: readonly NodeSetSignatureJson[];
}

export interface NodeEntryInput {
  readonly index: number;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
  readonly kemPublicKey: Uint8Array;
}

/** The document as plain values with byte keys, for programmatic creation. */
export interface NodeSetDocumentInput {
  readonly epoch: number;
  readonly threshold: number;
  /** Any order; the document lists them by index. */
  readonly nodes: readonly NodeEntryInput[];
  readonly admins: NodeSetAdmins;
  readonly params: NodeSetParams;
}

const DOCUMENT_KEYS = ['qkmsNodeSet', 'epoch', 'threshold', 'nodes', 'admins', 'params'] as const;
const INPUT_KEYS = ['epoch', 'threshold', 'nodes', 'admins', 'params'] as const;
const NODE_KEYS = ['index', 'peerId', 'multiaddrs', 'kemPublicKey'] as const;
const ADMINS_KEYS = ['threshold', 'keys'] as const;
const PARAMS_KEYS = [
  'maxGrantAgeMs',
  'maxClockSkewMs',
  'maxDelegationLifetimeMs',
  'siweDomain',
  'chainId',
] as const;
const FILE_KEYS = ['document', 'signatures'] as const;
const SIGNATURE_KEYS = ['admin', 'signature'] as const;

function invalid(field: string, expected: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.INVALID_NODE_SET, `${field}: expected ${expected}`, { cause });
}

/** Runs strict readers (codec/read.ts) and reports their MALFORMED as INVALID_NODE_SET. */
function asNodeSetError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isQkmsError(e, ErrorCode.MALFORMED)) {
      throw new QkmsError(ErrorCode.INVALID_NODE_SET, e.message, { cause: e });
    }
    throw e;
  }
}

/** readUint, with -0 (which JSON can spell) normalized to 0. */
function readInt(value: unknown, field: string, min: number, max: number): number {
  return readUint(value, field, min, max) + 0;
}

const LOWER_HEX = /^[0-9a-f]*$/;

function readHex(value: unknown, field: string, bytes: number): Uint8Array {
  const expected = `${bytes} bytes of lower-case hex`;
  if (typeof value !== 'string') throw invalid(field, `${expected}, got ${typeof value}`);
  if (value.length !== 2 * bytes) throw invalid(field, `${expected}, got ${value.length} chars`);
  if (!LOWER_HEX.test(value)) throw invalid(field, `${expected}, got another character`);
  return fromHex(value);
}

function readPeerId(value: unknown, field: string): { peerId: string; publicKey: Uint8Array } {
  if (typeof value !== 'string') throw invalid(field, `an Ed25519 PeerId, got ${typeof value}`);
  try {
    return { peerId: value, publicKey: ed25519PublicKeyFromPeerId(value) };
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^peerId: expected /, '') : 'a PeerId';
    throw invalid(field, `an Ed25519 PeerId (${reason})`, e);
  }
}

/** Printable ASCII without spaces: no look-alike or invisible characters in a signed, human-read file. */
const MULTIADDR = /^\/[\x21-\x7e]*$/;

function readMultiaddr(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(field, `a multiaddr string, got ${typeof value}`);
  if (value.length > MAX_MULTIADDR_CHARS) {
    throw invalid(field, `at most ${MAX_MULTIADDR_CHARS} chars, got ${value.length}`);
  }
  if (!MULTIADDR.test(value)) throw invalid(field, "printable ASCII starting with '/'");
  return value;
}

// host[:port] of RFC 3986, narrowed: a lower-case DNS name or IPv4 address, or
// a bracketed IPv6 literal; no userinfo (a credential in the text a wallet
// shows is a phishing aid); port 1..65535 without leading zeros. Lower case
// only, so the exact string comparison with a SIWE message's domain cannot
// fail or pass on case.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const SIWE_DOMAIN = new RegExp(
  `^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]{2,45}\\])(?::([1-9][0-9]{0,4}))?$`,
);

function readSiweDomain(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(field, `a domain string, got ${typeof value}`);
  if (value.length > MAX_SIWE_DOMAIN_CHARS) {
    throw invalid(field, `at most ${MAX_SIWE_DOMAIN_CHARS} chars, got ${value.length}`);
  }
  const match = SIWE_DOMAIN.exec(value);
  const port = match?.[1];
  if (match === null || (port !== undefined && Number(port) > 65_535)) {
    throw invalid(field, 'a lower-case host[:port] authority (RFC 3986, no userinfo)');
  }
  return value;
}

function freezeAll<T>(items: T[]): readonly T[] {
  return Object.freeze(items);
}

interface ParsedDocument {
  readonly epoch: number;
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

function isRecord(value: unknown): value is CborMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the `document` object: structure, types, ranges, uniqueness. No signatures. */
function readDocument(json: unknown): ParsedDocument {
  return asNodeSetError(() => {
    // The version first, so a newer document is named as such rather than by its new keys.
    if (isRecord(json) && Object.hasOwn(json, 'qkmsNodeSet')) {
      readLiteral(json.qkmsNodeSet, 'document.qkmsNodeSet', [NODE_SET_FORMAT_VERSION]);
    }
    const map = readMap(json, 'document', DOCUMENT_KEYS);
    const epoch = readInt(map.epoch, 'document.epoch', 1, Number.MAX_SAFE_INTEGER);
    const nodes = readNodes(map.nodes);
    const threshold = readInt(map.threshold, 'document.threshold', 2, nodes.length);
    const admins = readAdmins(map.admins);
    const params = readParams(map.params);
    return { epoch, threshold, nodes, admins, params };
  });
}

/** The document as the CBOR value that is hashed: keys as in JSON, nodes by index, keys as bytes. */
function canonicalValue(doc: ParsedDocument): CborValue {
  return {
    qkmsNodeSet: NODE_SET_FORMAT_VERSION,
    epoch: doc.epoch,
    threshold: doc.threshold,
    nodes: doc.nodes.map((node) => ({
      index: node.index,
      peerId: node.peerId,
      multiaddrs: node.multiaddrs,
      kemPublicKey: node.kemPublicKey,
    })),
    admins: { threshold: doc.admins.threshold, keys: doc.admins.keys },
    params: { ...doc.params },
  };
}

function idOf(suite: CryptoSuite, doc: ParsedDocument): Uint8Array {
  const bytes = encodeCanonical(canonicalValue(doc));
  return taggedHash((data) => suite.sha256(data), DomainTag.NODE_SET_ID, bytes);
}

/** What an admin signs: NODE_SET_SIGNATURE tag || nodeSetId. */
function signedMessage(id: Uint8Array): Uint8Array {
  return concatBytes(tagBytes(DomainTag.NODE_SET_SIGNATURE), id);
}

/** Whether `signature` (hex) is a valid hybrid signature of `adminPublicKey` over node set `id`. */
export function verifyNodeSetSignature(
  suite: CryptoSuite,
  id: Uint8Array,
  adminPublicKey: Uint8Array,
  signature: Uint8Array,
): boolean {
  return suite.hybrid.verify(signature, signedMessage(id), adminPublicKey);
}

function toDocumentJson(doc: ParsedDocument): NodeSetDocumentJson {
  return {
    qkmsNodeSet: NODE_SET_FORMAT_VERSION,
    epoch: doc.epoch,
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

function toNodeSetDocument(doc: ParsedDocument, id: Uint8Array): NodeSetDocument {
  const byPeerId = new Map(doc.nodes.map((node) => [node.peerId, node]));
  return {
    id,
    epoch: doc.epoch,
    threshold: doc.threshold,
    nodes: doc.nodes,
    admins: doc.admins,
    params: doc.params,
    node: (index) => (Number.isSafeInteger(index) ? doc.nodes[index - 1] : undefined),
    nodeByPeerId: (peerId) => byPeerId.get(peerId),
  };
}

interface ParsedSignature {
  readonly field: string;
  readonly admin: number;
  readonly signature: Uint8Array;
}

/** Signature entries: shape, admin position in range, each admin at most once. No verification. */
function readSignatures(value: unknown, admins: number): readonly ParsedSignature[] {
  return asNodeSetError(() => {
    const items = readArray(value, 'signatures', MAX_ADMINS);
    const positionOfAdmin = new Map<number, number>();
    return items.map((item, position) => {
      const field = `signatures[${position}]`;
      const map = readMap(item, field, SIGNATURE_KEYS);
      const admin = readInt(map.admin, `${field}.admin`, 0, admins - 1);
      const same = positionOfAdmin.get(admin);
      if (same !== undefined) {
        throw invalid(`${field}.admin`, `an admin not counted before (signatures[${same}])`);
      }
      positionOfAdmin.set(admin, position);
      const signature = readHex(map.signature, `${field}.signature`, HYBRID_LENGTHS.signature);
      return { field, admin, signature };
    });
  });
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
    const map = readMap(input, 'document', INPUT_KEYS);
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
      threshold: map.threshold,
      nodes,
      admins: { threshold: admins.threshold, keys },
      params: map.params,
    };
  });
  return toDocumentJson(readDocument(raw));
}

/**
 * Validates a `document` object (parsed JSON) without its signatures. For
 * tools that show or prepare a node set; a node or client trusts only what
 * parseSignedNodeSet returns.
 */
export function parseNodeSetDocument(suite: CryptoSuite, document: unknown): NodeSetDocument {
  const doc = readDocument(document);
  return Object.freeze(toNodeSetDocument(doc, idOf(suite, doc)));
}

/** The deterministic CBOR encoding of a validated document: what nodeSetId hashes. */
export function nodeSetCanonicalBytes(document: unknown): Uint8Array {
  return encodeCanonical(canonicalValue(readDocument(document)));
}

/** nodeSetId = SHA-256(NODE_SET_ID tag || canonical CBOR of the validated document), 32 bytes. */
export function nodeSetId(suite: CryptoSuite, document: unknown): Uint8Array {
  return idOf(suite, readDocument(document));
}

/**
 * One admin's signature over a document. `admin.index` is the position of the
 * admin's public key in admins.keys, and `admin.secretKey` must be its secret
 * key (QkmsError INVALID_ARGUMENT otherwise).
 */
export function signNodeSet(
  suite: CryptoSuite,
  document: unknown,
  admin: { readonly index: number; readonly secretKey: Uint8Array },
): NodeSetSignatureJson {
  const doc = readDocument(document);
  let index: number;
  try {
    index = readInt(
      readMap(admin, 'admin', ['index', 'secretKey']).index,
      'admin.index',
      0,
      doc.admins.keys.length - 1,
    );
  } catch (e) {
    if (!isQkmsError(e, ErrorCode.MALFORMED)) throw e;
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, e.message, { cause: e });
  }
  abytes(admin.secretKey, 'admin.secretKey', suite.hybrid.lengths.seed);
  const signer = suite.hybrid.signer(admin.secretKey);
  const listed = doc.admins.keys[index];
  if (listed === undefined || !suite.equalBytes(signer.publicKey, listed)) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `admin.secretKey: expected the secret key of admins.keys[${index}]`,
    );
  }
  return { admin: index, signature: toHex(signer.sign(signedMessage(idOf(suite, doc)))) };
}

/**
 * Validates a signed node-set file (its parsed JSON) and verifies its admin
 * signatures. Every signature present must verify — a bad one is an error,
 * never skipped — and at least admins.threshold distinct admins must have
 * signed.
 */
export function parseSignedNodeSet(suite: CryptoSuite, json: unknown): NodeSet {
  const file = asNodeSetError(() => readMap(json, 'nodeSet', FILE_KEYS));
  const doc = readDocument(file.document);
  const signatures = readSignatures(file.signatures, doc.admins.keys.length);
  const id = idOf(suite, doc);
  const message = signedMessage(id);
  for (const { field, admin, signature } of signatures) {
    const key = doc.admins.keys[admin];
    if (key === undefined || !suite.hybrid.verify(signature, message, key)) {
      throw invalid(`${field}.signature`, `a valid signature by admins.keys[${admin}]`);
    }
  }
  if (signatures.length < doc.admins.threshold) {
    throw invalid(
      'signatures',
      `at least ${doc.admins.threshold} admin signatures, got ${signatures.length}`,
    );
  }
  const signers = signatures.map((s) => s.admin).sort((a, b) => a - b);
  return Object.freeze({ ...toNodeSetDocument(doc, id), signers: freezeAll(signers) });
}

/** parseSignedNodeSet over the file's text, with its size checked before JSON.parse. */
export function parseSignedNodeSetJson(suite: CryptoSuite, text: string): NodeSet {
  if (typeof text !== 'string') throw invalid('nodeSet', `JSON text, got ${typeof text}`);
  if (text.length > MAX_NODE_SET_JSON_CHARS) {
    throw invalid('nodeSet', `at most ${MAX_NODE_SET_JSON_CHARS} chars, got ${text.length}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid('nodeSet', 'JSON text', e);
  }
  return parseSignedNodeSet(suite, json);
}

/**
 * The node-set file: pretty JSON of the normalized document (nodes by index)
 * and its signatures (by admin), ending in a newline. Validates the document
 * and the signatures' shape; it does not verify them (parseSignedNodeSet does).
 */
export function serializeSignedNodeSet(
  document: unknown,
  signatures: readonly NodeSetSignatureJson[],
): string {
  const doc = readDocument(document);
  const sorted = readSignatures(signatures, doc.admins.keys.length)
    .map(({ admin, signature }) => ({ admin, signature: toHex(signature) }))
    .sort((a, b) => a.admin - b.admin);
  const file: SignedNodeSetJson = { document: toDocumentJson(doc), signatures: sorted };
  return `${JSON.stringify(file, null, 2)}\n`;
}
