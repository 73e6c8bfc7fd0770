// The wire messages of qkms, one per frame, each a canonical CBOR map with
// `v` (protocol version) and `t` (message type) plus its fields
// (docs/protocol.md §8 lists every field):
//   on /qkms/recover:  client 'recover'  -> node 'share' | 'reject'          recover.ts
//   on /qkms/publish:  client 'publish'  -> node 'receipt' | 'reject'        publish.ts
//   on /qkms/info:     client 'info'     -> node 'info-ok' | 'reject'        info.ts
//                      anyone 'audit-witness' -> node 'audit-witness-ok'     audit-head.ts
//   on /qkms/revoke:   anyone 'revoke'   -> node 'revoke-ok' | 'reject'      revoke.ts
//                      anyone 'revocations' -> node 'revocations-ok'
//   on /qkms/revsync (node-set members only):                                revsync.ts
//                      'revsync-digest' -> 'revsync-digest-ok'
//                      'revsync-fetch'  -> 'revsync-records'
//                      'revsync-push'   -> 'revsync-push-ok'   (each, or 'reject')
//                      'audit-head'     -> 'audit-head-ok'     audit-head.ts (decision 0010)
//   on /qkms/reshare:  an admin's coordinator, with its ticket:              reshare.ts
//                      'reshare-list' -> 'reshare-list-ok'
//                      'reshare-deal' -> 'reshare-dealt'
//                      'reshare-commit' -> 'reshare-committed'
//                      'reshare-record' -> 'reshare-record-ok'
//                      'reshare-status' -> 'reshare-status-ok'   (each, or 'reject')
//                      'reshare-cutover' -> 'reshare-cutover-ok'  cutover.ts (k of m admins' record)
//                      anyone 'node-set' -> 'node-set-ok'        the node's signed node-set files
//   'reject' answers on every protocol                                       reject.ts
//
// This file is the registry: CODECS lists each message type's codec once, and
// the Message union, MESSAGE_TYPES, encodeMessage and decodeMessage derive
// from it. A new message is its interface and codec in its protocol's file
// plus one line in CODECS.
//
// A receiver checks the size cap, decodes canonically, then checks `v`
// before anything else: an unknown version is UNSUPPORTED_VERSION, which a
// node answers with a 'reject' naming the versions it speaks.
import { decodeCanonical, encodeCanonical } from '../codec/cbor.ts';
import { malformed, readLiteral, readMap, readVersion } from '../codec/read.ts';
import { PROTOCOL_VERSION } from '../constants.ts';
import {
  auditHeadCodec,
  auditHeadOkCodec,
  auditWitnessCodec,
  auditWitnessOkCodec,
} from './audit-head.ts';
import type { MessageCodec } from './codec.ts';
import {
  nodeSetCodec,
  nodeSetOkCodec,
  reshareCutoverCodec,
  reshareCutoverOkCodec,
} from './cutover.ts';
import { infoCodec, infoOkCodec } from './info.ts';
import { publishCodec, receiptCodec } from './publish.ts';
import { recoverCodec, shareCodec } from './recover.ts';
import { rejectCodec } from './reject.ts';
import {
  reshareCommitCodec,
  reshareCommittedCodec,
  reshareDealCodec,
  reshareDealtCodec,
  reshareListCodec,
  reshareListOkCodec,
  reshareRecordCodec,
  reshareRecordOkCodec,
  reshareStatusCodec,
  reshareStatusOkCodec,
} from './reshare.ts';
import { revocationsCodec, revocationsOkCodec, revokeCodec, revokeOkCodec } from './revoke.ts';
import {
  revsyncDigestCodec,
  revsyncDigestOkCodec,
  revsyncFetchCodec,
  revsyncPushCodec,
  revsyncPushOkCodec,
  revsyncRecordsCodec,
} from './revsync.ts';

/** Every message type's codec, in the order docs/protocol.md §8 lists them. */
const CODECS = [
  recoverCodec,
  shareCodec,
  publishCodec,
  receiptCodec,
  infoCodec,
  infoOkCodec,
  auditWitnessCodec,
  auditWitnessOkCodec,
  revokeCodec,
  revokeOkCodec,
  revocationsCodec,
  revocationsOkCodec,
  revsyncDigestCodec,
  revsyncDigestOkCodec,
  revsyncFetchCodec,
  revsyncRecordsCodec,
  revsyncPushCodec,
  revsyncPushOkCodec,
  auditHeadCodec,
  auditHeadOkCodec,
  reshareListCodec,
  reshareListOkCodec,
  reshareDealCodec,
  reshareDealtCodec,
  reshareCommitCodec,
  reshareCommittedCodec,
  reshareRecordCodec,
  reshareRecordOkCodec,
  reshareStatusCodec,
  reshareStatusOkCodec,
  reshareCutoverCodec,
  reshareCutoverOkCodec,
  nodeSetCodec,
  nodeSetOkCodec,
  rejectCodec,
] as const;

type MessageOfCodec<C> = C extends MessageCodec<infer M> ? M : never;

/** Any wire message: the union of the messages the registered codecs carry. */
export type Message = MessageOfCodec<(typeof CODECS)[number]>;
export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Every message type, in the order docs/protocol.md §8 lists them. */
export const MESSAGE_TYPES: readonly MessageType[] = CODECS.map((c) => c.type);

const BY_TYPE = new Map<MessageType, MessageCodec<Message>>(
  CODECS.map((c): [MessageType, MessageCodec<Message>] => [c.type, c]),
);

/** The codec of one message type. */
export function messageCodec<T extends MessageType>(type: T): MessageCodec<MessageOf<T>> {
  const codec = BY_TYPE.get(type);
  // Unreachable for a MessageType: CODECS is where the type comes from.
  if (codec === undefined) throw malformed('t', 'a registered message type');
  return codec as MessageCodec<MessageOf<T>>;
}

export function encodeMessage(message: Message): Uint8Array {
  const fields = messageCodec(message.type).encode(message);
  return encodeCanonical({ v: PROTOCOL_VERSION, t: message.type, ...fields });
}

/**
 * Decodes one message of one of the `expected` types. Throws QkmsError:
 * TOO_LARGE past `maxBytes`, MALFORMED for non-canonical bytes, unknown or
 * missing fields or an unexpected type, UNSUPPORTED_VERSION for a `v` this
 * code does not speak.
 */
export function decodeMessage<T extends MessageType>(
  bytes: Uint8Array,
  maxBytes: number,
  expected: readonly T[],
): MessageOf<T> {
  const value = decodeCanonical(bytes, maxBytes);
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw malformed('message', 'a map');
  }
  // The version first: the fields of a version we do not speak are not ours to judge.
  const head = value as Readonly<Record<string, unknown>>;
  readVersion(head['v'], 'v');
  const type = readLiteral(head['t'], 't', MESSAGE_TYPES);
  if (!(expected as readonly MessageType[]).includes(type))
    throw malformed('t', `one of ${expected.join(', ')}`);
  const codec = messageCodec(type);
  const m = readMap(value, 'message', ['v', 't', ...codec.required], codec.optional);
  return codec.decode(m) as MessageOf<T>;
}
