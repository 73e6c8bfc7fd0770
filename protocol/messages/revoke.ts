// The messages of /qkms/revoke (docs/protocol.md §8): anyone may send a node
// a signed revocation record ('revoke' -> 'revoke-ok', stored or already
// held), or list the records a node holds, a page at a time ('revocations'
// -> 'revocations-ok'). A record travels as the bytes of its own canonical
// encoding (revocation/record.ts parses it): its id is a hash of exactly
// those bytes' body.
import { malformed, readBytes, readLiteral } from '../codec/read.ts';
import { ID_BYTES, MAX_REVOCATION_BYTES } from '../constants.ts';
import type { MessageCodec } from './codec.ts';
import { readBool, readRecords } from './fields.ts';

export type RevokeStatus = 'stored' | 'unchanged';

export interface RevokeMessage {
  readonly type: 'revoke';
  readonly record: Uint8Array;
}

export interface RevokeOkMessage {
  readonly type: 'revoke-ok';
  readonly id: Uint8Array;
  readonly status: RevokeStatus;
}

/** A page of the records a node holds, in id order, after `after` (empty: from the start). */
export interface RevocationsMessage {
  readonly type: 'revocations';
  readonly after: Uint8Array;
}

export interface RevocationsOkMessage {
  readonly type: 'revocations-ok';
  readonly records: readonly Uint8Array[];
  readonly more: boolean;
}

function readAfter(value: unknown): Uint8Array {
  const after = readBytes(value, 'after', undefined, ID_BYTES);
  if (after.length !== 0 && after.length !== ID_BYTES)
    throw malformed('after', `0 or ${ID_BYTES} bytes`);
  return after;
}

export const revokeCodec: MessageCodec<RevokeMessage> = {
  type: 'revoke',
  required: ['record'],
  optional: [],
  encode: (message) => ({ record: message.record }),
  decode: (m) => ({
    type: 'revoke',
    record: readBytes(m['record'], 'record', undefined, MAX_REVOCATION_BYTES),
  }),
};

export const revokeOkCodec: MessageCodec<RevokeOkMessage> = {
  type: 'revoke-ok',
  required: ['id', 'status'],
  optional: [],
  encode: (message) => ({ id: message.id, status: message.status }),
  decode: (m) => ({
    type: 'revoke-ok',
    id: readBytes(m['id'], 'id', ID_BYTES),
    status: readLiteral(m['status'], 'status', ['stored', 'unchanged'] as const),
  }),
};

export const revocationsCodec: MessageCodec<RevocationsMessage> = {
  type: 'revocations',
  required: ['after'],
  optional: [],
  encode: (message) => ({ after: message.after }),
  decode: (m) => ({ type: 'revocations', after: readAfter(m['after']) }),
};

export const revocationsOkCodec: MessageCodec<RevocationsOkMessage> = {
  type: 'revocations-ok',
  required: ['records', 'more'],
  optional: [],
  encode: (message) => ({ records: [...message.records], more: message.more }),
  decode: (m) => ({
    type: 'revocations-ok',
    records: readRecords(m['records'], 'records'),
    more: readBool(m['more'], 'more'),
  }),
};
