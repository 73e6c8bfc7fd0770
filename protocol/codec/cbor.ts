// Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding) for every
// message and every signed or hashed structure, through the maintained codec
// cborg. Exactly one encoding of each value is ever accepted:
//   1. the size cap is checked before anything is parsed;
//   2. a token pre-scan refuses floats, tags, undefined, indefinite lengths,
//      nesting deeper than MAX_CBOR_DEPTH and container counts larger than the
//      bytes that could hold them, before the recursive decoder runs;
//   3. cborg decodes in strict mode (minimal integer and length encodings,
//      no duplicate map keys);
//   4. the value is re-encoded and must equal the input byte for byte (map
//      key order, and anything else the decoder tolerated).
// Values are the JSON-like subset qkms uses: maps with text keys, arrays,
// byte strings, text, safe integers, booleans and null.
import { Token, Tokenizer, Type, decode, encode, rfc8949EncodeOptions } from 'cborg';
import { MAX_CBOR_DEPTH } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';

export type CborValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly CborValue[]
  | { readonly [key: string]: CborValue };

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
} as const;

const ENCODE_OPTIONS = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    // Refuse to emit floats: the protocol has none, and a float would be a bug upstream.
    number(value: unknown): null {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'cbor: only safe integers are encodable');
      }
      return null;
    },
    undefined(): null {
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'cbor: undefined is not encodable');
    },
  },
};

/**
 * The canonical encoding, always as a plain Uint8Array. On Node, cborg hands
 * out Buffers (often views into Node's shared allocation pool), and
 * Buffer#slice returns a view, not a copy: a caller that copied an encoding
 * with .slice() and then changed or wiped the copy would change the original.
 */
export function encodeCanonical(value: CborValue): Uint8Array {
  const bytes = encode(value, ENCODE_OPTIONS);
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function malformed(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.MALFORMED, `cbor: ${message}`, { cause });
}

const ALLOWED_SCALARS = new Set<Type>([
  Type.uint,
  Type.negint,
  Type.bytes,
  Type.string,
  Type.true,
  Type.false,
  Type.null,
]);

/** Walks the tokens without building values: cheap, iterative, bounded. */
function prescan(bytes: Uint8Array, maxDepth: number): void {
  const tokenizer = new Tokenizer(bytes, DECODE_OPTIONS);
  const open: number[] = []; // items still expected by each open container
  let items = 0;
  while (!tokenizer.done()) {
    if (items === 1 && open.length === 0)
      throw malformed('trailing bytes after the top-level item');
    let token: Token;
    try {
      token = tokenizer.next();
    } catch (e) {
      throw malformed('invalid encoding', e);
    }
    if (open.length > 0) open[open.length - 1] = (open.at(-1) ?? 0) - 1;
    else items++;
    if (token.type === Type.array || token.type === Type.map) {
      const count = (token.type === Type.map ? 2 : 1) * Number(token.value);
      if (count > bytes.length - tokenizer.pos())
        throw malformed('container longer than the input');
      if (count > 0) open.push(count);
      if (open.length > maxDepth) throw malformed(`nesting deeper than ${maxDepth}`);
    } else if (!ALLOWED_SCALARS.has(token.type)) {
      throw malformed(`type ${token.type.name} is not allowed`);
    }
    while (open.length > 0 && open.at(-1) === 0) open.pop();
  }
  if (open.length > 0 || items !== 1) throw malformed('truncated input');
}

/**
 * Decodes exactly one canonical CBOR item from `bytes`. Throws QkmsError
 * TOO_LARGE past `maxBytes` (before parsing), MALFORMED for anything that is
 * not the one deterministic encoding of an allowed value.
 */
export function decodeCanonical(
  bytes: Uint8Array,
  maxBytes: number,
  maxDepth = MAX_CBOR_DEPTH,
): unknown {
  if (!(bytes instanceof Uint8Array)) throw malformed('expected bytes');
  if (bytes.length > maxBytes) {
    throw new QkmsError(
      ErrorCode.TOO_LARGE,
      `cbor: ${bytes.length} bytes exceed the cap of ${maxBytes}`,
    );
  }
  if (bytes.length === 0) throw malformed('empty input');
  prescan(bytes, maxDepth);
  let value: unknown;
  try {
    value = decode(bytes, DECODE_OPTIONS);
  } catch (e) {
    throw malformed('invalid encoding', e);
  }
  let again: Uint8Array;
  try {
    again = encodeCanonical(value as CborValue);
  } catch (e) {
    throw malformed('value cannot be re-encoded', e);
  }
  if (again.length !== bytes.length || !again.every((b, i) => b === bytes[i])) {
    throw malformed('not the deterministic encoding of its value');
  }
  return value;
}
