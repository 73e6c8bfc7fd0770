// The access-condition language of a manifest (docs/policies.md): a tree of
// conditions, modelled on TACo's and Lit's condition schemas, that every node
// evaluates on its own for the requesting wallet. Leaves are the wallet-only
// policies (open, publisher-only, allowlist), the clock (time) and EVM chain
// state (evm-balance, evm-call); and / or / not combine them.
// Numbers that are uint256 on chain are bigints here, minimal big-endian byte
// strings on the wire and decimal strings in JSON files.

export type Comparator = '==' | '!=' | '>' | '>=' | '<' | '<=';
export const COMPARATORS: readonly Comparator[] = ['==', '!=', '>', '>=', '<', '<='];

export type TokenStandard = 'erc20' | 'erc721' | 'erc1155';
export const TOKEN_STANDARDS: readonly TokenStandard[] = ['erc20', 'erc721', 'erc1155'];

/** The context variables a condition may name; a node fills them in per request. */
export const USER_ADDRESS = ':userAddress';
export const CONTENT_ID = ':contentId';

/** Static ABI types an evm-call's function may take. */
export type AbiType = 'address' | 'bool' | 'bytes32' | 'uint256';
export const ABI_TYPES: readonly AbiType[] = ['address', 'bool', 'bytes32', 'uint256'];

export type AccessPolicy =
  | { readonly kind: 'open' }
  | { readonly kind: 'publisher-only' }
  | { readonly kind: 'allowlist'; readonly addresses: readonly Uint8Array[] }
  | EvmBalanceCondition
  | EvmCallCondition
  | TimeCondition
  | { readonly kind: 'and' | 'or'; readonly conditions: readonly AccessPolicy[] }
  | { readonly kind: 'not'; readonly condition: AccessPolicy };

export type PolicyKind = AccessPolicy['kind'];
export const POLICY_KINDS: readonly PolicyKind[] = [
  'open',
  'publisher-only',
  'allowlist',
  'evm-balance',
  'evm-call',
  'time',
  'and',
  'or',
  'not',
];

/**
 * The wallet's balance of a token, compared with `value`. erc20 and erc721
 * without a token id read balanceOf(wallet); erc1155 reads
 * balanceOf(wallet, tokenId); erc721 with a token id reads ownerOf(tokenId)
 * and counts 1 if the wallet owns it, else 0 (also when ownerOf reverts with a
 * reason, as it does for a token that does not exist; a revert without data,
 * such as out of gas, proves nothing). A token id of ':contentId' is the
 * content id read as a big-endian uint256.
 */
export interface EvmBalanceCondition {
  readonly kind: 'evm-balance';
  readonly chain: number;
  readonly standard: TokenStandard;
  /** The token contract, 20 bytes. */
  readonly contract: Uint8Array;
  readonly tokenId?: bigint | typeof CONTENT_ID;
  readonly comparator: Comparator;
  readonly value: bigint;
}

/**
 * A view function called with `params` (literals, or ':userAddress' and
 * ':contentId'), its single return value compared with `value` (a bool
 * counts as 0 or 1).
 */
export interface EvmCallCondition {
  readonly kind: 'evm-call';
  readonly chain: number;
  readonly contract: Uint8Array;
  /** The function's signature, `name(type,...)`, static types only: hasAccess(bytes32,address). */
  readonly function: string;
  readonly params: readonly string[];
  readonly returns: 'bool' | 'uint256';
  readonly comparator: Comparator;
  readonly value: bigint;
}

/** Admits from notBefore (inclusive) until notAfter (exclusive), by the node's clock, in ms. */
export interface TimeCondition {
  readonly kind: 'time';
  readonly notBefore?: number;
  readonly notAfter?: number;
}

/** Caps on a condition tree, so that a manifest costs a node little to decode and evaluate. */
export const POLICY_LIMITS = {
  /** Height of the tree: a leaf alone is 1; and(or(not(leaf))) is 4. */
  maxDepth: 5,
  /** Conditions in the tree, combinators included. */
  maxConditions: 16,
  /** Chain reads (evm-balance and evm-call leaves) in the tree. */
  maxChainReads: 8,
  /** Parameters of an evm-call; all static, so calldata is at most 4 + 32 × 8 = 260 bytes. */
  maxParams: 8,
  /** Bytes of an evm-call's function signature. */
  maxFunctionBytes: 128,
  /** Calldata bytes of one evm-call (selector and arguments). */
  maxCalldataBytes: 4 + 32 * 8,
} as const;

export const MAX_UINT256 = (1n << 256n) - 1n;
