// The plaintext of each stored record kind (keys.ts), as canonical CBOR
// (protocol/codec, RFC 8949 §4.2). Encoders check their input and throw
// INVALID_ARGUMENT / INVALID_LENGTH; decoders run on bytes that already
// passed authentication, and anything that still does not decode to the
// exact shape throws STORE_CORRUPT (naming the kind, never content).
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  QkmsError,
  decodeCanonical,
  encodeCanonical,
} from '../../protocol/internal.ts';
import { STORE_LENGTHS, type RecordKind } from './keys.ts';

/** One content's record. `share` is secret: the caller wipes it after use. */
export interface StoredContent {
  readonly contentId: Uint8Array;
  /** The canonical CBOR of the signed manifest. */
  readonly manifest: Uint8Array;
  readonly manifestHash: Uint8Array;
  /** The publisher's wallet address: the content id's owner. */
  readonly owner: Uint8Array;
  readonly share: Uint8Array;
  /** When this node stored it, ms since the epoch. */
  readonly storedAt: number;
  /**
   * Canonical CBOR of the sharing record the share lies on, for a share dealt
   * in a handover (decision 0016); absent for a share the publisher dealt,
   * which lies on the manifest's commitments.
   */
  readonly sharing?: Uint8Array;
}

/** A share held for a successor node set, not yet in force (keys.ts 'pending'). */
export interface PendingContent {
  /** The share and its sharing record: until `held`, the body with this node's attestation only. */
  readonly content: StoredContent & { readonly sharing: Uint8Array };
  readonly nodeSetId: Uint8Array;
  /** The complete record (t' attestations) is stored. */
  readonly held: boolean;
}

/** A used (session key, nonce) pair and when its record may be forgotten (ms). */
export interface NonceEntry {
  readonly sessionKey: Uint8Array;
  readonly nonce: Uint8Array;
  readonly expiresAt: number;
}

/** The `run` meta record. */
export interface RunState {
  /** True from open until a clean close. */
  readonly running: boolean;
  /** When the latest run opened the store (ms). */
  readonly startedAt: number;
  /** When a run last closed the store cleanly (ms), or null if none has. */
  readonly cleanShutdownAt: number | null;
}

/** A manifest fits in a publish frame with its sealed share, so never more than the frame. */
export const MAX_STORED_MANIFEST_BYTES = MAX_FRAME_BYTES.publish;
/** Largest record plaintext: a content record's manifest plus its ~150 bytes of other fields. */
export const MAX_RECORD_BYTES = MAX_STORED_MANIFEST_BYTES + 1024;

function invalid(message: string, length = false): QkmsError {
  return new QkmsError(length ? ErrorCode.INVALID_LENGTH : ErrorCode.INVALID_ARGUMENT, message);
}

function checkBytes(value: unknown, name: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw invalid(`${name}: expected Uint8Array, got ${typeof value}`);
  if (value.length !== length)
    throw invalid(`${name}: expected ${length} bytes, got ${value.length}`, true);
  return value;
}

function checkTime(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalid(`${name}: expected a non-negative integer of ms, got ${typeof value}`);
  return value;
}

export function checkContent(record: StoredContent): StoredContent {
  checkBytes(record.contentId, 'contentId', STORE_LENGTHS.contentId);
  if (!(record.manifest instanceof Uint8Array))
    throw invalid(`manifest: expected Uint8Array, got ${typeof record.manifest}`);
  if (record.manifest.length === 0 || record.manifest.length > MAX_STORED_MANIFEST_BYTES)
    throw invalid(
      `manifest: expected 1..${MAX_STORED_MANIFEST_BYTES} bytes, got ${record.manifest.length}`,
      true,
    );
  checkBytes(record.manifestHash, 'manifestHash', STORE_LENGTHS.manifestHash);
  checkBytes(record.owner, 'owner', STORE_LENGTHS.owner);
  checkBytes(record.share, 'share', STORE_LENGTHS.share);
  checkTime(record.storedAt, 'storedAt');
  if (record.sharing !== undefined) {
    if (!(record.sharing instanceof Uint8Array))
      throw invalid(`sharing: expected Uint8Array, got ${typeof record.sharing}`);
    if (record.sharing.length === 0 || record.sharing.length > MAX_STORED_MANIFEST_BYTES)
      throw invalid(`sharing: expected 1..${MAX_STORED_MANIFEST_BYTES} bytes`, true);
  }
  return record;
}

export function checkNonceEntry(entry: NonceEntry): NonceEntry {
  checkBytes(entry.sessionKey, 'sessionKey', STORE_LENGTHS.sessionKey);
  checkBytes(entry.nonce, 'nonce', STORE_LENGTHS.nonce);
  checkTime(entry.expiresAt, 'expiresAt');
  return entry;
}

/** Plaintext of a content record. Secret (holds the share): the caller wipes it once sealed. */
function contentFields(record: StoredContent): Record<string, Uint8Array | number> {
  checkContent(record);
  return {
    contentId: record.contentId,
    manifest: record.manifest,
    manifestHash: record.manifestHash,
    owner: record.owner,
    share: record.share,
    storedAt: record.storedAt,
    ...(record.sharing === undefined ? {} : { sharing: record.sharing }),
  };
}

export function encodeContent(record: StoredContent): Uint8Array {
  return encodeCanonical(contentFields(record));
}

/** Plaintext of a pending record: secret like a content record's. */
export function encodePending(record: PendingContent): Uint8Array {
  checkBytes(record.nodeSetId, 'nodeSetId', STORE_LENGTHS.contentId);
  return encodeCanonical({
    ...contentFields(record.content),
    nodeSet: record.nodeSetId,
    held: record.held,
  });
}

export function encodeNonceValue(expiresAt: number): Uint8Array {
  return encodeCanonical({ expiresAt: checkTime(expiresAt, 'expiresAt') });
}

export function encodeRunState(state: RunState): Uint8Array {
  return encodeCanonical({
    running: state.running,
    startedAt: checkTime(state.startedAt, 'startedAt'),
    cleanShutdownAt:
      state.cleanShutdownAt === null ? null : checkTime(state.cleanShutdownAt, 'cleanShutdownAt'),
  });
}

// ---- decoding: authenticated bytes that must still have the exact shape ----

function corrupt(kind: RecordKind, cause?: unknown): QkmsError {
  return new QkmsError(
    ErrorCode.STORE_CORRUPT,
    `node store: ${kind} record does not decode to its shape`,
    { cause },
  );
}

/** The decoded map with exactly `fields` (and any of `optional`), or STORE_CORRUPT. */
function readMap(
  kind: RecordKind,
  plaintext: Uint8Array,
  fields: readonly string[],
  optional: readonly string[] = [],
): Readonly<Record<string, unknown>> {
  let value: unknown;
  try {
    value = decodeCanonical(plaintext, MAX_RECORD_BYTES);
  } catch (e) {
    throw corrupt(kind, e);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(kind);
  if (value instanceof Uint8Array) throw corrupt(kind);
  const map = value as Record<string, unknown>;
  const keys = Object.keys(map);
  if (
    !fields.every((f) => Object.hasOwn(map, f)) ||
    !keys.every((k) => fields.includes(k) || optional.includes(k))
  )
    throw corrupt(kind);
  return map;
}

/** A copy that owns its memory: decoded byte strings may alias the plaintext, which the caller wipes. */
function ownBytes(kind: RecordKind, value: unknown, min: number, max = min): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max)
    throw corrupt(kind);
  return new Uint8Array(value);
}

function readTime(kind: RecordKind, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw corrupt(kind);
  return value;
}

/** A stored share: v2's 64 bytes, or a v1 share kept (its manifest is refused at recover). */
function storedShare(value: unknown): Uint8Array {
  const share = ownBytes('content', value, STORE_LENGTHS.shareV1, STORE_LENGTHS.share);
  if (share.length !== STORE_LENGTHS.share && share.length !== STORE_LENGTHS.shareV1)
    throw corrupt('content');
  return share;
}

const CONTENT_FIELDS = ['contentId', 'manifest', 'manifestHash', 'owner', 'share', 'storedAt'];

export function decodeContent(plaintext: Uint8Array): StoredContent {
  return contentFromMap('content', readMap('content', plaintext, CONTENT_FIELDS, ['sharing']));
}

export function decodePending(plaintext: Uint8Array): PendingContent {
  const m = readMap('pending', plaintext, [...CONTENT_FIELDS, 'sharing', 'nodeSet', 'held']);
  const content = contentFromMap('pending', m);
  const held = m['held'];
  if (typeof held !== 'boolean' || content.sharing === undefined) throw corrupt('pending');
  return {
    content: { ...content, sharing: content.sharing },
    nodeSetId: ownBytes('pending', m['nodeSet'], STORE_LENGTHS.contentId),
    held,
  };
}

function contentFromMap(kind: RecordKind, m: Readonly<Record<string, unknown>>): StoredContent {
  return {
    contentId: ownBytes('content', m['contentId'], STORE_LENGTHS.contentId),
    manifest: ownBytes('content', m['manifest'], 1, MAX_STORED_MANIFEST_BYTES),
    manifestHash: ownBytes('content', m['manifestHash'], STORE_LENGTHS.manifestHash),
    owner: ownBytes('content', m['owner'], STORE_LENGTHS.owner),
    share: storedShare(m['share']),
    storedAt: readTime('content', m['storedAt']),
    ...(m['sharing'] === undefined
      ? {}
      : { sharing: ownBytes(kind, m['sharing'], 1, MAX_STORED_MANIFEST_BYTES) }),
  };
}

export function decodeNonceValue(plaintext: Uint8Array): number {
  const m = readMap('nonce', plaintext, ['expiresAt']);
  return readTime('nonce', m['expiresAt']);
}

export function decodeRunState(plaintext: Uint8Array): RunState {
  const m = readMap('meta', plaintext, ['running', 'startedAt', 'cleanShutdownAt']);
  const running = m['running'];
  if (typeof running !== 'boolean') throw corrupt('meta');
  const clean = m['cleanShutdownAt'];
  return {
    running,
    startedAt: readTime('meta', m['startedAt']),
    cleanShutdownAt: clean === null ? null : readTime('meta', clean),
  };
}

/** The audit log's head as the node last wrote it (meta 'auditHead'): catches a lost tail. */
export interface AuditHeadRecord {
  readonly seq: number;
  readonly hash: Uint8Array;
}

export function encodeAuditHead(head: AuditHeadRecord): Uint8Array {
  return encodeCanonical({ seq: checkTime(head.seq, 'seq'), hash: head.hash });
}

export function decodeAuditHead(plaintext: Uint8Array): AuditHeadRecord {
  const m = readMap('meta', plaintext, ['seq', 'hash']);
  return { seq: readTime('meta', m['seq']), hash: ownBytes('meta', m['hash'], 32) };
}

/** The replay guard's clock mark (meta 'clockMark'): see keys.ts MetaName.clockMark. */
export function encodeClockMark(at: number): Uint8Array {
  return encodeCanonical({ at: checkTime(at, 'at') });
}

export function decodeClockMark(plaintext: Uint8Array): number {
  const m = readMap('meta', plaintext, ['at']);
  return readTime('meta', m['at']);
}

/** The `lineage` meta record (keys.ts MetaName.lineage; decision 0017). */
export interface StoredLineage {
  /** Signed node-set files (UTF-8 JSON bytes), oldest first; the last is in force. */
  readonly files: readonly Uint8Array[];
  /** This node is not in the last set: its shares are (being) wiped and it does not serve. */
  readonly retired: boolean;
}

/** 65 node-set files of at most 512 KiB each. */
const MAX_LINEAGE_BYTES = 65 * 512 * 1024 + 1024;

export function encodeLineage(lineage: StoredLineage): Uint8Array {
  if (lineage.files.length === 0) throw invalid('lineage: no node-set file');
  return encodeCanonical({ files: [...lineage.files], retired: lineage.retired });
}

export function decodeLineage(plaintext: Uint8Array): StoredLineage {
  let value: unknown;
  try {
    value = decodeCanonical(plaintext, MAX_LINEAGE_BYTES);
  } catch {
    throw corrupt('meta');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('meta');
  const m = value as Readonly<Record<string, unknown>>;
  const keys = Object.keys(m);
  const files = m['files'];
  if (
    keys.length !== 2 ||
    typeof m['retired'] !== 'boolean' ||
    !Array.isArray(files) ||
    files.length === 0 ||
    !files.every((f) => f instanceof Uint8Array && f.length > 0)
  )
    throw corrupt('meta');
  return { files: files.map((f: Uint8Array) => new Uint8Array(f)), retired: m['retired'] };
}
