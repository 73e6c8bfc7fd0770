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
 * Reads the length prefix from the start of `bytes`. Answers incomplete if
 * more bytes are needed; throws TOO_LARGE as soon as the length exceeds
 * `maxBytes`, MALFORMED for a non-minimal or overlong prefix.
 */
export function readFrameHeader(bytes: Uint8Array, maxBytes: number): FrameHeader {
  let length = 0;
  for (let i = 0; i < Math.min(bytes.length, MAX_PREFIX_BYTES); i++) {
    const byte = bytes[i] ?? 0;
    length += (byte & 0x7f) * 2 ** (7 * i);
    if (length > maxBytes)
      throw new QkmsError(ErrorCode.TOO_LARGE, `frame: length exceeds the cap of ${maxBytes}`);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0)
        throw new QkmsError(ErrorCode.MALFORMED, 'frame: non-minimal length prefix');
      return { complete: true, length, prefixBytes: i + 1 };
    }
  }
  if (bytes.length >= MAX_PREFIX_BYTES)
    throw new QkmsError(ErrorCode.MALFORMED, 'frame: length prefix too long');
  return { complete: false };
}

/**
 * Assembles exactly one frame from stream chunks as they arrive: the length
 * cap is enforced from the prefix alone (TOO_LARGE before any body byte is
 * kept), bytes past the frame are MALFORMED, and `end()` says whether the
 * stream ending now leaves the frame incomplete. Transport-agnostic: node and
 * client feed it from their libp2p streams.
 */
export class FrameAssembler {
  readonly #maxBytes: number;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #frame: { readonly prefixBytes: number; readonly totalBytes: number } | undefined;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get buffered(): number {
    return this.#buffered;
  }

  /** Adds a chunk; returns the frame's body once it is complete, else undefined. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    return this.#progress();
  }

  /** The stream ended: the body if the frame is complete, else MALFORMED. */
  end(): Uint8Array {
    const body = this.#progress();
    if (body === undefined) {
      throw new QkmsError(ErrorCode.MALFORMED, `frame: stream ended after ${this.#buffered} bytes`);
    }
    return body;
  }

  #progress(): Uint8Array | undefined {
    if (this.#frame === undefined) {
      const head = this.#head();
      const header = readFrameHeader(head, this.#maxBytes);
      if (header.complete)
        this.#frame = {
          prefixBytes: header.prefixBytes,
          totalBytes: header.prefixBytes + header.length,
        };
    }
    if (this.#frame === undefined) return undefined;
    if (this.#buffered > this.#frame.totalBytes)
      throw new QkmsError(ErrorCode.MALFORMED, 'frame: bytes after the frame');
    if (this.#buffered < this.#frame.totalBytes) return undefined;
    const all = new Uint8Array(this.#buffered);
    let offset = 0;
    for (const c of this.#chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    return all.subarray(this.#frame.prefixBytes);
  }

  /** The first few bytes (enough for any prefix), across chunk boundaries. */
  #head(): Uint8Array {
    const head = new Uint8Array(Math.min(this.#buffered, MAX_PREFIX_BYTES));
    let offset = 0;
    for (const c of this.#chunks) {
      if (offset >= head.length) break;
      const take = c.subarray(0, head.length - offset);
      head.set(take, offset);
      offset += take.length;
    }
    return head;
  }
}
