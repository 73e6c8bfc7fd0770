// Condition trees for tests, built in one line each: a leaf with sensible
// defaults overridden per test, and the combinators.
import {
  CONTENT_ID,
  USER_ADDRESS,
  type AccessPolicy,
  type EvmBalanceCondition,
  type EvmCallCondition,
} from '../../protocol/internal.ts';

/** A 20-byte address of one repeated byte. */
export const addr = (b: number): Uint8Array => new Uint8Array(20).fill(b);

/** An ERC-20 balance >= 1 on chain 1, with `over` applied. */
export const balance = (over: Partial<EvmBalanceCondition> = {}): EvmBalanceCondition => ({
  kind: 'evm-balance',
  chain: 1,
  standard: 'erc20',
  contract: addr(0xc0),
  comparator: '>=',
  value: 1n,
  ...over,
});

/** hasAccess(:contentId, :userAddress) == true on chain 10, with `over` applied. */
export const call = (over: Partial<EvmCallCondition> = {}): EvmCallCondition => ({
  kind: 'evm-call',
  chain: 10,
  contract: addr(0xc1),
  function: 'hasAccess(bytes32,address)',
  params: [CONTENT_ID, USER_ADDRESS],
  returns: 'bool',
  comparator: '==',
  value: 1n,
  ...over,
});

export const and = (...conditions: AccessPolicy[]): AccessPolicy => ({ kind: 'and', conditions });
export const or = (...conditions: AccessPolicy[]): AccessPolicy => ({ kind: 'or', conditions });
export const not = (condition: AccessPolicy): AccessPolicy => ({ kind: 'not', condition });
/** `leaf` under n nots. */
export const nots = (n: number, leaf: AccessPolicy): AccessPolicy =>
  n === 0 ? leaf : not(nots(n - 1, leaf));
