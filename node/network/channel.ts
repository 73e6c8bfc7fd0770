// The node's side of the request channel (protocol/codec/channel.ts): one
// long-lived stream per client connection carrying many requests, each
// answered by id, in whatever order they finish. Every request goes through
// the same handler, admission control and metrics as on its own stream
// (stream.ts); what changes is only the transport around it.
//
// Limits: a frame that has begun must be complete within readDeadlineMs,
// counted from its first byte however its bytes are spread (or the stream is
// reset: slow-loris); at most maxInFlight requests of one channel run at
// once, the rest are answered BUSY at once. Caps: a length prefix over
// MAX_CHANNEL_FRAME_BYTES (the largest kind's cap) resets the stream from the
// prefix alone; a request over its own kind's cap (MAX_FRAME_BYTES[kind]) is
// refused once its prefix, kind and id have arrived — answered TOO_LARGE by
// id (MALFORMED for an unknown kind), its body skipped as it arrives and
// never buffered, and the channel goes on. Reassembly is linear in the bytes
// received (FrameSplitter), however small the chunks.
import type { Connection, Stream } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import {
  CHANNEL_KINDS,
  CHANNEL_PROTOCOL,
  ErrorCode,
  FrameSplitter,
  METHODS,
  QkmsError,
  MAX_CHANNEL_FRAME_BYTES,
  channelRequestGate,
  decodeChannelRequest,
  encodeChannelAnswer,
  encodeFrame,
  isQkmsError,
  isTrickled,
  lazyWindowUpdates,
  type ChannelKind,
  type RejectionCode,
} from '../../protocol/internal.ts';
import { addressBlock } from './address-block.ts';
import {
  MAX_STREAMS_PER_PROTOCOL,
  RequestRun,
  checkDeps,
  checkLimits,
  type HandlerDeps,
  type RequestHandler,
} from './request.ts';
import { abortConnection } from './stream.ts';
import { assertKnownKeys, positiveInt } from './validate.ts';

export interface ChannelSpec {
  /** A frame that has begun must be complete within this (slow-loris bound). */
  readonly readDeadlineMs: number;
  /** Requests of one channel handled at once; beyond, BUSY at once. */
  readonly maxInFlight: number;
  /** Channels per connection. */
  readonly maxInboundStreams: number;
  /** The handler of each request kind the channel carries (the same as their own protocols'). */
  readonly handlers: Readonly<Partial<Record<ChannelKind, RequestHandler>>>;
}

const SPEC_KEYS = ['readDeadlineMs', 'maxInFlight', 'maxInboundStreams', 'handlers'] as const;

/** The same checks as a stream handler's (stream.ts checkSpec), plus the channel's own. */
function checkSpec(spec: ChannelSpec): void {
  assertKnownKeys(spec, SPEC_KEYS, 'channel spec');
  checkLimits('channel spec', spec);
  positiveInt(spec.maxInFlight, 'channel spec: maxInFlight', MAX_STREAMS_PER_PROTOCOL);
  assertKnownKeys(spec.handlers, CHANNEL_KINDS, 'channel spec: handlers');
  for (const [kind, handler] of Object.entries(spec.handlers))
    if (typeof handler !== 'function')
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        `channel spec: handlers.${kind} must be a function`,
      );
}

/** The handler for a kind the node does not serve here: MALFORMED, as for an unknown kind. */
function noHandler(kind: ChannelKind): RequestHandler {
  return () => Promise.reject(new QkmsError(ErrorCode.MALFORMED, `channel: no ${kind} here`));
}

export async function registerChannel(
  libp2p: Libp2p,
  spec: ChannelSpec,
  deps: HandlerDeps,
): Promise<void> {
  checkSpec(spec);
  checkDeps(deps);
  const { log, signal: rootSignal } = deps;

  const serve = (stream: Stream, connection: Connection): void => {
    lazyWindowUpdates(stream); // a window update per request would be a packet per request
    const peer = connection.remotePeer.toString();
    const work = new AbortController();
    const workSignal =
      rootSignal === undefined ? work.signal : AbortSignal.any([work.signal, rootSignal]);
    const running = new Set<Promise<void>>();
    /** Answers handed to write() and not yet handed to the transport. */
    let queued = 0;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    let writing: Promise<void> = Promise.resolve();

    const reset = (reason: string): void => {
      clearTimeout(deadline);
      work.abort(new Error(reason));
      if (stream.status === 'open' || stream.status === 'closing') stream.abort(new Error(reason));
    };
    /**
     * Queues an answer; resolves once it is handed to the transport (true) or
     * can never be (false). Never rejects.
     */
    const write = (id: number, bytes: Uint8Array): Promise<boolean> => {
      const frame = encodeFrame(encodeChannelAnswer(id, bytes));
      // Answers pile up only when the client does not read: past a bound, drop it.
      if (queued >= 2 * spec.maxInFlight) {
        reset('answers not read');
        return Promise.resolve(false);
      }
      queued += 1;
      const written = writing
        .then(async () => {
          if (stream.status !== 'open' || stream.writeStatus !== 'writable') return false;
          if (!stream.send(frame)) await stream.onDrain({ signal: workSignal });
          return true;
        })
        .catch(() => false) // the stream went away: nobody to answer
        .finally(() => {
          queued -= 1;
        });
      writing = written.then(() => undefined);
      return written;
    };
    const labels = (protocol: string): { protocol: string; peer: string; channel: true } => ({
      protocol,
      peer,
      channel: true,
    });
    const handle = async (kind: ChannelKind, id: number, message: Uint8Array): Promise<void> => {
      const run = new RequestRun(deps, labels(METHODS[kind].protocol));
      try {
        const reply = await run.answer(spec.handlers[kind] ?? noHandler(kind), message, {
          remotePeer: peer,
          remoteBlock: addressBlock(connection.remoteAddr),
          signal: workSignal,
        });
        // Counted as running until its answer is written: a client that never
        // reads cannot make the node queue answers without bound.
        if (reply !== undefined) run.delivered = await write(id, reply);
      } finally {
        run.end();
      }
    };
    /** A request answered `reject` at once, before any handler: still one observation and log line. */
    const refuse = (protocol: string, id: number, code: RejectionCode): void => {
      const run = new RequestRun(deps, labels(protocol));
      void write(id, run.reject(code))
        .then((delivered) => {
          run.delivered = delivered;
        })
        .finally(() => {
          run.end();
        });
    };
    // Refused from its head, before its message is kept: five bytes in, the id
    // is known, so answering by id costs nothing and the channel goes on.
    const frames = new FrameSplitter(
      MAX_CHANNEL_FRAME_BYTES,
      channelRequestGate((kind, id) => {
        refuse(
          CHANNEL_PROTOCOL,
          id,
          kind === undefined ? ErrorCode.MALFORMED : ErrorCode.TOO_LARGE,
        );
      }),
    );
    /** What `frames.begun` was when the deadline was set: the frame it times. */
    let timedFrame = 0;
    const onFrame = (body: Uint8Array): void => {
      let request: ReturnType<typeof decodeChannelRequest>;
      try {
        request = decodeChannelRequest(body);
      } catch (e) {
        // An id is readable whenever the header is: answer it; otherwise the stream is broken.
        // (A message over its kind's cap never gets here: the gate refused it from its head.)
        const code = isQkmsError(e, ErrorCode.TOO_LARGE)
          ? ErrorCode.TOO_LARGE
          : ErrorCode.MALFORMED;
        if (body.length >= 5) {
          const id = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
          refuse(CHANNEL_PROTOCOL, id, code);
        } else reset('malformed channel frame');
        return;
      }
      if (running.size >= spec.maxInFlight) {
        refuse(METHODS[request.kind].protocol, request.id, ErrorCode.BUSY);
        return;
      }
      const task = handle(request.kind, request.id, request.message).finally(() => {
        running.delete(task);
      });
      running.add(task);
    };

    stream.addEventListener('message', (event) => {
      let bodies: Uint8Array[];
      try {
        bodies = frames.push(event.data.subarray());
      } catch (e) {
        reset('bad channel frame');
        // A trickle's chunks already in flight cost the transport as much as the ones read:
        // the whole connection goes (frame.ts isTrickled).
        if (isTrickled(e)) abortConnection(connection, log, peer);
        return;
      }
      for (const body of bodies) onFrame(body);
      // The deadline runs from the chunk that began the frame in progress: a
      // chunk that only continues it must not restart the clock (a byte at a
      // time would); one that ends it (kept or refused) and begins another does.
      if (!frames.partial || frames.begun !== timedFrame) {
        clearTimeout(deadline);
        deadline = undefined;
      }
      if (frames.partial && deadline === undefined) {
        timedFrame = frames.begun;
        deadline = setTimeout(() => {
          log.info('channel reset: frame not completed in time', { peer });
          reset('read deadline');
        }, spec.readDeadlineMs);
      }
    });
    stream.addEventListener('remoteCloseWrite', () => {
      // The client is done sending: answer what is in flight, then close our side.
      void Promise.allSettled(running).then(async () => {
        await writing;
        if (stream.status === 'open') await stream.close().catch(() => undefined);
      });
    });
    stream.addEventListener('close', () => {
      clearTimeout(deadline);
      work.abort(new Error('channel closed'));
    });
  };

  await libp2p.handle(CHANNEL_PROTOCOL, serve, {
    maxInboundStreams: spec.maxInboundStreams,
    maxOutboundStreams: METHODS.channel.streams.outbound,
  });
}
