// Frames on a stream: an unsigned LEB128 varint length, then that many bytes
// of one canonical CBOR message (the framing of it-length-prefixed, which the
// node uses on libp2p streams). The length is checked against the protocol's
// cap as soon as the prefix is read, before any body byte is accepted.
import { ErrorCode, QkmsError } from '../errors.ts';

/** A varint longer than this cannot describe a frame under any cap we use. */
const MAX_PREFIX_BYTES = 4;

export function encodeFrame(body: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = body.length;
  do {
    const byte = n & 0x7f;
    n >>>= 7;
    prefix.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

export type FrameHeader =
  | { readonly complete: false }
  | { readonly complete: true; readonly length: number; readonly prefixBytes: number };

/**
 * A length prefix read one byte at a time, so a prefix split across chunks
 * is never read twice: O(1) per byte. Throws TOO_LARGE as soon as the length
 * read so far exceeds `maxBytes`, MALFORMED for a non-minimal prefix or one
 * longer than MAX_PREFIX_BYTES.
 */
export class LengthPrefix {
  readonly #maxBytes: number;
  #length = 0;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Whether some bytes of a prefix have been read and the prefix is not complete yet. */
  get started(): boolean {
    return this.#bytes > 0;
  }

  /** Takes the next prefix byte: the announced length once the prefix is complete, else undefined. */
  push(byte: number): number | undefined {
    this.#length += (byte & 0x7f) * 2 ** (7 * this.#bytes);
    this.#bytes += 1;
    if (this.#length > this.#maxBytes)
      throw new QkmsError(
        ErrorCode.TOO_LARGE,
        `frame: length exceeds the cap of ${this.#maxBytes}`,
      );
    if ((byte & 0x80) === 0) {
      if (byte === 0 && this.#bytes > 1)
        throw new QkmsError(ErrorCode.MALFORMED, 'frame: non-minimal length prefix');
      const length = this.#length;
      this.#length = 0;
      this.#bytes = 0;
      return length;
    }
    if (this.#bytes >= MAX_PREFIX_BYTES)
      throw new QkmsError(ErrorCode.MALFORMED, 'frame: length prefix too long');
    return undefined;
  }
}

/**
 * Reads the length prefix from the start of `bytes`. Answers incomplete if
 * more bytes are needed; throws TOO_LARGE as soon as the length exceeds
 * `maxBytes`, MALFORMED for a non-minimal or overlong prefix.
 */
export function readFrameHeader(bytes: Uint8Array, maxBytes: number): FrameHeader {
  const prefix = new LengthPrefix(maxBytes);
  // LengthPrefix throws by its MAX_PREFIX_BYTES-th byte: the loop is that short.
  for (let i = 0; i < bytes.length; i++) {
    const length = prefix.push(bytes[i] ?? 0);
    if (length !== undefined) return { complete: true, length, prefixBytes: i + 1 };
  }
  return { complete: false };
}

/**
 * Chunks one frame may arrive in: 16, plus one per 256 bytes of its body. An
 * honest sender writes a frame in one go, which reaches the reader as one or
 * a few yamux frames; a sender that trickles it a byte per yamux frame makes
 * the reader pay the transport's per-frame cost (Noise, yamux, an event) per
 * byte, about 20 µs each. Past this bound the frame is refused MALFORMED and
 * the stream reset: a 64 KiB frame costs at most 272 chunks, not 65,536.
 */
export const FRAME_CHUNKS_BASE = 16;
export const FRAME_BYTES_PER_CHUNK = 256;

/** The most chunks a frame of `length` body bytes may arrive in (FRAME_CHUNKS_BASE). */
export function maxFrameChunks(length: number): number {
  return FRAME_CHUNKS_BASE + Math.floor(length / FRAME_BYTES_PER_CHUNK);
}

export interface ChunkOptions {
  /** Refuse a frame that arrives in more than maxFrameChunks(length) chunks (default true). */
  readonly chunkBound?: boolean;
}

const TRICKLED = 'frame: arrived in too many pieces';

/** MALFORMED for a frame that arrived in more chunks than its length needs. */
export function trickled(): QkmsError {
  return new QkmsError(ErrorCode.MALFORMED, TRICKLED);
}

/**
 * Whether `e` is the refusal of a trickled frame. The transport's per-chunk
 * cost goes on for every chunk already in flight on the connection, stream
 * reset or not, so a node closes the whole connection of a peer that trickles.
 */
export function isTrickled(e: unknown): boolean {
  return e instanceof QkmsError && e.code === ErrorCode.MALFORMED && e.message === TRICKLED;
}

/**
 * What a frame body's buffer starts at (at most half the body, unless the
 * body fits in it whole); it doubles as bytes arrive, and goes to the whole
 * length once doubling would pass half of it. Memory follows the bytes
 * received, not the bytes a prefix announces (4 bytes must not buy a 1 MiB
 * allocation), and the work stays linear: every buffer but the last holds at
 * most half the body and each is at least twice the one before, so together
 * they are at most the body's length. Each byte is copied in once, and the
 * regrowths copy at most those buffers: at most 2x the length copied, and 2x
 * allocated.
 */
const INITIAL_BODY_BYTES = 4096;

/**
 * The body of one frame being received: chunks are copied into one buffer of
 * its own as they arrive (never kept: a chunk may be a view of a transport
 * buffer the transport reuses), so reassembly is linear in the bytes received
 * however small the chunks.
 */
export class FrameBody {
  readonly length: number;
  #bytes: Uint8Array;
  #filled = 0;

  constructor(length: number) {
    this.length = length;
    this.#bytes = new Uint8Array(
      length <= INITIAL_BODY_BYTES ? length : Math.min(INITIAL_BODY_BYTES, Math.floor(length / 2)),
    );
  }

  /** Bytes received so far. */
  get filled(): number {
    return this.#filled;
  }

  get complete(): boolean {
    return this.#filled === this.length;
  }

  /** Copies as many bytes of `chunk` from `offset` on as the body still lacks; returns how many. */
  fill(chunk: Uint8Array, offset: number): number {
    const take = Math.min(this.length - this.#filled, chunk.length - offset);
    if (take <= 0) return 0;
    const filled = this.#filled + take;
    if (filled > this.#bytes.length) {
      const doubled = Math.max(filled, 2 * this.#bytes.length);
      const grown = new Uint8Array(doubled > this.length / 2 ? this.length : doubled);
      grown.set(this.#bytes.subarray(0, this.#filled));
      this.#bytes = grown;
    }
    this.#bytes.set(chunk.subarray(offset, offset + take), this.#filled);
    this.#filled = filled;
    return take;
  }

  /**
   * The complete body: a plain Uint8Array of exactly `length` bytes over a
   * buffer of its own (never a view of a chunk), which the caller now owns.
   */
  bytes(): Uint8Array {
    if (!this.complete)
      throw new QkmsError(ErrorCode.INTERNAL, 'frame: body taken before it is complete');
    return this.#bytes;
  }
}

/**
 * Assembles exactly one frame from stream chunks as they arrive: the length
 * cap is enforced from the prefix alone (TOO_LARGE before any body byte is
 * kept), bytes past the frame are MALFORMED, and `end()` says whether the
 * stream ending now leaves the frame incomplete. Linear in the bytes
 * received: the prefix is read once, byte by byte, and each body byte is
 * copied into the body's own buffer as it arrives (FrameBody); and a frame
 * trickled in more chunks than maxFrameChunks allows is MALFORMED. Transport-
 * agnostic: node and client feed it from their libp2p streams.
 */
export class FrameAssembler {
  readonly #prefix: LengthPrefix;
  #body: FrameBody | undefined;
  #buffered = 0;
  #chunks = 0;
  readonly #chunkBound: boolean;

  constructor(maxBytes: number, options: ChunkOptions = {}) {
    this.#prefix = new LengthPrefix(maxBytes);
    this.#chunkBound = options.chunkBound ?? true;
  }

  /** Bytes pushed so far. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds a chunk; returns the frame's body once it is complete, else undefined. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    this.#buffered += chunk.length;
    if (chunk.length > 0) this.#chunks += 1;
    let offset = 0;
    while (this.#body === undefined && offset < chunk.length) {
      const length = this.#prefix.push(chunk[offset] ?? 0);
      offset += 1;
      if (length !== undefined) this.#body = new FrameBody(length);
    }
    if (this.#chunkBound && this.#chunks > maxFrameChunks(this.#body?.length ?? 0))
      throw trickled();
    if (this.#body === undefined) return undefined;
    offset += this.#body.fill(chunk, offset);
    if (offset < chunk.length)
      throw new QkmsError(ErrorCode.MALFORMED, 'frame: bytes after the frame');
    return this.#body.complete ? this.#body.bytes() : undefined;
  }

  /** The stream ended: the body if the frame is complete, else MALFORMED. */
  end(): Uint8Array {
    if (this.#body?.complete !== true) {
      throw new QkmsError(ErrorCode.MALFORMED, `frame: stream ended after ${this.#buffered} bytes`);
    }
    return this.#body.bytes();
  }
}
