// The request channel (docs/protocol.md §1b): many requests on ONE long-lived
// libp2p stream per client connection, instead of a new stream per request.
// A new stream costs both ends ~0.9 ms of CPU (yamux open and close, protocol
// negotiation, several Noise frames); a frame on an open stream ~0.25 ms.
//
// Each message is one length-prefixed frame (frame.ts) whose body is
//   request: kind (1 byte) || id (4 bytes, big-endian) || message bytes
//   answer:             id (4 bytes, big-endian) || message bytes
// The message bytes are exactly what the per-request protocol of that kind
// carries (messages.ts), under that protocol's cap. Answers may come in any
// order; the id pairs them with their requests.
//
// Caps, both checked before the bytes they bound are kept: a length prefix
// over MAX_CHANNEL_FRAME_BYTES (the largest cap of any kind) is refused from
// the prefix alone; under it, each frame's own cap comes from its head
// (FrameGate): a request's from its kind byte (its method's maxRequestBytes),
// an answer's from the maxReplyBytes of the request its id names. The
// protocol id, the kinds and the caps all come from the method table
// (methods.ts).
import { ErrorCode, QkmsError } from '../errors.ts';
import { METHODS } from '../methods.ts';
import { FrameBody, LengthPrefix, maxFrameChunks, trickled, type ChunkOptions } from './frame.ts';

export const CHANNEL_PROTOCOL = METHODS.channel.protocol;

/** The request kinds a channel carries, by wire code (code = position + 1). */
export const CHANNEL_KINDS = METHODS.channel.carries;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** The cap on a request message of `kind`: its method's. */
function capOfKind(kind: ChannelKind): number {
  return METHODS[kind].maxRequestBytes;
}

/** A request body's header: kind (1 byte) and id (4). */
const HEADER_BYTES = 5;
/** An answer body's header: the id. */
const ANSWER_HEADER_BYTES = 4;
/** The largest frame body either side accepts: the largest message cap plus the header. */
export const MAX_CHANNEL_FRAME_BYTES = Math.max(
  METHODS.channel.maxRequestBytes + HEADER_BYTES,
  METHODS.channel.maxReplyBytes + ANSWER_HEADER_BYTES,
);
/** Ids wrap at 2^32; a client never has anywhere near that many requests in flight. */
export const MAX_CHANNEL_ID = 0xffff_ffff;

function malformed(message: string): QkmsError {
  return new QkmsError(ErrorCode.MALFORMED, `channel: ${message}`);
}

export function encodeChannelRequest(
  kind: ChannelKind,
  id: number,
  message: Uint8Array,
): Uint8Array {
  const body = new Uint8Array(HEADER_BYTES + message.length);
  body[0] = CHANNEL_KINDS.indexOf(kind) + 1;
  new DataView(body.buffer).setUint32(1, id);
  body.set(message, HEADER_BYTES);
  return body;
}

/** Kind, id and message of a request frame body; MALFORMED for an unknown kind, TOO_LARGE past its cap. */
export function decodeChannelRequest(body: Uint8Array): {
  kind: ChannelKind;
  id: number;
  message: Uint8Array;
} {
  if (body.length < HEADER_BYTES) throw malformed('request shorter than its header');
  const kind = kindOf(body);
  if (kind === undefined) throw malformed('unknown request kind');
  const id = idAt(body, 1);
  const message = body.subarray(HEADER_BYTES);
  if (message.length > capOfKind(kind))
    throw new QkmsError(ErrorCode.TOO_LARGE, `channel: ${kind} message exceeds its cap`);
  return { kind, id, message };
}

export function encodeChannelAnswer(id: number, message: Uint8Array): Uint8Array {
  const body = new Uint8Array(ANSWER_HEADER_BYTES + message.length);
  new DataView(body.buffer).setUint32(0, id);
  body.set(message, ANSWER_HEADER_BYTES);
  return body;
}

export function decodeChannelAnswer(body: Uint8Array): { id: number; message: Uint8Array } {
  if (body.length < ANSWER_HEADER_BYTES) throw malformed('answer shorter than its id');
  return { id: idAt(body, 0), message: body.subarray(ANSWER_HEADER_BYTES) };
}

/** The kind of a request body's first byte; undefined for a code no kind has. */
function kindOf(head: Uint8Array): ChannelKind | undefined {
  return CHANNEL_KINDS[(head[0] ?? 0) - 1];
}

/** The big-endian 32-bit id at `offset` of `bytes`. */
function idAt(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
}

/**
 * The node's gate for request frames: a request's cap is its kind's message
 * cap plus the header, read from its first 5 bytes (kind and id), so a frame
 * over it is refused before one message byte is kept. A frame of an unknown
 * kind may carry no message. `refused` gets the kind (undefined if unknown)
 * and the id, so the node can answer by id.
 */
export function channelRequestGate(
  refused: (kind: ChannelKind | undefined, id: number) => void,
): FrameGate {
  return {
    headBytes: HEADER_BYTES,
    capOf: (head) => {
      const kind = kindOf(head);
      return HEADER_BYTES + (kind === undefined ? 0 : capOfKind(kind));
    },
    refused: (head) => {
      refused(kindOf(head), idAt(head, 1));
    },
  };
}

/**
 * The client's gate for answer frames: an answer's cap is its request's
 * maxReplyBytes plus the 4-byte id, read as soon as the id is. `capOf`
 * answers undefined for an id with no request waiting (abandoned, or never
 * sent): such an answer may carry no message, so its bytes are skipped, not
 * buffered. `refused` gets the id.
 */
export function channelAnswerGate(
  capOf: (id: number) => number | undefined,
  refused: (id: number) => void,
): FrameGate {
  return {
    headBytes: ANSWER_HEADER_BYTES,
    capOf: (head) => ANSWER_HEADER_BYTES + (capOf(idAt(head, 0)) ?? 0),
    refused: (head) => {
      refused(idAt(head, 0));
    },
  };
}

/**
 * Decides each frame's own cap from the first bytes of its body, for a
 * stream whose frames differ in cap by a header (a request's kind, an
 * answer's id). FrameSplitter asks it once per frame, as soon as the prefix
 * and `headBytes` body bytes have arrived, and before any further byte is
 * kept.
 */
export interface FrameGate {
  /** Body bytes the gate needs to decide (kind and id: 5; id: 4), at most 8. */
  readonly headBytes: number;
  /** The largest body, head included, a frame that starts with `head` may have. */
  capOf(head: Uint8Array): number;
  /**
   * A frame whose announced length exceeds its cap: called with its head (a
   * copy) and that length. The rest of its body is skipped as it arrives,
   * never buffered, and it is not among the frames push() returns. May throw:
   * push() throws it on (the caller resets the stream).
   */
  refused(head: Uint8Array, length: number): void;
}

/** The largest FrameGate.headBytes. */
const MAX_HEAD_BYTES = 8;

/**
 * Splits a byte stream into length-prefixed frames as chunks arrive: every
 * complete frame's body, in order, each a plain Uint8Array of its own (never
 * a view of a chunk, which the transport may reuse). Throws TOO_LARGE as soon
 * as a prefix announces more than `maxBytes`, MALFORMED for a bad prefix.
 * With a `gate`, a frame over its own cap is refused from its prefix and
 * head alone (FrameGate.refused), and its body skipped. A frame trickled in
 * more chunks than maxFrameChunks(length) allows is MALFORMED (frame.ts).
 *
 * Linear in the bytes received, whatever the chunking: a prefix or head is
 * read once, byte by byte, and each body byte is copied once into its
 * frame's own growing buffer (FrameBody), so a frame sent one byte per chunk
 * costs what it costs in one chunk. `partial` says whether a frame has begun
 * but not ended, and `begun` counts frames begun (what a read deadline that
 * runs from a frame's first byte watches).
 */
export class FrameSplitter {
  readonly #prefix: LengthPrefix;
  readonly #gate: FrameGate | undefined;
  readonly #head = new Uint8Array(MAX_HEAD_BYTES);
  /** Announced body length of the frame in progress, once its prefix is read. */
  #length: number | undefined;
  #headFilled = 0;
  #body: FrameBody | undefined;
  /** Body bytes of a refused frame still to skip. */
  #skip = 0;
  #begun = 0;
  /** Chunks the frame in progress has arrived in so far (maxFrameChunks). */
  #chunks = 0;
  readonly #chunkBound: boolean;

  constructor(maxBytes: number, gate?: FrameGate, options: ChunkOptions = {}) {
    this.#chunkBound = options.chunkBound ?? true;
    if (
      gate !== undefined &&
      (!Number.isSafeInteger(gate.headBytes) ||
        gate.headBytes < 1 ||
        gate.headBytes > MAX_HEAD_BYTES)
    )
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        `channel: gate.headBytes must be 1 to ${MAX_HEAD_BYTES}`,
      );
    this.#prefix = new LengthPrefix(maxBytes);
    this.#gate = gate;
  }

  get partial(): boolean {
    return this.#prefix.started || this.#length !== undefined;
  }

  /** Frames begun so far, refused ones too: a new value means a new frame has begun. */
  get begun(): number {
    return this.#begun;
  }

  /** Bytes held for the frame in progress (its head and body so far; none of a refused one's). */
  get buffered(): number {
    if (this.#skip > 0) return 0;
    return this.#body?.filled ?? this.#headFilled;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let offset = 0;
    // A chunk that continues a frame counts against that frame; one that starts a frame, below.
    if (this.#chunkBound && this.partial && chunk.length > 0) {
      this.#chunks += 1;
      if (this.#chunks > maxFrameChunks(this.#length ?? 0)) throw trickled();
    }
    // Each turn consumes at least one byte (an empty frame ends with its prefix's last).
    while (offset < chunk.length) {
      if (this.#length === undefined) {
        if (!this.#prefix.started) {
          this.#begun += 1;
          this.#chunks = 1;
        }
        const length = this.#prefix.push(chunk[offset] ?? 0);
        offset += 1;
        if (length === undefined) continue;
        this.#length = length;
        // A frame shorter than the gate's head is delivered as is (its decoder refuses it).
        if (this.#gate === undefined || length < this.#gate.headBytes)
          this.#body = new FrameBody(length);
      } else if (this.#skip > 0) {
        const take = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= take;
        offset += take;
        if (this.#skip === 0) this.#length = undefined;
      } else if (this.#body === undefined) {
        const gate = this.#gate;
        if (gate === undefined)
          throw new QkmsError(ErrorCode.INTERNAL, 'channel: a frame without a gate has a body');
        this.#head[this.#headFilled] = chunk[offset] ?? 0;
        this.#headFilled += 1;
        offset += 1;
        if (this.#headFilled < gate.headBytes) continue;
        const head = this.#head.slice(0, gate.headBytes);
        this.#headFilled = 0;
        const length = this.#length;
        if (length > gate.capOf(head)) {
          this.#skip = length - gate.headBytes;
          if (this.#skip === 0) this.#length = undefined;
          gate.refused(head, length);
        } else {
          this.#body = new FrameBody(this.#length);
          this.#body.fill(head, 0);
        }
      } else {
        offset += this.#body.fill(chunk, offset);
      }
      if (this.#body?.complete === true) {
        frames.push(this.#body.bytes());
        this.#body = undefined;
        this.#length = undefined;
      }
    }
    return frames;
  }
}
