// The anti-entropy messages of /qkms/revsync, between members of one node set
// (docs/protocol.md §8, §10d): two nodes compare the digests (count and XOR of
// ids) of their revocation sets under a 0-, 1- or 2-byte id prefix, descend
// where they differ, then fetch and push the records one of them lacks.
//   'revsync-digest' -> 'revsync-digest-ok'
//   'revsync-fetch'  -> 'revsync-records'
//   'revsync-push'   -> 'revsync-push-ok'        (each, or 'reject')
// (The audit-head messages share this protocol: audit-head.ts.)
import { malformed, readArray, readBytes, readUint } from '../codec/read.ts';
import { ID_BYTES } from '../constants.ts';
import type { MessageCodec } from './codec.ts';
import { MAX_REVSYNC_RECORDS, readRecords } from './fields.ts';

/** Ids one anti-entropy message may carry (a 2-byte prefix of 1M ids holds ~16). */
export const MAX_REVSYNC_IDS = 4096;
/** 256 children of a digest level, each count (u32 BE) || xor (32). */
export const DIGEST_CHILDREN_BYTES = 256 * (4 + ID_BYTES);
/** Set sizes fit a u32 (the digest's packed counts). */
const MAX_COUNT = 0xffff_ffff;

export interface RevsyncDigestMessage {
  readonly type: 'revsync-digest';
  /** The id prefix (0, 1 or 2 bytes) whose digest is compared. */
  readonly prefix: Uint8Array;
  /** The asking node's own count and XOR of the ids under `prefix`. */
  readonly count: number;
  readonly xor: Uint8Array;
}

export interface RevsyncDigestOkMessage {
  readonly type: 'revsync-digest-ok';
  readonly count: number;
  readonly xor: Uint8Array;
  /** When the digests differ and prefix < 2 bytes: 256 × (count u32 BE || xor 32). Else empty. */
  readonly children: Uint8Array;
  /** When the digests differ and prefix is 2 bytes: every id under it. Else empty. */
  readonly ids: readonly Uint8Array[];
}

export interface RevsyncFetchMessage {
  readonly type: 'revsync-fetch';
  readonly ids: readonly Uint8Array[];
}

export interface RevsyncRecordsMessage {
  readonly type: 'revsync-records';
  readonly records: readonly Uint8Array[];
}

export interface RevsyncPushMessage {
  readonly type: 'revsync-push';
  readonly records: readonly Uint8Array[];
}

export interface RevsyncPushOkMessage {
  readonly type: 'revsync-push-ok';
  readonly stored: number;
  readonly unchanged: number;
}

function readIds(value: unknown, field: string): readonly Uint8Array[] {
  return readArray(value, field, MAX_REVSYNC_IDS).map((id, i) =>
    readBytes(id, `${field}[${i}]`, ID_BYTES),
  );
}

function readChildren(value: unknown): Uint8Array {
  const children = readBytes(value, 'children', undefined, DIGEST_CHILDREN_BYTES);
  if (children.length !== 0 && children.length !== DIGEST_CHILDREN_BYTES)
    throw malformed('children', `0 or ${DIGEST_CHILDREN_BYTES} bytes`);
  return children;
}

export const revsyncDigestCodec: MessageCodec<RevsyncDigestMessage> = {
  type: 'revsync-digest',
  required: ['prefix', 'count', 'xor'],
  optional: [],
  encode: (message) => ({ prefix: message.prefix, count: message.count, xor: message.xor }),
  decode: (m) => ({
    type: 'revsync-digest',
    prefix: readBytes(m['prefix'], 'prefix', undefined, 2),
    count: readUint(m['count'], 'count', 0, MAX_COUNT),
    xor: readBytes(m['xor'], 'xor', ID_BYTES),
  }),
};

export const revsyncDigestOkCodec: MessageCodec<RevsyncDigestOkMessage> = {
  type: 'revsync-digest-ok',
  required: ['count', 'xor', 'children', 'ids'],
  optional: [],
  encode: (message) => ({
    count: message.count,
    xor: message.xor,
    children: message.children,
    ids: [...message.ids],
  }),
  decode: (m) => ({
    type: 'revsync-digest-ok',
    count: readUint(m['count'], 'count', 0, MAX_COUNT),
    xor: readBytes(m['xor'], 'xor', ID_BYTES),
    children: readChildren(m['children']),
    ids: readIds(m['ids'], 'ids'),
  }),
};

export const revsyncFetchCodec: MessageCodec<RevsyncFetchMessage> = {
  type: 'revsync-fetch',
  required: ['ids'],
  optional: [],
  encode: (message) => ({ ids: [...message.ids] }),
  decode: (m) => ({ type: 'revsync-fetch', ids: readIds(m['ids'], 'ids') }),
};

export const revsyncRecordsCodec: MessageCodec<RevsyncRecordsMessage> = {
  type: 'revsync-records',
  required: ['records'],
  optional: [],
  encode: (message) => ({ records: [...message.records] }),
  decode: (m) => ({ type: 'revsync-records', records: readRecords(m['records'], 'records') }),
};

export const revsyncPushCodec: MessageCodec<RevsyncPushMessage> = {
  type: 'revsync-push',
  required: ['records'],
  optional: [],
  encode: (message) => ({ records: [...message.records] }),
  decode: (m) => ({ type: 'revsync-push', records: readRecords(m['records'], 'records') }),
};

export const revsyncPushOkCodec: MessageCodec<RevsyncPushOkMessage> = {
  type: 'revsync-push-ok',
  required: ['stored', 'unchanged'],
  optional: [],
  encode: (message) => ({ stored: message.stored, unchanged: message.unchanged }),
  decode: (m) => ({
    type: 'revsync-push-ok',
    stored: readUint(m['stored'], 'stored', 0, MAX_REVSYNC_RECORDS),
    unchanged: readUint(m['unchanged'], 'unchanged', 0, MAX_REVSYNC_RECORDS),
  }),
};
