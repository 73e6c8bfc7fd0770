// The cutover messages (decision 0017, docs/protocol.md §7d), on /qkms/reshare:
//   'reshare-cutover' -> 'reshare-cutover-ok'   an admin's coordinator hands the quorum
//                                                to the successor (the record authorises it)
//   'node-set'        -> 'node-set-ok'          anyone asks a node which node sets it has
//                                                served: signed files, oldest first
import { readArray, readBytes, readLiteral } from '../codec/read.ts';
import { MAX_CUTOVER_RECORD_BYTES } from '../reshare/cutover.ts';
import { MAX_CHAIN_LENGTH } from '../node-set/chain.ts';
import type { MessageCodec } from './codec.ts';

/** A signed node-set file, as its UTF-8 bytes (as in every reshare request). */
export const MAX_NODE_SET_FILE_BYTES = 512 * 1024;

export interface ReshareCutoverMessage {
  readonly type: 'reshare-cutover';
  /** encodeCutoverRecord: k of m old admins' signatures. */
  readonly record: Uint8Array;
  /** The old set's signed node-set file. */
  readonly from: Uint8Array;
  /** The successor's signed node-set file. */
  readonly to: Uint8Array;
  /**
   * The signed files of the sets before `from`, oldest first (empty for a
   * first set): a node that joins learns the whole chain, so it accepts
   * sessions and revocations of every earlier set as the others do.
   */
  readonly ancestors: readonly Uint8Array[];
}

/** `serving`: the node serves the successor (after its restart); `retired`: it wiped its shares and stops. */
export type CutoverState = 'serving' | 'retired';

export interface ReshareCutoverOkMessage {
  readonly type: 'reshare-cutover-ok';
  readonly state: CutoverState;
}

export interface NodeSetMessage {
  readonly type: 'node-set';
}

export interface NodeSetOkMessage {
  readonly type: 'node-set-ok';
  /** Signed node-set files, oldest first; the last is the set the node serves. */
  readonly files: readonly Uint8Array[];
}

const readFile = (value: unknown, field: string): Uint8Array =>
  readBytes(value, field, undefined, MAX_NODE_SET_FILE_BYTES);

export const reshareCutoverCodec: MessageCodec<ReshareCutoverMessage> = {
  type: 'reshare-cutover',
  required: ['record', 'from', 'to', 'ancestors'],
  optional: [],
  encode: (m) => ({ record: m.record, from: m.from, to: m.to, ancestors: [...m.ancestors] }),
  decode: (m) => ({
    type: 'reshare-cutover',
    record: readBytes(m['record'], 'record', undefined, MAX_CUTOVER_RECORD_BYTES),
    from: readFile(m['from'], 'from'),
    to: readFile(m['to'], 'to'),
    ancestors: readArray(m['ancestors'], 'ancestors', MAX_CHAIN_LENGTH).map((v, i) =>
      readFile(v, `ancestors[${i}]`),
    ),
  }),
};

export const reshareCutoverOkCodec: MessageCodec<ReshareCutoverOkMessage> = {
  type: 'reshare-cutover-ok',
  required: ['state'],
  optional: [],
  encode: (m) => ({ state: m.state }),
  decode: (m) => ({
    type: 'reshare-cutover-ok',
    state: readLiteral(m['state'], 'state', ['serving', 'retired'] as const),
  }),
};

export const nodeSetCodec: MessageCodec<NodeSetMessage> = {
  type: 'node-set',
  required: [],
  optional: [],
  encode: () => ({}),
  decode: () => ({ type: 'node-set' }),
};

export const nodeSetOkCodec: MessageCodec<NodeSetOkMessage> = {
  type: 'node-set-ok',
  required: ['files'],
  optional: [],
  encode: (m) => ({ files: [...m.files] }),
  decode: (m) => ({
    type: 'node-set-ok',
    files: readArray(m['files'], 'files', MAX_CHAIN_LENGTH + 1, 1).map((v, i) =>
      readFile(v, `files[${i}]`),
    ),
  }),
};
