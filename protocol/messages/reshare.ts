// Long file: the ten messages of one protocol, with the field readers they share.
// The messages of /qkms/reshare (docs/protocol.md §7d, decision 0016): an
// admin's coordinator runs a handover from one node set to its successor.
// Every request carries the admin's ticket and both signed node-set files.
//   'reshare-list'   -> 'reshare-list-ok'     an old node's content ids, a page at a time
//   'reshare-deal'   -> 'reshare-dealt'       an old node deals a batch (protocol/reshare)
//   'reshare-commit' -> 'reshare-committed'   a new node combines its shares, signs the records
//   'reshare-record' -> 'reshare-record-ok'   a new node takes the complete sharing records
//   'reshare-status' -> 'reshare-status-ok'   which contents a new node holds for the successor
import type { CborValue } from '../codec/cbor.ts';
import {
  malformed,
  readArray,
  readBytes,
  readLiteral,
  readMap,
  readUint,
  type CborMap,
} from '../codec/read.ts';
import { ID_BYTES, MAX_FRAME_BYTES, MAX_NODES } from '../constants.ts';
import type {
  BlameReason,
  DealerChoice,
  Dealing,
  DealtItem,
  DealtStatus,
  ForwardedDealing,
  SharingSource,
} from '../reshare/dealing.ts';
import { dealtItemsToCbor } from '../reshare/dealing.ts';
import { ticketFromCbor, ticketToCbor, type ReshareTicket } from '../reshare/ticket.ts';
import type { Sealed } from '../seal.ts';
import { COMMITMENT_BYTES } from '../sharing-record.ts';
import { SHARE_BYTES } from '../sharing.ts';
import { ED25519_LENGTHS, XWING_LENGTHS } from '../suite/types.ts';
import type { MessageCodec } from './codec.ts';
import { MAX_NODE_SET_FILE_BYTES } from './cutover.ts';
import { readBool } from './fields.ts';

/** Contents one deal, commit or status request names at most. */
export const MAX_RESHARE_BATCH = 128;
/** Content ids one list page carries at most. */
export const MAX_RESHARE_LIST = 1024;
/** A sealed batch: one 64-byte sub-share per content, plus the AEAD tag. */
const MAX_SEALED_BATCH_BYTES = MAX_RESHARE_BATCH * SHARE_BYTES + 16;

/** What every reshare request carries: who authorises it, and the handover it is part of. */
export interface ReshareEnvelope {
  readonly ticket: ReshareTicket;
  /** The old set's signed node-set file (UTF-8 JSON bytes). */
  readonly from: Uint8Array;
  /** The successor's signed node-set file. */
  readonly to: Uint8Array;
}

export interface ReshareListMessage extends ReshareEnvelope {
  readonly type: 'reshare-list';
  /** The last id of the previous page; empty for the first. */
  readonly after: Uint8Array;
}

export interface ReshareListOkMessage {
  readonly type: 'reshare-list-ok';
  readonly contents: readonly Uint8Array[];
  readonly more: boolean;
}

export interface ReshareDealMessage extends ReshareEnvelope {
  readonly type: 'reshare-deal';
  readonly contents: readonly Uint8Array[];
}

export interface ReshareDealtMessage {
  readonly type: 'reshare-dealt';
  readonly dealing: Dealing;
  /** One seal per new node, in the successor's order. */
  readonly sealed: readonly Sealed[];
  readonly sources: readonly SharingSource[];
}

export interface ReshareCommitMessage extends ReshareEnvelope {
  readonly type: 'reshare-commit';
  readonly dealings: readonly ForwardedDealing[];
  readonly sources: readonly SharingSource[];
  readonly choose: readonly DealerChoice[];
}

export type ReshareCommitResult =
  | { readonly contentId: Uint8Array; readonly status: 'ok'; readonly signature: Uint8Array }
  | {
      readonly contentId: Uint8Array;
      readonly status: 'blame';
      readonly blamed: readonly { readonly dealer: number; readonly reason: BlameReason }[];
    }
  | { readonly contentId: Uint8Array; readonly status: 'failed' };

export interface ReshareCommittedMessage {
  readonly type: 'reshare-committed';
  /** The answering node's index in the successor. */
  readonly node: number;
  readonly results: readonly ReshareCommitResult[];
}

export interface ReshareRecordMessage extends ReshareEnvelope {
  readonly type: 'reshare-record';
  /** Canonical CBOR of complete sharing records for the successor. */
  readonly records: readonly Uint8Array[];
}

export type ReshareRecordStatus = 'held' | 'missing' | 'mismatch';

export interface ReshareRecordOkMessage {
  readonly type: 'reshare-record-ok';
  readonly results: readonly {
    readonly contentId: Uint8Array;
    readonly status: ReshareRecordStatus;
  }[];
}

export interface ReshareStatusMessage extends ReshareEnvelope {
  readonly type: 'reshare-status';
  readonly contents: readonly Uint8Array[];
}

export interface ReshareStatusOkMessage {
  readonly type: 'reshare-status-ok';
  /**
   * Per content asked: the body hash (sharingBodyHash) of the complete record this node holds a
   * share under for the successor, or empty bytes when it holds none. Holders agree on a sharing
   * only if their hashes are equal.
   */
  readonly held: readonly Uint8Array[];
}

const ENVELOPE = ['ticket', 'from', 'to'] as const;
const DEALT_STATUSES = ['ok', 'absent', 'failed'] as const satisfies readonly DealtStatus[];
const BLAME_REASONS = [
  'bad-signature',
  'bad-seal',
  'disagrees',
  'bad-sub-share',
] as const satisfies readonly BlameReason[];

function envelopeToCbor(m: ReshareEnvelope): Record<string, CborValue> {
  return { ticket: ticketToCbor(m.ticket), from: m.from, to: m.to };
}

function readEnvelope(m: CborMap): ReshareEnvelope {
  return {
    ticket: ticketFromCbor(m['ticket']),
    from: readBytes(m['from'], 'from', undefined, MAX_NODE_SET_FILE_BYTES),
    to: readBytes(m['to'], 'to', undefined, MAX_NODE_SET_FILE_BYTES),
  };
}

function readIds(value: unknown, field: string, max: number, min = 0): Uint8Array[] {
  return readArray(value, field, max, min).map((v, i) => readBytes(v, `${field}[${i}]`, ID_BYTES));
}

function readIndex(value: unknown, field: string): number {
  return readUint(value, field, 1, MAX_NODES);
}

function readItem(value: unknown, field: string): DealtItem {
  const m = readMap(value, field, ['content', 'status'], ['manifest', 'record', 'commitments']);
  const status = readLiteral(m['status'], `${field}.status`, DEALT_STATUSES);
  const ok = status === 'ok';
  if (ok !== 'manifest' in m || ok !== 'commitments' in m || (!ok && 'record' in m))
    throw malformed(field, "manifest and commitments exactly when status is 'ok'");
  return {
    contentId: readBytes(m['content'], `${field}.content`, ID_BYTES),
    status,
    ...(ok ? { manifestHash: readBytes(m['manifest'], `${field}.manifest`, ID_BYTES) } : {}),
    ...('record' in m ? { recordHash: readBytes(m['record'], `${field}.record`, ID_BYTES) } : {}),
    ...(ok
      ? {
          commitments: readArray(m['commitments'], `${field}.commitments`, MAX_NODES, 1).map(
            (c, i) => readBytes(c, `${field}.commitments[${i}]`, COMMITMENT_BYTES),
          ),
        }
      : {}),
  };
}

function readDealing(m: CborMap, field: string): Dealing {
  return {
    dealer: readIndex(m['dealer'], `${field}.dealer`),
    items: readArray(m['items'], `${field}.items`, MAX_RESHARE_BATCH).map((v, i) =>
      readItem(v, `${field}.items[${i}]`),
    ),
    sealDigests: readArray(m['seals'], `${field}.seals`, MAX_NODES, 1).map((v, i) =>
      readBytes(v, `${field}.seals[${i}]`, ID_BYTES),
    ),
    signature: readBytes(m['sig'], `${field}.sig`, ED25519_LENGTHS.signature),
  };
}

function dealingToCbor(d: Dealing): Record<string, CborValue> {
  return {
    dealer: d.dealer,
    items: dealtItemsToCbor(d.items),
    seals: [...d.sealDigests],
    sig: d.signature,
  };
}

function readSealedBatch(m: CborMap, field: string): Sealed {
  return {
    enc: readBytes(m['enc'], `${field}.enc`, XWING_LENGTHS.cipherText),
    ciphertext: readBytes(m['ct'], `${field}.ct`, undefined, MAX_SEALED_BATCH_BYTES),
  };
}

function sourceToCbor(s: SharingSource): CborValue {
  return {
    content: s.contentId,
    manifest: s.manifest,
    ...(s.record === undefined ? {} : { record: s.record }),
  };
}

function readSources(value: unknown, field: string): SharingSource[] {
  return readArray(value, field, MAX_RESHARE_BATCH).map((v, i) => {
    const m = readMap(v, `${field}[${i}]`, ['content', 'manifest'], ['record']);
    return {
      contentId: readBytes(m['content'], `${field}[${i}].content`, ID_BYTES),
      manifest: readBytes(
        m['manifest'],
        `${field}[${i}].manifest`,
        undefined,
        MAX_FRAME_BYTES.publish,
      ),
      ...('record' in m
        ? {
            record: readBytes(
              m['record'],
              `${field}[${i}].record`,
              undefined,
              MAX_FRAME_BYTES.publish,
            ),
          }
        : {}),
    };
  });
}

export const reshareListCodec: MessageCodec<ReshareListMessage> = {
  type: 'reshare-list',
  required: [...ENVELOPE, 'after'],
  optional: [],
  encode: (m) => ({ ...envelopeToCbor(m), after: m.after }),
  decode: (m) => {
    const after = readBytes(m['after'], 'after', undefined, ID_BYTES);
    if (after.length !== 0 && after.length !== ID_BYTES)
      throw malformed('after', `0 or ${ID_BYTES} bytes`);
    return { type: 'reshare-list', ...readEnvelope(m), after };
  },
};

export const reshareListOkCodec: MessageCodec<ReshareListOkMessage> = {
  type: 'reshare-list-ok',
  required: ['contents', 'more'],
  optional: [],
  encode: (m) => ({ contents: [...m.contents], more: m.more }),
  decode: (m) => ({
    type: 'reshare-list-ok',
    contents: readIds(m['contents'], 'contents', MAX_RESHARE_LIST),
    more: readBool(m['more'], 'more'),
  }),
};

export const reshareDealCodec: MessageCodec<ReshareDealMessage> = {
  type: 'reshare-deal',
  required: [...ENVELOPE, 'contents'],
  optional: [],
  encode: (m) => ({ ...envelopeToCbor(m), contents: [...m.contents] }),
  decode: (m) => ({
    type: 'reshare-deal',
    ...readEnvelope(m),
    contents: readIds(m['contents'], 'contents', MAX_RESHARE_BATCH, 1),
  }),
};

export const reshareDealtCodec: MessageCodec<ReshareDealtMessage> = {
  type: 'reshare-dealt',
  required: ['dealer', 'items', 'seals', 'sig', 'sealed', 'sources'],
  optional: [],
  encode: (m) => ({
    ...dealingToCbor(m.dealing),
    sealed: m.sealed.map((s) => ({ enc: s.enc, ct: s.ciphertext })),
    sources: m.sources.map(sourceToCbor),
  }),
  decode: (m) => ({
    type: 'reshare-dealt',
    dealing: readDealing(m, 'dealing'),
    sealed: readArray(m['sealed'], 'sealed', MAX_NODES, 1).map((v, i) =>
      readSealedBatch(readMap(v, `sealed[${i}]`, ['enc', 'ct']), `sealed[${i}]`),
    ),
    sources: readSources(m['sources'], 'sources'),
  }),
};

export const reshareCommitCodec: MessageCodec<ReshareCommitMessage> = {
  type: 'reshare-commit',
  required: [...ENVELOPE, 'dealings', 'sources', 'choose'],
  optional: [],
  encode: (m) => ({
    ...envelopeToCbor(m),
    dealings: m.dealings.map((d) => ({
      ...dealingToCbor(d),
      enc: d.sealed.enc,
      ct: d.sealed.ciphertext,
    })),
    sources: m.sources.map(sourceToCbor),
    choose: m.choose.map((c) => ({ content: c.contentId, dealers: [...c.dealers] })),
  }),
  decode: (m) => ({
    type: 'reshare-commit',
    ...readEnvelope(m),
    dealings: readArray(m['dealings'], 'dealings', MAX_NODES, 1).map((v, i) => {
      const field = `dealings[${i}]`;
      const d = readMap(v, field, ['dealer', 'items', 'seals', 'sig', 'enc', 'ct']);
      return { ...readDealing(d, field), sealed: readSealedBatch(d, field) };
    }),
    sources: readSources(m['sources'], 'sources'),
    choose: readArray(m['choose'], 'choose', MAX_RESHARE_BATCH, 1).map((v, i) => {
      const c = readMap(v, `choose[${i}]`, ['content', 'dealers']);
      return {
        contentId: readBytes(c['content'], `choose[${i}].content`, ID_BYTES),
        dealers: readArray(c['dealers'], `choose[${i}].dealers`, MAX_NODES, 1).map((d, k) =>
          readIndex(d, `choose[${i}].dealers[${k}]`),
        ),
      };
    }),
  }),
};

function commitResultToCbor(r: ReshareCommitResult): CborValue {
  switch (r.status) {
    case 'ok':
      return { content: r.contentId, status: 'ok', sig: r.signature };
    case 'blame':
      return {
        content: r.contentId,
        status: 'blame',
        blamed: r.blamed.map((b) => ({ dealer: b.dealer, reason: b.reason })),
      };
    case 'failed':
      return { content: r.contentId, status: 'failed' };
  }
}

function readCommitResult(value: unknown, field: string): ReshareCommitResult {
  const m = readMap(value, field, ['content', 'status'], ['sig', 'blamed']);
  const contentId = readBytes(m['content'], `${field}.content`, ID_BYTES);
  const status = readLiteral(m['status'], `${field}.status`, ['ok', 'blame', 'failed'] as const);
  const expected = status === 'ok' ? ['sig'] : status === 'blame' ? ['blamed'] : [];
  if (Object.keys(m).length !== 2 + expected.length || !expected.every((k) => k in m))
    throw malformed(field, `the fields of status '${status}'`);
  if (status === 'ok')
    return {
      contentId,
      status,
      signature: readBytes(m['sig'], `${field}.sig`, ED25519_LENGTHS.signature),
    };
  if (status === 'failed') return { contentId, status };
  return {
    contentId,
    status,
    blamed: readArray(m['blamed'], `${field}.blamed`, MAX_NODES, 1).map((v, i) => {
      const b = readMap(v, `${field}.blamed[${i}]`, ['dealer', 'reason']);
      return {
        dealer: readIndex(b['dealer'], `${field}.blamed[${i}].dealer`),
        reason: readLiteral(b['reason'], `${field}.blamed[${i}].reason`, BLAME_REASONS),
      };
    }),
  };
}

export const reshareCommittedCodec: MessageCodec<ReshareCommittedMessage> = {
  type: 'reshare-committed',
  required: ['node', 'results'],
  optional: [],
  encode: (m) => ({ node: m.node, results: m.results.map(commitResultToCbor) }),
  decode: (m) => ({
    type: 'reshare-committed',
    node: readIndex(m['node'], 'node'),
    results: readArray(m['results'], 'results', MAX_RESHARE_BATCH).map((v, i) =>
      readCommitResult(v, `results[${i}]`),
    ),
  }),
};

export const reshareRecordCodec: MessageCodec<ReshareRecordMessage> = {
  type: 'reshare-record',
  required: [...ENVELOPE, 'records'],
  optional: [],
  encode: (m) => ({ ...envelopeToCbor(m), records: [...m.records] }),
  decode: (m) => ({
    type: 'reshare-record',
    ...readEnvelope(m),
    records: readArray(m['records'], 'records', MAX_RESHARE_BATCH, 1).map((v, i) =>
      readBytes(v, `records[${i}]`, undefined, MAX_FRAME_BYTES.publish),
    ),
  }),
};

export const reshareRecordOkCodec: MessageCodec<ReshareRecordOkMessage> = {
  type: 'reshare-record-ok',
  required: ['results'],
  optional: [],
  encode: (m) => ({
    results: m.results.map((r) => ({ content: r.contentId, status: r.status })),
  }),
  decode: (m) => ({
    type: 'reshare-record-ok',
    results: readArray(m['results'], 'results', MAX_RESHARE_BATCH).map((v, i) => {
      const r = readMap(v, `results[${i}]`, ['content', 'status']);
      return {
        contentId: readBytes(r['content'], `results[${i}].content`, ID_BYTES),
        status: readLiteral(r['status'], `results[${i}].status`, [
          'held',
          'missing',
          'mismatch',
        ] as const),
      };
    }),
  }),
};

export const reshareStatusCodec: MessageCodec<ReshareStatusMessage> = {
  type: 'reshare-status',
  required: [...ENVELOPE, 'contents'],
  optional: [],
  encode: (m) => ({ ...envelopeToCbor(m), contents: [...m.contents] }),
  decode: (m) => ({
    type: 'reshare-status',
    ...readEnvelope(m),
    contents: readIds(m['contents'], 'contents', MAX_RESHARE_LIST, 1),
  }),
};

export const reshareStatusOkCodec: MessageCodec<ReshareStatusOkMessage> = {
  type: 'reshare-status-ok',
  required: ['held'],
  optional: [],
  encode: (m) => ({ held: [...m.held] }),
  decode: (m) => ({
    type: 'reshare-status-ok',
    held: readArray(m['held'], 'held', MAX_RESHARE_LIST).map((v, i) => {
      const hash = readBytes(v, `held[${i}]`, undefined, ID_BYTES);
      if (hash.length !== 0 && hash.length !== ID_BYTES)
        throw malformed(`held[${i}]`, `0 or ${ID_BYTES} bytes`);
      return hash;
    }),
  }),
};
