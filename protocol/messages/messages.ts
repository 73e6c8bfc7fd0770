// The wire messages of qkms, one per frame, each a canonical CBOR map with
// `v` (protocol version) and `t` (message type) plus its fields
// (docs/protocol.md lists every field):
//   on /qkms/recover:  client 'recover'  -> node 'share' | 'reject'
//   on /qkms/publish:  client 'publish'  -> node 'receipt' | 'reject'
//   on /qkms/info:     client 'info'     -> node 'info-ok' | 'reject'
// A receiver checks the size cap, decodes canonically, then checks `v`
// before anything else: an unknown version is UNSUPPORTED_VERSION, which a
// node answers with a 'reject' naming the versions it speaks.
import { decodeCanonical, encodeCanonical, type CborValue } from '../codec/cbor.ts';
import {
  malformed,
  readArray,
  readBytes,
  readLiteral,
  readMap,
  readText,
  readUint,
  readVersion,
} from '../codec/read.ts';
import { ID_BYTES, MAX_NODES, MAX_TEXT_BYTES, PROTOCOL_VERSION } from '../constants.ts';
import type { Delegation } from '../grant/delegation.ts';
import {
  requestBodyFromCbor,
  requestBodyToCbor,
  type SignedRecoverRequest,
} from '../grant/request.ts';
import {
  delegationFromCbor,
  delegationToCbor,
  manifestFromCbor,
  manifestToCbor,
  type Manifest,
} from '../manifest.ts';
import { isRejectionCode, type RejectionCode } from '../rejection.ts';
import type { Sealed } from '../seal.ts';
import { ED25519_LENGTHS, XWING_LENGTHS } from '../suite/types.ts';
import { receiptFromCbor, receiptToCbor, type PublishReceipt } from './receipt.ts';

/** A sealed 32-byte share: plaintext plus the 16-byte AES-GCM tag. */
const SEALED_SHARE_BYTES = 48;

export interface NodeInfo {
  readonly nodeSetId: Uint8Array;
  readonly node: number;
  readonly versions: readonly number[];
  /** Software name and version, e.g. "qkms/0.1.0". */
  readonly software: string;
}

export type Message =
  | {
      readonly type: 'recover';
      readonly request: SignedRecoverRequest;
      readonly delegation: Delegation;
    }
  | { readonly type: 'share'; readonly sealed: Sealed }
  | { readonly type: 'publish'; readonly manifest: Manifest; readonly sealed: Sealed }
  | { readonly type: 'receipt'; readonly receipt: PublishReceipt }
  | { readonly type: 'info' }
  | { readonly type: 'info-ok'; readonly info: NodeInfo }
  | {
      readonly type: 'reject';
      readonly code: RejectionCode;
      readonly versions?: readonly number[];
    };

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

const MESSAGE_TYPES: readonly MessageType[] = [
  'recover',
  'share',
  'publish',
  'receipt',
  'info',
  'info-ok',
  'reject',
];

function sealedToCbor(s: Sealed): Record<string, CborValue> {
  return { enc: s.enc, ct: s.ciphertext };
}

function fields(message: Message): Record<string, CborValue> {
  switch (message.type) {
    case 'recover':
      return {
        request: requestBodyToCbor(message.request.body),
        sig: message.request.signature,
        delegation: delegationToCbor(message.delegation),
      };
    case 'share':
      return sealedToCbor(message.sealed);
    case 'publish':
      return { manifest: manifestToCbor(message.manifest), ...sealedToCbor(message.sealed) };
    case 'receipt':
      return receiptToCbor(message.receipt);
    case 'info':
      return {};
    case 'info-ok':
      return {
        nodeSet: message.info.nodeSetId,
        node: message.info.node,
        versions: [...message.info.versions],
        software: message.info.software,
      };
    case 'reject':
      return message.versions === undefined
        ? { code: message.code }
        : { code: message.code, versions: [...message.versions] };
  }
}

export function encodeMessage(message: Message): Uint8Array {
  return encodeCanonical({ v: PROTOCOL_VERSION, t: message.type, ...fields(message) });
}

const KEYS: Record<MessageType, { required: readonly string[]; optional?: readonly string[] }> = {
  recover: { required: ['request', 'sig', 'delegation'] },
  share: { required: ['enc', 'ct'] },
  publish: { required: ['manifest', 'enc', 'ct'] },
  receipt: { required: ['receipt', 'sig'] },
  info: { required: [] },
  'info-ok': { required: ['nodeSet', 'node', 'versions', 'software'] },
  reject: { required: ['code'], optional: ['versions'] },
};

function readVersions(value: unknown, field: string): readonly number[] {
  return readArray(value, field, 16, 1).map((v, i) => readUint(v, `${field}[${i}]`, 0, 0xffff));
}

function readSealed(m: Readonly<Record<string, unknown>>): Sealed {
  return {
    enc: readBytes(m['enc'], 'enc', XWING_LENGTHS.cipherText),
    ciphertext: readBytes(m['ct'], 'ct', SEALED_SHARE_BYTES),
  };
}

function parse(type: MessageType, m: Readonly<Record<string, unknown>>): Message {
  switch (type) {
    case 'recover':
      return {
        type,
        request: {
          body: requestBodyFromCbor(m['request']),
          signature: readBytes(m['sig'], 'sig', ED25519_LENGTHS.signature),
        },
        delegation: delegationFromCbor(m['delegation'], 'delegation'),
      };
    case 'share':
      return { type, sealed: readSealed(m) };
    case 'publish':
      return { type, manifest: manifestFromCbor(m['manifest']), sealed: readSealed(m) };
    case 'receipt':
      return { type, receipt: receiptFromCbor(m) };
    case 'info':
      return { type };
    case 'info-ok':
      return {
        type,
        info: {
          nodeSetId: readBytes(m['nodeSet'], 'nodeSet', ID_BYTES),
          node: readUint(m['node'], 'node', 1, MAX_NODES),
          versions: readVersions(m['versions'], 'versions'),
          software: readText(m['software'], 'software', MAX_TEXT_BYTES),
        },
      };
    case 'reject': {
      const code = m['code'];
      if (!isRejectionCode(code)) throw malformed('code', 'a known rejection code');
      return m['versions'] === undefined
        ? { type, code }
        : { type, code, versions: readVersions(m['versions'], 'versions') };
    }
  }
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
  const { required, optional = [] } = KEYS[type];
  const m = readMap(value, 'message', ['v', 't', ...required], optional);
  return parse(type, m) as MessageOf<T>;
}
