// The client's side of the request channel (protocol/codec/channel.ts): one
// long-lived stream per pooled connection carrying every request to that
// node, each answer paired with its request by id. Opening a stream per
// request costs both ends ~0.9 ms of CPU; a frame on an open stream ~0.25 ms.
//
// A request whose signal aborts is forgotten (its answer, if it comes, is
// dropped unread: its bytes are skipped, never buffered). If the stream
// closes or is reset, every request on it fails like a reset stream: a
// transport fault the recover path retries once on a fresh connection.
//
// What a lying or broken node can do to a client here is bounded: an answer
// over its request's maxReplyBytes fails that request TOO_LARGE as soon as
// its id is read, before its message is kept (a length prefix over
// MAX_CHANNEL_FRAME_BYTES fails the channel from the prefix alone);
// reassembly is linear in the bytes received, however small the chunks
// (FrameSplitter); and an answer frame that has begun must be complete
// within ANSWER_READ_DEADLINE_MS, or the channel fails with TIMEOUT — a
// transport fault, so recover retries on a fresh connection or routes around
// the node.
import type { Connection, Stream } from '@libp2p/interface';
import {
  CHANNEL_PROTOCOL,
  ErrorCode,
  FrameSplitter,
  MAX_CHANNEL_FRAME_BYTES,
  MAX_CHANNEL_ID,
  QkmsError,
  channelAnswerGate,
  decodeChannelAnswer,
  encodeChannelRequest,
  encodeFrame,
  lazyWindowUpdates,
  type ChannelKind,
} from '../protocol/internal.ts';

/**
 * An answer frame that has begun must be complete within this, ms. A node
 * writes an answer (a sealed share ~1.2 KiB, at most 64 KiB) in one go: 5 s,
 * the node's own default for a whole request, covers slow links.
 */
export const ANSWER_READ_DEADLINE_MS = 5_000;

export interface ChannelOptions {
  /** ANSWER_READ_DEADLINE_MS by default (tests shorten it). */
  readonly readDeadlineMs?: number;
}

interface Pending {
  readonly maxReplyBytes: number;
  readonly resolve: (message: Uint8Array) => void;
  readonly reject: (e: unknown) => void;
}

export class Channel {
  readonly #stream: Stream;
  readonly #pending = new Map<number, Pending>();
  /** Each answer's cap is its request's maxReplyBytes, judged from its id (FrameGate). */
  readonly #frames = new FrameSplitter(
    MAX_CHANNEL_FRAME_BYTES,
    channelAnswerGate(
      (id) => this.#pending.get(id)?.maxReplyBytes,
      (id) => {
        const pending = this.#pending.get(id);
        if (pending === undefined) return; // a request given up on: its answer is skipped
        this.#pending.delete(id);
        pending.reject(new QkmsError(ErrorCode.TOO_LARGE, 'channel: answer exceeds its cap'));
      },
    ),
  );
  readonly #readDeadlineMs: number;
  /** Runs while an answer frame is partial, from its first byte. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** What `#frames.begun` was when the deadline was set: the frame it times. */
  #timedFrame = 0;
  #nextId = 0;
  #failure: Error | undefined;

  private constructor(stream: Stream, options: ChannelOptions) {
    this.#stream = stream;
    this.#readDeadlineMs = options.readDeadlineMs ?? ANSWER_READ_DEADLINE_MS;
    stream.addEventListener('message', (event) => {
      try {
        for (const body of this.#frames.push(event.data.subarray())) this.#answer(body);
      } catch (e) {
        this.#abort(e instanceof Error ? e : new Error('bad channel frame'));
        return;
      }
      this.#watch();
    });
    stream.addEventListener('close', (event) => {
      this.#fail(event.error ?? new Error('channel closed'));
    });
    stream.addEventListener('remoteCloseWrite', () => {
      this.#fail(new Error('channel closed by the node'));
    });
  }

  /** Opens a channel on `connection`; the protocol is negotiated with the first request. */
  static async open(
    connection: Connection,
    signal: AbortSignal,
    options: ChannelOptions = {},
  ): Promise<Channel> {
    const { readDeadlineMs } = options;
    if (
      readDeadlineMs !== undefined &&
      !(Number.isSafeInteger(readDeadlineMs) && readDeadlineMs > 0)
    )
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        'channel: readDeadlineMs must be a positive integer',
      );
    const stream = await connection.newStream(CHANNEL_PROTOCOL, { signal, negotiateFully: false });
    lazyWindowUpdates(stream); // a window update per answer would be a packet per answer
    return new Channel(stream, options);
  }

  /** False once the stream failed or closed: the pool opens another. */
  get usable(): boolean {
    return this.#failure === undefined && this.#stream.status === 'open';
  }

  /** Sends one request; resolves with the answer's message bytes. */
  async request(
    kind: ChannelKind,
    message: Uint8Array,
    options: { readonly signal: AbortSignal; readonly maxReplyBytes: number },
  ): Promise<Uint8Array> {
    const { signal, maxReplyBytes } = options;
    signal.throwIfAborted();
    if (this.#failure !== undefined) throw this.#failure;
    const id = this.#nextId;
    this.#nextId = this.#nextId === MAX_CHANNEL_ID ? 0 : this.#nextId + 1;
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
    // An abort or a failure while the send waits for drain rejects this before
    // anyone awaits it (the drain's own rejection is what the caller sees).
    promise.catch(() => undefined);
    this.#pending.set(id, { maxReplyBytes, resolve, reject });
    const onAbort = (): void => {
      this.#pending.delete(id);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort);
    try {
      if (!this.#stream.send(encodeFrame(encodeChannelRequest(kind, id, message))))
        await this.#stream.onDrain({ signal });
      return await promise;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#pending.delete(id);
    }
  }

  /** Closes the stream (pending requests fail). */
  close(): void {
    this.#fail(new Error('channel closed'));
    if (this.#stream.status === 'open') this.#stream.abort(new Error('channel closed'));
  }

  /**
   * Keeps the read deadline on the answer frame in progress: set by the
   * chunk that begins a frame, kept (not restarted) by chunks that only
   * continue it — a node trickling a byte at a time must not hold the
   * channel — and cleared when no frame is partial.
   */
  #watch(): void {
    if (!this.#frames.partial || this.#frames.begun !== this.#timedFrame) {
      clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
    if (this.#frames.partial && this.#deadline === undefined && this.#failure === undefined) {
      this.#timedFrame = this.#frames.begun;
      this.#deadline = setTimeout(() => {
        this.#abort(
          new QkmsError(ErrorCode.TIMEOUT, 'channel: answer not complete within the read deadline'),
        );
      }, this.#readDeadlineMs);
    }
  }

  /** Fails the channel with `error` and resets the stream. */
  #abort(error: Error): void {
    this.#fail(error);
    if (this.#stream.status === 'open' || this.#stream.status === 'closing')
      this.#stream.abort(this.#failure ?? error);
  }

  #answer(body: Uint8Array): void {
    const { id, message } = decodeChannelAnswer(body);
    const pending = this.#pending.get(id);
    if (pending === undefined) return; // a request given up on: its answer is dropped
    this.#pending.delete(id);
    if (message.length > pending.maxReplyBytes)
      pending.reject(new QkmsError(ErrorCode.TOO_LARGE, 'channel: answer exceeds its cap'));
    else pending.resolve(message);
  }

  #fail(error: Error): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}
