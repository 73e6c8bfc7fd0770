// The method table (docs/protocol.md §1 and §1b): every libp2p protocol a
// node serves, with the limits both ends apply to it — its id, who may open
// it, the request cap, the answer cap, which message types each request may
// be answered with, the answer deadline and the stream limits. Client ids and
// caps, the node's registration, its metric labels, the channel's kinds and
// caps, and revocation sync all read this one table (Lodestar keeps its
// per-method req/resp limits the same way): a new method without limits does
// not compile (`satisfies Record<Method, MethodSpec>`).
//
// Message types are named here as strings; protocol/methods.test.ts checks
// each one against the message registry's MessageType.
import { MAX_FRAME_BYTES } from './constants.ts';

/** Every method a node serves, by name. */
export const METHOD_NAMES = [
  'recover',
  'publish',
  'info',
  'revoke',
  'revsync',
  'reshare',
  'channel',
] as const;
export type Method = (typeof METHOD_NAMES)[number];

/**
 * The longest a caller waits for one answer, from sending its request, when it
 * sets no deadline of its own. A recover costs a node ~1 ms of CPU and a
 * revsync batch a few: an answer 10 s late comes from a stalled node, not a slow one.
 */
export const ANSWER_DEADLINE_MS = 10_000;

/**
 * Streams of one method a connection may hold at once. `option`: the
 * operator's `maxStreamsPerProtocol` (node/options.ts, 32 by default).
 */
export interface StreamLimits {
  readonly inbound: number | 'option';
  readonly outbound: number | 'option';
}

export interface MethodSpec {
  /** libp2p protocol id. */
  readonly protocol: `/qkms/${string}/${number}`;
  /** Who may open it: `node-set` streams from any other PeerId are reset unread. */
  readonly audience: 'anyone' | 'node-set';
  /** Cap on one request message, checked from its length prefix before a byte of it is kept. */
  readonly maxRequestBytes: number;
  /** Cap on one answer message; the caller refuses a longer one from its prefix. */
  readonly maxReplyBytes: number;
  /** Each request message type, and the message types its answer may be (`reject` always among them). */
  readonly exchanges: Readonly<Record<string, readonly string[]>>;
  /** ANSWER_DEADLINE_MS or a method's own. */
  readonly answerDeadlineMs: number;
  readonly streams: StreamLimits;
  /** For a carrier (the channel): the methods whose requests it carries, in wire-code order (code = position + 1). */
  readonly carries?: readonly Method[];
}

/** The largest request of the methods the channel carries (publish's and revoke's 64 KiB). */
const CHANNEL_MESSAGE_BYTES = Math.max(
  MAX_FRAME_BYTES.recover,
  MAX_FRAME_BYTES.publish,
  MAX_FRAME_BYTES.info,
  MAX_FRAME_BYTES.revoke,
);

/** The per-request protocols: one request and one answer per stream. */
const PER_STREAM: StreamLimits = { inbound: 'option', outbound: 'option' };

/**
 * Answers are smaller than requests (a sealed share ~1.2 KiB, a receipt
 * ~200 bytes, a page of revocation records at most the request cap), so
 * each method's request cap bounds its answers too.
 */
export const METHODS = {
  recover: {
    protocol: '/qkms/recover/1',
    audience: 'anyone',
    maxRequestBytes: MAX_FRAME_BYTES.recover,
    // A share of redistributed content carries its sharing record (t' commitments and
    // attestations, ~27 KiB at 255 nodes): the answer may be larger than the request.
    maxReplyBytes: MAX_FRAME_BYTES.publish,
    exchanges: { recover: ['share', 'reject'] },
    answerDeadlineMs: ANSWER_DEADLINE_MS,
    streams: PER_STREAM,
  },
  publish: {
    protocol: '/qkms/publish/1',
    audience: 'anyone',
    maxRequestBytes: MAX_FRAME_BYTES.publish,
    maxReplyBytes: MAX_FRAME_BYTES.publish,
    exchanges: { publish: ['receipt', 'reject'] },
    answerDeadlineMs: ANSWER_DEADLINE_MS,
    streams: PER_STREAM,
  },
  info: {
    protocol: '/qkms/info/1',
    audience: 'anyone',
    maxRequestBytes: MAX_FRAME_BYTES.info,
    maxReplyBytes: MAX_FRAME_BYTES.info,
    exchanges: {
      info: ['info-ok', 'reject'],
      'audit-witness': ['audit-witness-ok', 'reject'],
    },
    answerDeadlineMs: ANSWER_DEADLINE_MS,
    streams: PER_STREAM,
  },
  revoke: {
    protocol: '/qkms/revoke/1',
    audience: 'anyone',
    maxRequestBytes: MAX_FRAME_BYTES.revoke,
    maxReplyBytes: MAX_FRAME_BYTES.revoke,
    exchanges: {
      revoke: ['revoke-ok', 'reject'],
      revocations: ['revocations-ok', 'reject'],
    },
    answerDeadlineMs: ANSWER_DEADLINE_MS,
    streams: PER_STREAM,
  },
  revsync: {
    protocol: '/qkms/revsync/1',
    audience: 'node-set',
    maxRequestBytes: MAX_FRAME_BYTES.revsync,
    maxReplyBytes: MAX_FRAME_BYTES.revsync,
    exchanges: {
      'revsync-digest': ['revsync-digest-ok', 'reject'],
      'revsync-fetch': ['revsync-records', 'reject'],
      'revsync-push': ['revsync-push-ok', 'reject'],
      'audit-head': ['audit-head-ok', 'reject'],
    },
    answerDeadlineMs: ANSWER_DEADLINE_MS,
    streams: PER_STREAM,
  },
  /**
   * A handover between node sets (§7d): an admin's coordinator, authorised by
   * its ticket. Few streams: a batch is large and a coordinator sends one at a time.
   */
  reshare: {
    protocol: '/qkms/reshare/1',
    audience: 'anyone',
    maxRequestBytes: MAX_FRAME_BYTES.reshare,
    maxReplyBytes: MAX_FRAME_BYTES.reshare,
    exchanges: {
      'reshare-list': ['reshare-list-ok', 'reject'],
      'reshare-deal': ['reshare-dealt', 'reject'],
      'reshare-commit': ['reshare-committed', 'reject'],
      'reshare-record': ['reshare-record-ok', 'reject'],
      'reshare-status': ['reshare-status-ok', 'reject'],
      'reshare-cutover': ['reshare-cutover-ok', 'reject'],
      'node-set': ['node-set-ok', 'reject'],
    },
    answerDeadlineMs: 60_000,
    streams: { inbound: 2, outbound: 2 },
  },
  /**
   * Many requests of the carried methods on one long-lived stream per
   * connection (§1b); each request keeps its own method's caps and answers.
   * A client opens one; a node allows a few, and runs at most `option`
   * requests of one at once.
   */
  channel: {
    protocol: '/qkms/channel/1',
    audience: 'anyone',
    maxRequestBytes: CHANNEL_MESSAGE_BYTES,
    maxReplyBytes: CHANNEL_MESSAGE_BYTES,
    exchanges: {},
    answerDeadlineMs: ANSWER_DEADLINE_MS,
    streams: { inbound: 4, outbound: 1 },
    carries: ['recover', 'publish', 'info', 'revoke'],
  },
} as const satisfies Record<Method, MethodSpec>;

/** The request message types of `method`. */
export type RequestTypeOf<M extends Method> = keyof (typeof METHODS)[M]['exchanges'] & string;

/** The request message types `method` takes, for decoding a request against them. */
export function requestTypesOf<M extends Method>(method: M): readonly RequestTypeOf<M>[] {
  return Object.keys(METHODS[method].exchanges) as RequestTypeOf<M>[];
}

const BY_PROTOCOL: ReadonlyMap<string, Method> = new Map(
  METHOD_NAMES.map((m) => [METHODS[m].protocol, m]),
);

/** The method a libp2p protocol id names, or undefined for one outside the table. */
export function methodOfProtocol(protocol: string): Method | undefined {
  return BY_PROTOCOL.get(protocol);
}
