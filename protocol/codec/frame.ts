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
