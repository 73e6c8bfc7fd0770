// The one template every qkms stream handler follows (STYLE.md, "The
// daemon"; DESIGN.md, "Recover, as a node sees it" step 1):
//   1. stream limits set when the handler is registered;
//   2. node-only protocols refuse a peer outside the node set before reading;
//   3. one deadline for the WHOLE request (slow-loris), one frame read with
//      the cap checked from its length prefix, before any decoding;
//   4. the handler turns the request bytes into answer bytes; a QkmsError
//      whose code is a wire rejection becomes that `reject`, anything else
//      becomes `reject INTERNAL` and an error log — a peer never sees our text;
//   5. the answer is written as one frame and the stream is closed in
//      `finally`; one metrics observation and one log line per request.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import {
  ErrorCode,
  QkmsError,
  SUPPORTED_VERSIONS,
  encodeMessage,
  isQkmsError,
  isTrickled,
  type RejectionCode,
  rejectionCodeOf,
} from '../../protocol/index.ts';
import { addressBlock } from './address-block.ts';
import { MAX_FRAME_CAP_BYTES, readFrame, writeFrame } from './frame.ts';
import type { Host } from './host.ts';
import type { LogContext, NetLogger } from './net-logger.ts';
import { assertKnownKeys, positiveInt } from './validate.ts';

/** A peer that does not take its answer holds the stream no longer than this. */
export const REPLY_DEADLINE_MS = 5_000;

/** Longest read deadline a spec may set: a request is one small frame, not a transfer. */
const MAX_READ_DEADLINE_MS = 60_000;

/** Most streams per connection a spec may allow for one protocol (yamux's own cap is above it). */
const MAX_STREAMS_PER_PROTOCOL = 1_024;

/**
 * How one request ended, for metrics and logs (a closed union, so it can be
 * a label): `ok` — the handler answered; a rejection code — that `reject` was
 * the answer; `refused` — the peer may not use this protocol and the stream
 * was reset unread; `aborted` — the stream failed or the node shut down
 * before an answer was decided.
 */
export type RequestOutcome = 'ok' | RejectionCode | 'refused' | 'aborted';

export interface RequestContext {
  /** PeerId text of the peer, authenticated by the Noise handshake. */
  readonly remotePeer: string;
  /**
   * The source-address block of the connection (address-block.ts): what
   * per-source limits key on, since a PeerId costs nothing to make.
   */
  readonly remoteBlock: string;
  /** Aborts when the stream closes under the request or the node shuts down. */
  readonly signal: AbortSignal;
}

export interface HandlerSpec {
  /** libp2p protocol id, e.g. `/qkms/recover/1`. */
  readonly protocol: string;
  /** Cap on the request frame's body, checked from its length prefix. */
  readonly maxFrameBytes: number;
  /** Deadline to receive the whole request, from the stream's negotiation. */
  readonly readDeadlineMs: number;
  /** Concurrent inbound streams of this protocol per connection; libp2p resets the rest. */
  readonly maxInboundStreams: number;
  /** If given, a stream from a peer this refuses is reset before one byte is read. */
  readonly admit?: (remotePeer: PeerId) => boolean;
  /** Log answered requests at debug, not info (periodic node-to-node traffic). Failures stay errors. */
  readonly quiet?: boolean;
  /**
   * Turns the request frame's bytes into the answer's bytes. Throw a
   * QkmsError with a rejection code to answer `reject` with that code.
   */
  handle(request: Uint8Array, ctx: RequestContext): Promise<Uint8Array>;
}

export interface HandlerDeps {
  readonly log: NetLogger;
  /** One observation per request: the daemon's metrics (a histogram by protocol and outcome). */
  readonly onRequest?: (protocol: string, outcome: RequestOutcome, seconds: number) => void;
  /** The daemon's root signal: aborts reads and in-flight handlers at shutdown. */
  readonly signal?: AbortSignal;
  /** Monotonic clock in ms (injected so tests are deterministic); performance.now by default. */
  readonly now?: () => number;
}

const SPEC_KEYS = [
  'protocol',
  'maxFrameBytes',
  'readDeadlineMs',
  'maxInboundStreams',
  'admit',
  'quiet',
  'handle',
] as const;
const DEPS_KEYS = ['log', 'onRequest', 'signal', 'now'] as const;

/** The encoded `reject` for `code`; UNSUPPORTED_VERSION names the versions this node speaks. */
export function encodeReject(code: RejectionCode): Uint8Array {
  return encodeMessage(
    code === ErrorCode.UNSUPPORTED_VERSION
      ? { type: 'reject', code, versions: SUPPORTED_VERSIONS }
      : { type: 'reject', code },
  );
}

/** The rejection a failed read earns, or undefined if no answer can or should be sent. */
function readFailure(e: unknown, deadline: AbortSignal): RejectionCode | undefined {
  if (isQkmsError(e) && (e.code === ErrorCode.TOO_LARGE || e.code === ErrorCode.MALFORMED))
    return e.code;
  if (deadline.aborted) return ErrorCode.TIMEOUT;
  return undefined;
}

/** Writes the answer and closes our end; true if it was handed to the transport. */
async function answer(stream: Stream, bytes: Uint8Array): Promise<boolean> {
  if (stream.status !== 'open' || stream.writeStatus !== 'writable') return false;
  const signal = AbortSignal.timeout(REPLY_DEADLINE_MS);
  try {
    await writeFrame(stream, bytes, signal);
    await stream.close({ signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Our answer is with the transport (or will never be sent): a stream the
 * remote has not closed yet is reset, so a peer cannot keep it counted
 * against maxInboundStreams by never closing its end.
 */
function release(stream: Stream): void {
  if (stream.status === 'open' || stream.status === 'closing')
    stream.abort(new Error('request finished'));
}

/**
 * Closes a connection whose peer trickled a frame (protocol/codec/frame.ts
 * isTrickled): every stream on it goes, and the chunks already in flight are
 * never decrypted. Honest peers write a frame in one go and never meet this.
 */
export function abortConnection(connection: Connection, log: NetLogger, peer: string): void {
  log.info('connection closed: a frame trickled in too many pieces', { peer });
  connection.abort(new Error('frame trickled in too many pieces'));
}

function errorContext(e: unknown): LogContext {
  if (isQkmsError(e)) return { err: e.name, code: e.code, reason: e.message };
  if (e instanceof Error) return { err: e.name, reason: e.message };
  return { err: typeof e };
}

function checkSpec(spec: HandlerSpec): void {
  assertKnownKeys(spec, SPEC_KEYS, 'handler spec');
  if (typeof spec.protocol !== 'string' || !spec.protocol.startsWith('/'))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'handler spec: protocol must start with /');
  positiveInt(spec.maxFrameBytes, 'handler spec: maxFrameBytes', MAX_FRAME_CAP_BYTES);
  positiveInt(spec.readDeadlineMs, 'handler spec: readDeadlineMs', MAX_READ_DEADLINE_MS);
  positiveInt(spec.maxInboundStreams, 'handler spec: maxInboundStreams', MAX_STREAMS_PER_PROTOCOL);
  if (spec.admit !== undefined && typeof spec.admit !== 'function')
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'handler spec: admit must be a function');
  if (typeof spec.handle !== 'function')
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'handler spec: handle must be a function');
}

/** Registers `spec.protocol` on `libp2p` behind the template above. */
export async function registerHandler(
  libp2p: Libp2p,
  spec: HandlerSpec,
  deps: HandlerDeps,
): Promise<void> {
  checkSpec(spec);
  assertKnownKeys(deps, DEPS_KEYS, 'handler deps');
  const { log, onRequest, signal: rootSignal } = deps;
  const now = deps.now ?? (() => performance.now());

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const started = now();
    const peer = connection.remotePeer.toString();
    let outcome: RequestOutcome = 'aborted';
    let delivered = false;
    let failure: LogContext = {};
    const work = new AbortController();
    const stopWork = (): void => {
      work.abort(new Error('stream closed'));
    };
    stream.addEventListener('close', stopWork);
    const workSignal =
      rootSignal === undefined ? work.signal : AbortSignal.any([work.signal, rootSignal]);
    try {
      if (spec.admit !== undefined && !spec.admit(connection.remotePeer)) {
        outcome = 'refused';
        return;
      }
      const deadline = AbortSignal.timeout(spec.readDeadlineMs);
      let request: Uint8Array;
      try {
        request = await readFrame(
          stream,
          spec.maxFrameBytes,
          AbortSignal.any([deadline, workSignal]),
        );
      } catch (e) {
        const code = readFailure(e, deadline);
        if (isTrickled(e)) {
          // Its chunks still in flight would cost the transport as much: the connection goes.
          outcome = ErrorCode.MALFORMED;
          abortConnection(connection, log, peer);
          return;
        }
        if (code !== undefined) {
          outcome = code;
          delivered = await answer(stream, encodeReject(code));
        }
        return;
      }
      let reply: Uint8Array;
      try {
        reply = await spec.handle(request, {
          remotePeer: peer,
          remoteBlock: addressBlock(connection.remoteAddr),
          signal: workSignal,
        });
        outcome = 'ok';
      } catch (e) {
        if (workSignal.aborted) return; // nobody left to answer, or shutting down
        const code = rejectionCodeOf(e);
        if (code === ErrorCode.INTERNAL) failure = errorContext(e);
        outcome = code;
        reply = encodeReject(code);
      }
      delivered = await answer(stream, reply);
    } finally {
      stream.removeEventListener('close', stopWork);
      release(stream);
      const seconds = (now() - started) / 1000;
      onRequest?.(spec.protocol, outcome, seconds);
      const ctx: LogContext = {
        protocol: spec.protocol,
        peer,
        outcome,
        delivered,
        ms: Math.round(seconds * 1000),
        ...failure,
      };
      if (outcome === ErrorCode.INTERNAL) log.error('request failed', ctx);
      else if (spec.quiet === true) log.debug('request', ctx);
      else log.info('request', ctx);
    }
  };

  await libp2p.handle(spec.protocol, serve, {
    maxInboundStreams: spec.maxInboundStreams,
    // The node answers on these protocols; it opens them only for node-to-node calls.
    maxOutboundStreams: spec.maxInboundStreams,
  });
}

/** registerHandler for a node-to-node protocol: only PeerIds of the node set may use it. */
export async function registerNodeOnly(
  host: Host,
  spec: Omit<HandlerSpec, 'admit'>,
  deps: HandlerDeps,
): Promise<void> {
  await registerHandler(
    host.libp2p,
    {
      protocol: spec.protocol,
      maxFrameBytes: spec.maxFrameBytes,
      readDeadlineMs: spec.readDeadlineMs,
      maxInboundStreams: spec.maxInboundStreams,
      admit: (peer) => host.isNodeSetPeer(peer),
      ...(spec.quiet === undefined ? {} : { quiet: spec.quiet }),
      handle: (request, ctx) => spec.handle(request, ctx),
    },
    deps,
  );
}
