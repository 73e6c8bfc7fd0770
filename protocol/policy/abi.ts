// The little of the Solidity ABI a condition needs: a function signature of
// static types, its selector, and calldata built from the parameters with the
// context variables filled in. Everything here is total over decoded input:
// a bad signature or parameter is MALFORMED at decode time, never at evaluation.
import { concatBytes, toHex } from '../bytes.ts';
import { malformed } from '../codec/read.ts';
import {
  ABI_TYPES,
  CONTENT_ID,
  MAX_UINT256,
  POLICY_LIMITS,
  USER_ADDRESS,
  type AbiType,
} from './types.ts';

const SIGNATURE = /^([A-Za-z_$][A-Za-z0-9_$]{0,63})\(([a-z0-9,]*)\)$/;
const ADDRESS_TEXT = /^0x[0-9a-f]{40}$/;
const BYTES32_TEXT = /^0x[0-9a-f]{64}$/;
const UINT_TEXT = /^(0|[1-9][0-9]{0,77})$/;

/** The parameter types of `name(type,...)`, or MALFORMED. */
export function parseSignature(signature: string, field: string): readonly AbiType[] {
  const match = SIGNATURE.exec(signature);
  if (match === null) throw malformed(field, 'a function signature name(type,...)');
  const list = match[2] ?? '';
  const types = list === '' ? [] : list.split(',');
  if (types.length > POLICY_LIMITS.maxParams)
    throw malformed(field, `at most ${POLICY_LIMITS.maxParams} parameters`);
  for (const t of types) {
    if (!ABI_TYPES.includes(t as AbiType))
      throw malformed(field, `types of ${ABI_TYPES.join(', ')}`);
  }
  return types as AbiType[];
}

/** Checks one parameter's text against its type: a context variable or a canonical literal. */
export function checkParam(type: AbiType, param: string, field: string): void {
  if (param === USER_ADDRESS) {
    if (type !== 'address') throw malformed(field, `${USER_ADDRESS} only for an address`);
    return;
  }
  if (param === CONTENT_ID) {
    if (type !== 'bytes32' && type !== 'uint256')
      throw malformed(field, `${CONTENT_ID} only for bytes32 or uint256`);
    return;
  }
  const ok =
    type === 'address'
      ? ADDRESS_TEXT.test(param)
      : type === 'bytes32'
        ? BYTES32_TEXT.test(param)
        : type === 'bool'
          ? param === 'true' || param === 'false'
          : UINT_TEXT.test(param) && BigInt(param) <= MAX_UINT256;
  if (!ok) throw malformed(field, `a canonical ${type} literal or a context variable`);
}

/** One 32-byte ABI word holding `value`, big-endian. */
export function uintWord(value: bigint): Uint8Array {
  const word = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    word[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return word;
}

/** A 20-byte address (or any short value) right-aligned in a word. */
function padWord(bytes: Uint8Array): Uint8Array {
  const word = new Uint8Array(32);
  word.set(bytes, 32 - bytes.length);
  return word;
}

function hexBytes(text: string): Uint8Array {
  const out = new Uint8Array((text.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

export interface CallContext {
  /** The requesting wallet, 20 bytes. */
  readonly wallet: Uint8Array;
  /** The content id, 32 bytes. */
  readonly contentId: Uint8Array;
}

function paramWord(type: AbiType, param: string, ctx: CallContext): Uint8Array {
  if (param === USER_ADDRESS) return padWord(ctx.wallet);
  if (param === CONTENT_ID) return ctx.contentId.slice();
  switch (type) {
    case 'address':
      return padWord(hexBytes(param));
    case 'bytes32':
      return hexBytes(param);
    case 'bool':
      return uintWord(param === 'true' ? 1n : 0n);
    case 'uint256':
      return uintWord(BigInt(param));
  }
}

/** The 4-byte selector of a signature: the first bytes of its Keccak-256. */
export function selector(
  keccak256: (data: Uint8Array) => Uint8Array,
  signature: string,
): Uint8Array {
  return keccak256(new TextEncoder().encode(signature)).slice(0, 4);
}

/** Calldata for `signature` with `params` (already checked), context variables filled in. */
export function encodeCall(
  keccak256: (data: Uint8Array) => Uint8Array,
  signature: string,
  params: readonly string[],
  ctx: CallContext,
): Uint8Array {
  const types = parseSignature(signature, 'function');
  return concatBytes(
    selector(keccak256, signature),
    ...types.map((t, i) => paramWord(t, params[i] ?? '', ctx)),
  );
}

/** The uint256 a 32-byte word holds. */
export function wordToUint(word: Uint8Array): bigint {
  return BigInt(`0x${toHex(word) || '0'}`);
}
