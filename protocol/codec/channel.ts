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
import { MAX_FRAME_BYTES } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { readFrameHeader } from './frame.ts';

export const CHANNEL_PROTOCOL = '/qkms/channel/1';

/** The request kinds a channel carries, by wire code. */
export const CHANNEL_KINDS = ['recover', 'publish', 'info', 'revoke'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const HEADER_BYTES = 5;
/** The largest frame body either side accepts: the largest message cap plus the header. */
export const MAX_CHANNEL_FRAME_BYTES =
  Math.max(...CHANNEL_KINDS.map((k) => MAX_FRAME_BYTES[k])) + HEADER_BYTES;
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
  const kind = CHANNEL_KINDS[(body[0] ?? 0) - 1];
  if (kind === undefined) throw malformed('unknown request kind');
  const id = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
  const message = body.subarray(HEADER_BYTES);
  if (message.length > MAX_FRAME_BYTES[kind])
    throw new QkmsError(ErrorCode.TOO_LARGE, `channel: ${kind} message exceeds its cap`);
  return { kind, id, message };
}

export function encodeChannelAnswer(id: number, message: Uint8Array): Uint8Array {
  const body = new Uint8Array(4 + message.length);
  new DataView(body.buffer).setUint32(0, id);
  body.set(message, 4);
  return body;
}

export function decodeChannelAnswer(body: Uint8Array): { id: number; message: Uint8Array } {
  if (body.length < 4) throw malformed('answer shorter than its id');
  return {
    id: new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0),
    message: body.subarray(4),
  };
}

/**
 * Splits a byte stream into length-prefixed frames as chunks arrive: every
 * complete frame's body, in order. Throws TOO_LARGE as soon as a prefix
 * announces more than `maxBytes`, MALFORMED for a bad prefix. `partial` says
 * whether a frame has begun but not ended (what a read deadline watches).
 */
export class FrameSplitter {
  readonly #maxBytes: number;
  #buffer: Uint8Array = new Uint8Array(0);

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get partial(): boolean {
    return this.#buffer.length > 0;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    let buffer: Uint8Array;
    if (this.#buffer.length === 0) buffer = chunk;
    else {
      buffer = new Uint8Array(this.#buffer.length + chunk.length);
      buffer.set(this.#buffer, 0);
      buffer.set(chunk, this.#buffer.length);
    }
    const frames: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const header = readFrameHeader(buffer.subarray(offset), this.#maxBytes);
      if (!header.complete) break;
      const end = offset + header.prefixBytes + header.length;
      if (end > buffer.length) break;
      // A copy: the caller may keep the frame after the chunk it came in is reused.
      // (new Uint8Array, not slice: a Node Buffer's slice is a view of its memory.)
      frames.push(new Uint8Array(buffer.subarray(offset + header.prefixBytes, end)));
      offset = end;
    }
    this.#buffer = new Uint8Array(buffer.subarray(offset));
    return frames;
  }
}
