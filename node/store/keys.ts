// The one table of key prefixes of a node's LevelDB (DESIGN.md, Storage).
// Every record kind owns one prefix; a record's key is its prefix followed by
// a fixed layout, so a range [prefix, prefix + 1) lists exactly one kind.
// keys.test.ts proves no prefix is reused and none is a prefix of another.
//
// Every value, whatever its kind, is sealed by record-cipher.ts:
//   version (1 byte) = 2 || salt (32) || GCM nonce (12) || AES-256-GCM(plaintext) || tag (16)
// under a key of its own (derived from the storage key and the salt; version-1
// values, without a salt, under one key, still open: decision 0009),
// with associated data = version || the full key, so a value moved under
// another key, or another kind, fails authentication. "Value" below is the
// plaintext: canonical CBOR (protocol/codec).
//
// Prefixes are printable ASCII so a raw dump of the database reads.
import {
  ADDRESS_BYTES,
  CEK_BYTES,
  ID_BYTES,
  NONCE_BYTES,
  SHARE_BYTES,
} from '../../protocol/internal.ts';

export const KeyPrefix = {
  /**
   * Node metadata, one record per name (MetaName).
   * Key: 'm' || UTF-8 name. Value: a CBOR map per name (records.ts).
   * `run` = { running, startedAt, cleanShutdownAt }: set running at open and
   * cleared at close, so the next open knows whether the last run ended
   * cleanly. Durability: synced writes.
   */
  meta: 0x6d, // 'm'
  /**
   * One published content this node holds a share of.
   * Key: 'c' || contentId (32). Value: { contentId, manifest (canonical
   * CBOR of the signed manifest), manifestHash (32), owner (20-byte address),
   * share (32, secret), storedAt (ms) }. Durability: synced put, before the
   * publish receipt is signed.
   */
  content: 0x63, // 'c'
  /**
   * A used recover-request nonce (replay guard, recover step 8).
   * Key: 'n' || sessionKey (32, Ed25519 public key) || nonce (16).
   * Value: { expiresAt (ms) }. Durability: synced batch (group commit) before
   * the share leaves; deleted once expired (unsynced: a lost delete is redone
   * by the next sweep).
   */
  nonce: 0x6e, // 'n'
  /**
   * One admin-signed revocation record (revocation/record.ts). Key: 'r' ||
   * record id (32, the hash of its body), so a range scan by id prefix lists
   * an anti-entropy bucket. Value: the record's canonical encoding.
   * Durability: synced, before it is acknowledged; never deleted (the set
   * only grows).
   */
  revocation: 0x72, // 'r'
  /**
   * One custody record of the audit hash chain (node/audit/record.ts).
   * Key: 'a' || sequence number (8, big-endian, so keys sort in chain order).
   * Value: { body: { v, seq, at, prev, event }, hash, sig }. Durability: one
   * synced batch with meta `auditHead`, before the action it records takes
   * effect; never deleted.
   */
  audit: 0x61, // 'a'
  /**
   * A share this node holds for a successor node set, dealt to it in a
   * handover (decision 0016) and not yet in force. Key: 'p' || successor's
   * nodeSetId (32) || contentId (32). Value: a content record (as 'c', with
   * its sharing record) plus { nodeSet, held }: held once the complete
   * sharing record (t' node signatures) is stored. Durability: synced put,
   * before the node's attestation or acknowledgement leaves.
   */
  pending: 0x70, // 'p'
} as const;
export type RecordKind = keyof typeof KeyPrefix;

/** Meta record names: a closed set. */
export const MetaName = {
  /** Running marker and clean-shutdown time. */
  run: 'run',
  /** The audit log's last { seq, hash }, written in the same batch as the records. */
  auditHead: 'auditHead',
  /**
   * The replay guard's clock mark { at } (ms): the latest expiry of any nonce
   * record it has forgotten, so a time this node's clock has certainly
   * passed. Only grows; synced before the nonces it covers are forgotten.
   */
  clockMark: 'clockMark',
  /**
   * The node sets this node has served since a cutover (decision 0017):
   * { files: signed node-set files, oldest first, the last in force;
   * retired: this node is not in the last }. Synced before the cutover is
   * acknowledged; read at start, before the node set is chosen.
   */
  lineage: 'lineage',
} as const;
export type MetaName = (typeof MetaName)[keyof typeof MetaName];

/** Lengths of the fixed parts of the keys and records. */
export const STORE_LENGTHS = {
  contentId: ID_BYTES,
  manifestHash: ID_BYTES,
  owner: ADDRESS_BYTES,
  /** A share as stored since protocol v2: f(x) || g(x), two scalars (decision 0016; x is the node index). */
  share: SHARE_BYTES,
  /** A v1 share (GF(2^8), one byte per CEK byte): still read, never served (decision 0016). */
  shareV1: CEK_BYTES,
  /** Ed25519 public key of a session. */
  sessionKey: 32,
  nonce: NONCE_BYTES,
  revocationId: ID_BYTES,
} as const;

export function contentKey(contentId: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + STORE_LENGTHS.contentId);
  key[0] = KeyPrefix.content;
  key.set(contentId, 1);
  return key;
}

export function pendingKey(nodeSetId: Uint8Array, contentId: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + ID_BYTES + STORE_LENGTHS.contentId);
  key[0] = KeyPrefix.pending;
  key.set(nodeSetId, 1);
  key.set(contentId, 1 + ID_BYTES);
  return key;
}

export function nonceKey(sessionKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + STORE_LENGTHS.sessionKey + STORE_LENGTHS.nonce);
  key[0] = KeyPrefix.nonce;
  key.set(sessionKey, 1);
  key.set(nonce, 1 + STORE_LENGTHS.sessionKey);
  return key;
}

export const AUDIT_KEY_BYTES = 9;

export function auditKey(seq: number): Uint8Array {
  const key = new Uint8Array(AUDIT_KEY_BYTES);
  key[0] = KeyPrefix.audit;
  new DataView(key.buffer).setBigUint64(1, BigInt(seq));
  return key;
}

/** The sequence number of an audit key. */
export function auditSeq(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(1));
}

export function revocationKey(id: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + STORE_LENGTHS.revocationId);
  key[0] = KeyPrefix.revocation;
  key.set(id, 1);
  return key;
}

/** The keys of one kind whose rest starts with `prefix`: [gte, lt). */
export function prefixRange(
  kind: RecordKind,
  prefix: Uint8Array,
): { gte: Uint8Array; lt: Uint8Array } {
  const gte = Uint8Array.of(KeyPrefix[kind], ...prefix);
  // The least key above every key starting with gte: drop trailing 0xff bytes, add one to the last.
  let end = gte.length;
  while (end > 0 && gte[end - 1] === 0xff) end -= 1;
  const lt = gte.slice(0, end);
  lt[end - 1] = (lt[end - 1] ?? 0) + 1;
  return { gte, lt };
}

const encoder = new TextEncoder();

export function metaKey(name: MetaName): Uint8Array {
  const utf8 = encoder.encode(name);
  const key = new Uint8Array(1 + utf8.length);
  key[0] = KeyPrefix.meta;
  key.set(utf8, 1);
  return key;
}

/** The range holding every key of one kind, for iterators: [gte, lt). */
export function kindRange(kind: RecordKind): { gte: Uint8Array; lt: Uint8Array } {
  const prefix = KeyPrefix[kind];
  return { gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) };
}

/** The kind a key belongs to, by its prefix (for error messages), or undefined. */
export function kindOfKey(key: Uint8Array): RecordKind | undefined {
  const first = key[0];
  for (const kind of Object.keys(KeyPrefix) as RecordKind[]) {
    if (KeyPrefix[kind] === first) return kind;
  }
  return undefined;
}
