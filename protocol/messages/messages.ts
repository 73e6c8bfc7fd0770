// The wire messages of qkms, one per frame, each a canonical CBOR map with
// `v` (protocol version) and `t` (message type) plus its fields
// (docs/protocol.md lists every field):
//   on /qkms/recover:  client 'recover'  -> node 'share' | 'reject'
//   on /qkms/publish:  client 'publish'  -> node 'receipt' | 'reject'
//   on /qkms/info:     client 'info'     -> node 'info-ok' | 'reject'
//                      anyone 'audit-witness' -> node 'audit-witness-ok' | 'reject'
//   on /qkms/revoke:   anyone 'revoke'   -> node 'revoke-ok' | 'reject'
//                      anyone 'revocations' -> node 'revocations-ok' | 'reject'
//   on /qkms/revsync (node-set members only):
//                      'revsync-digest' -> 'revsync-digest-ok'
//                      'revsync-fetch'  -> 'revsync-records'
//                      'revsync-push'   -> 'revsync-push-ok'   (each, or 'reject')
//                      'audit-head'     -> 'audit-head-ok'     (signed audit heads, decision 0010)
// A revocation record travels as the bytes of its own canonical encoding
// (revocation/record.ts parses it): its id is a hash of exactly those bytes' body.
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
import {
  ID_BYTES,
  MAX_NODES,
  MAX_REVOCATION_BYTES,
  MAX_TEXT_BYTES,
  PROTOCOL_VERSION,
} from '../constants.ts';
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
import { auditHeadFromCbor, auditHeadToCbor, type SignedAuditHead } from './audit-head.ts';
import { receiptFromCbor, receiptToCbor, type PublishReceipt } from './receipt.ts';

/** A sealed 32-byte share: plaintext plus the 16-byte AES-GCM tag. */
const SEALED_SHARE_BYTES = 48;

/** A node's operational state, for `qkms node status` (counts and indices only). */
export interface NodeHealth {
  /** Node-set indices of the peers this node has a live connection to. */
  readonly peers: readonly number[];
  /** Revocation records in its live set. */
  readonly revocations: number;
  /** Milliseconds since it was last in sync with a majority of the node set; null if never. */
  readonly revocationLagMs: number | null;
  /** Content shares it holds. */
  readonly shares: number;
  /** Sequence number of its last durable audit record (0: none). */
  readonly auditHead: number;
}

export interface NodeInfo {
  readonly nodeSetId: Uint8Array;
  readonly node: number;
  readonly versions: readonly number[];
  /** Software name and version, e.g. "qkms/0.1.0". */
  readonly software: string;
  readonly health?: NodeHealth;
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
  /** Asks for the latest audit head of node `node` the answerer has witnessed (decision 0010). */
  | { readonly type: 'audit-witness'; readonly node: number }
  /** Absent `witnessed`: the answerer holds none (or `node` is itself). */
  | { readonly type: 'audit-witness-ok'; readonly witnessed?: SignedAuditHead }
  | { readonly type: 'revoke'; readonly record: Uint8Array }
  | { readonly type: 'revoke-ok'; readonly id: Uint8Array; readonly status: RevokeStatus }
  /** A page of the records a node holds, in id order, after `after` (empty: from the start). */
  | { readonly type: 'revocations'; readonly after: Uint8Array }
  | {
      readonly type: 'revocations-ok';
      readonly records: readonly Uint8Array[];
      readonly more: boolean;
    }
  | {
      readonly type: 'revsync-digest';
      /** The id prefix (0, 1 or 2 bytes) whose digest is compared. */
      readonly prefix: Uint8Array;
      /** The asking node's own count and XOR of the ids under `prefix`. */
      readonly count: number;
      readonly xor: Uint8Array;
    }
  | {
      readonly type: 'revsync-digest-ok';
      readonly count: number;
      readonly xor: Uint8Array;
      /** When the digests differ and prefix < 2 bytes: 256 × (count u32 BE || xor 32). Else empty. */
      readonly children: Uint8Array;
      /** When the digests differ and prefix is 2 bytes: every id under it. Else empty. */
      readonly ids: readonly Uint8Array[];
    }
  | { readonly type: 'revsync-fetch'; readonly ids: readonly Uint8Array[] }
  | { readonly type: 'revsync-records'; readonly records: readonly Uint8Array[] }
  | { readonly type: 'revsync-push'; readonly records: readonly Uint8Array[] }
  | {
      readonly type: 'revsync-push-ok';
      readonly stored: number;
      readonly unchanged: number;
    }
  /** The asking node's own signed audit head, once per anti-entropy round. */
  | { readonly type: 'audit-head'; readonly head: SignedAuditHead }
  | {
      readonly type: 'audit-head-ok';
      /** The answering node's own signed audit head. */
      readonly head: SignedAuditHead;
      /** The latest head of the ASKER the answerer holds, if any: what it witnessed of it. */
      readonly witnessed?: SignedAuditHead;
    }
  | {
      readonly type: 'reject';
      readonly code: RejectionCode;
      readonly versions?: readonly number[];
    };

export type RevokeStatus = 'stored' | 'unchanged';
export type MessageType = Message['type'];

/** Ids one anti-entropy message may carry (a 2-byte prefix of 1M ids holds ~16). */
export const MAX_REVSYNC_IDS = 4096;
/** Records one anti-entropy or listing message may carry (also bounded by the frame cap). */
export const MAX_REVSYNC_RECORDS = 1024;
/** 256 children of a digest level, each count (u32 BE) || xor (32). */
export const DIGEST_CHILDREN_BYTES = 256 * (4 + ID_BYTES);
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Every message type, in the order docs/protocol.md §8 lists them. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'recover',
  'share',
  'publish',
  'receipt',
  'info',
  'info-ok',
  'audit-witness',
  'audit-witness-ok',
  'revoke',
  'revoke-ok',
  'revocations',
  'revocations-ok',
  'revsync-digest',
  'revsync-digest-ok',
  'revsync-fetch',
  'revsync-records',
  'revsync-push',
  'revsync-push-ok',
  'audit-head',
  'audit-head-ok',
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
    case 'info-ok': {
      const h = message.info.health;
      return {
        nodeSet: message.info.nodeSetId,
        node: message.info.node,
        versions: [...message.info.versions],
        software: message.info.software,
        ...(h === undefined
          ? {}
          : {
              health: {
                peers: [...h.peers],
                revocations: h.revocations,
                revocationLagMs: h.revocationLagMs,
                shares: h.shares,
                auditHead: h.auditHead,
              },
            }),
      };
    }
    case 'audit-witness':
      return { node: message.node };
    case 'audit-witness-ok':
      return message.witnessed === undefined
        ? {}
        : { witnessed: auditHeadToCbor(message.witnessed) };
    case 'audit-head':
      return { head: auditHeadToCbor(message.head) };
    case 'audit-head-ok':
      return {
        head: auditHeadToCbor(message.head),
        ...(message.witnessed === undefined
          ? {}
          : { witnessed: auditHeadToCbor(message.witnessed) }),
      };
    case 'revoke':
      return { record: message.record };
    case 'revoke-ok':
      return { id: message.id, status: message.status };
    case 'revocations':
      return { after: message.after };
    case 'revocations-ok':
      return { records: [...message.records], more: message.more };
    case 'revsync-digest':
      return { prefix: message.prefix, count: message.count, xor: message.xor };
    case 'revsync-digest-ok':
      return {
        count: message.count,
        xor: message.xor,
        children: message.children,
        ids: [...message.ids],
      };
    case 'revsync-fetch':
      return { ids: [...message.ids] };
    case 'revsync-records':
    case 'revsync-push':
      return { records: [...message.records] };
    case 'revsync-push-ok':
      return { stored: message.stored, unchanged: message.unchanged };
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
  'info-ok': { required: ['nodeSet', 'node', 'versions', 'software'], optional: ['health'] },
  'audit-witness': { required: ['node'] },
  'audit-witness-ok': { required: [], optional: ['witnessed'] },
  'audit-head': { required: ['head'] },
  'audit-head-ok': { required: ['head'], optional: ['witnessed'] },
  revoke: { required: ['record'] },
  'revoke-ok': { required: ['id', 'status'] },
  revocations: { required: ['after'] },
  'revocations-ok': { required: ['records', 'more'] },
  'revsync-digest': { required: ['prefix', 'count', 'xor'] },
  'revsync-digest-ok': { required: ['count', 'xor', 'children', 'ids'] },
  'revsync-fetch': { required: ['ids'] },
  'revsync-records': { required: ['records'] },
  'revsync-push': { required: ['records'] },
  'revsync-push-ok': { required: ['stored', 'unchanged'] },
  reject: { required: ['code'], optional: ['versions'] },
};

/** Set sizes fit a u32 (the digest's packed counts). */
const MAX_COUNT = 0xffff_ffff;

function readRecords(value: unknown, field: string): readonly Uint8Array[] {
  return readArray(value, field, MAX_REVSYNC_RECORDS).map((r, i) =>
    readBytes(r, `${field}[${i}]`, undefined, MAX_REVOCATION_BYTES),
  );
}

function readIds(value: unknown, field: string): readonly Uint8Array[] {
  return readArray(value, field, MAX_REVSYNC_IDS).map((id, i) =>
    readBytes(id, `${field}[${i}]`, ID_BYTES),
  );
}

function readHealth(value: unknown): NodeHealth {
  const h = readMap(value, 'health', [
    'peers',
    'revocations',
    'revocationLagMs',
    'shares',
    'auditHead',
  ]);
  const lag = h['revocationLagMs'];
  return {
    peers: readArray(h['peers'], 'health.peers', MAX_NODES).map((p, i) =>
      readUint(p, `health.peers[${i}]`, 1, MAX_NODES),
    ),
    revocations: readUint(h['revocations'], 'health.revocations', 0, Number.MAX_SAFE_INTEGER),
    revocationLagMs:
      lag === null ? null : readUint(lag, 'health.revocationLagMs', 0, Number.MAX_SAFE_INTEGER),
    shares: readUint(h['shares'], 'health.shares', 0, Number.MAX_SAFE_INTEGER),
    auditHead: readUint(h['auditHead'], 'health.auditHead', 0, Number.MAX_SAFE_INTEGER),
  };
}

function readBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw malformed(field, 'a boolean');
  return value;
}

function readAfter(value: unknown): Uint8Array {
  const after = readBytes(value, 'after', undefined, ID_BYTES);
  if (after.length !== 0 && after.length !== ID_BYTES)
    throw malformed('after', `0 or ${ID_BYTES} bytes`);
  return after;
}

function readChildren(value: unknown): Uint8Array {
  const children = readBytes(value, 'children', undefined, DIGEST_CHILDREN_BYTES);
  if (children.length !== 0 && children.length !== DIGEST_CHILDREN_BYTES)
    throw malformed('children', `0 or ${DIGEST_CHILDREN_BYTES} bytes`);
  return children;
}

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
          ...(m['health'] === undefined ? {} : { health: readHealth(m['health']) }),
        },
      };
    case 'audit-witness':
      return { type, node: readUint(m['node'], 'node', 1, MAX_NODES) };
    case 'audit-witness-ok':
      return m['witnessed'] === undefined
        ? { type }
        : { type, witnessed: auditHeadFromCbor(m['witnessed'], 'witnessed') };
    case 'audit-head':
      return { type, head: auditHeadFromCbor(m['head'], 'head') };
    case 'audit-head-ok':
      return {
        type,
        head: auditHeadFromCbor(m['head'], 'head'),
        ...(m['witnessed'] === undefined
          ? {}
          : { witnessed: auditHeadFromCbor(m['witnessed'], 'witnessed') }),
      };
    case 'revoke':
      return {
        type,
        record: readBytes(m['record'], 'record', undefined, MAX_REVOCATION_BYTES),
      };
    case 'revoke-ok':
      return {
        type,
        id: readBytes(m['id'], 'id', ID_BYTES),
        status: readLiteral(m['status'], 'status', ['stored', 'unchanged'] as const),
      };
    case 'revocations':
      return { type, after: readAfter(m['after']) };
    case 'revocations-ok':
      return {
        type,
        records: readRecords(m['records'], 'records'),
        more: readBool(m['more'], 'more'),
      };
    case 'revsync-digest':
      return {
        type,
        prefix: readBytes(m['prefix'], 'prefix', undefined, 2),
        count: readUint(m['count'], 'count', 0, MAX_COUNT),
        xor: readBytes(m['xor'], 'xor', ID_BYTES),
      };
    case 'revsync-digest-ok':
      return {
        type,
        count: readUint(m['count'], 'count', 0, MAX_COUNT),
        xor: readBytes(m['xor'], 'xor', ID_BYTES),
        children: readChildren(m['children']),
        ids: readIds(m['ids'], 'ids'),
      };
    case 'revsync-fetch':
      return { type, ids: readIds(m['ids'], 'ids') };
    case 'revsync-records':
    case 'revsync-push':
      return { type, records: readRecords(m['records'], 'records') };
    case 'revsync-push-ok':
      return {
        type,
        stored: readUint(m['stored'], 'stored', 0, MAX_REVSYNC_RECORDS),
        unchanged: readUint(m['unchanged'], 'unchanged', 0, MAX_REVSYNC_RECORDS),
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
