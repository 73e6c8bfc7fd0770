// The one template every qkms stream handler follows (STYLE.md, "The
// daemon"; DESIGN.md, "Recover, as a node sees it" step 1):
//   1. stream limits set when the handler is registered;
//   2. node-only protocols refuse a peer outside the node set before reading;
//   3. one deadline for the WHOLE request (slow-loris), one frame read with
//      the cap checked from its length prefix, before any decoding;
//   4. the handler, error mapping, metrics and log line of request.ts, the
//      same as a request on the channel (channel.ts);
//   5. the answer is written as one frame and the stream is closed in
//      `finally`.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import {
  ErrorCode,
  QkmsError,
  isQkmsError,
  isTrickled,
  type RejectionCode,
} from '../../protocol/internal.ts';
import { addressBlock } from './address-block.ts';
import { MAX_FRAME_CAP_BYTES, readFrame, writeFrame } from './frame.ts';
import type { Host } from './host.ts';
import type { NetLogger } from './net-logger.ts';
import {
  RequestRun,
  checkDeps,
  checkLimits,
  MAX_STREAMS_PER_PROTOCOL,
  type HandlerDeps,
  type RequestContext,
  type RequestHandler,
} from './request.ts';
import { assertKnownKeys, positiveInt } from './validate.ts';

export {
  encodeReject,
  type HandlerDeps,
  type RequestContext,
  type RequestOutcome,
} from './request.ts';

/** A peer that does not take its answer holds the stream no longer than this. */
export const REPLY_DEADLINE_MS = 5_000;

export interface HandlerSpec {
  /** libp2p protocol id, e.g. `/qkms/recover/1`. */
  readonly protocol: string;
  /** Cap on the request frame's body, checked from its length prefix. */
  readonly maxFrameBytes: number;
  /** Deadline to receive the whole request, from the stream's negotiation. */
  readonly readDeadlineMs: number;
  /** Concurrent inbound streams of this protocol per connection; libp2p resets the rest. */
  readonly maxInboundStreams: number;
  /** Concurrent outbound streams of it per connection (node-to-node calls); maxInboundStreams by default. */
  readonly maxOutboundStreams?: number;
  /** If given, a stream from a peer this refuses is reset before one byte is read. */
  readonly admit?: (remotePeer: PeerId) => boolean;
  /** Turns the request frame's bytes into the answer's bytes (request.ts). */
  readonly handle: RequestHandler;
}

const SPEC_KEYS = [
  'protocol',
  'maxFrameBytes',
  'readDeadlineMs',
  'maxInboundStreams',
  'maxOutboundStreams',
  'admit',
  'handle',
] as const;

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

function checkSpec(spec: HandlerSpec): void {
  assertKnownKeys(spec, SPEC_KEYS, 'handler spec');
  if (typeof spec.protocol !== 'string' || !spec.protocol.startsWith('/'))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'handler spec: protocol must start with /');
  positiveInt(spec.maxFrameBytes, 'handler spec: maxFrameBytes', MAX_FRAME_CAP_BYTES);
  checkLimits('handler spec', spec);
  if (spec.maxOutboundStreams !== undefined)
    positiveInt(
      spec.maxOutboundStreams,
      'handler spec: maxOutboundStreams',
      MAX_STREAMS_PER_PROTOCOL,
    );
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
  checkDeps(deps);
  const { log, signal: rootSignal } = deps;

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString();
    const run = new RequestRun(deps, {
      protocol: spec.protocol,
      peer,
    });
    const work = new AbortController();
    const stopWork = (): void => {
      work.abort(new Error('stream closed'));
    };
    stream.addEventListener('close', stopWork);
    const workSignal =
      rootSignal === undefined ? work.signal : AbortSignal.any([work.signal, rootSignal]);
    try {
      if (spec.admit !== undefined && !spec.admit(connection.remotePeer)) {
        run.refuse();
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
        if (isTrickled(e)) {
          // Its chunks still in flight would cost the transport as much: the connection goes.
          run.reject(ErrorCode.MALFORMED);
          abortConnection(connection, log, peer);
          return;
        }
        const code = readFailure(e, deadline);
        if (code !== undefined) run.delivered = await answer(stream, run.reject(code));
        return;
      }
      const ctx: RequestContext = {
        remotePeer: peer,
        remoteBlock: addressBlock(connection.remoteAddr),
        signal: workSignal,
      };
      const reply = await run.answer(spec.handle, request, ctx);
      if (reply !== undefined) run.delivered = await answer(stream, reply);
    } finally {
      stream.removeEventListener('close', stopWork);
      release(stream);
      run.end();
    }
  };

  await libp2p.handle(spec.protocol, serve, {
    maxInboundStreams: spec.maxInboundStreams,
    // The node answers on these protocols; it opens them only for node-to-node calls.
    maxOutboundStreams: spec.maxOutboundStreams ?? spec.maxInboundStreams,
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
      ...(spec.maxOutboundStreams === undefined
        ? {}
        : { maxOutboundStreams: spec.maxOutboundStreams }),
      admit: (peer) => host.isNodeSetPeer(peer),
      handle: (request, ctx) => spec.handle(request, ctx),
    },
    deps,
  );
}
