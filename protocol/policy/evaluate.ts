// Evaluating a condition tree for one request, in three-valued (Kleene)
// logic: a leaf whose chain state a node does not hold fresh is `unknown`,
// never false, so that `not` cannot turn missing state into access. `and` is
// false if any child is false, `or` true if any child is true, whatever the
// others are; an `unknown` verdict at the root is POLICY_UNAVAILABLE, never a
// share. Chain state comes through `lookup`, synchronously: the node keeps it
// fresh (node/policy/), and evaluation itself never waits on a chain.
import { toHex } from '../bytes.ts';
import { encodeCall, selector, uintWord, wordToUint, type CallContext } from './abi.ts';
import {
  CONTENT_ID,
  type AccessPolicy,
  type Comparator,
  type EvmBalanceCondition,
  type EvmCallCondition,
} from './types.ts';

export type Verdict = true | false | 'unknown';

/** One eth_call a condition needs: what a node caches and keeps fresh. */
export interface ChainRead {
  readonly chain: number;
  /** 20 bytes. */
  readonly contract: Uint8Array;
  readonly data: Uint8Array;
  /**
   * 'balance': changes only through the token's transfer events: those
   * naming `account`, or, without an account (ownerOf(tokenId), shared by
   * every wallet that asks), any transfer of the contract. A node may keep it
   * across blocks until such an event.
   * 'call': any state change may change it; re-read at every block.
   */
  readonly kind: 'balance' | 'call';
  /** For 'balance': the wallet whose transfers change it; none when any transfer of the contract may. */
  readonly account?: Uint8Array;
  /** chain:contract:data in hex: the cache key. */
  readonly key: string;
}

/** What an eth_call returned: its return data, or that it reverted (with its revert data, maybe empty). */
export type CallResult =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly data: Uint8Array };

export interface PolicyContext extends CallContext {
  readonly publisher: Uint8Array;
  /** The node's clock, ms. */
  readonly now: number;
}

export interface Evaluation {
  readonly verdict: Verdict;
  /** Reads the lookup did not hold: fetching them may settle an `unknown`. */
  readonly missing: readonly ChainRead[];
}

type Keccak = (data: Uint8Array) => Uint8Array;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function compare(left: bigint, comparator: Comparator, right: bigint): boolean {
  switch (comparator) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
  }
}

function makeRead(
  chain: number,
  contract: Uint8Array,
  data: Uint8Array,
  kind: ChainRead['kind'],
  account?: Uint8Array,
): ChainRead {
  return {
    chain,
    contract,
    data,
    kind,
    ...(account === undefined ? {} : { account }),
    // The kind is part of the key: a balance and a call with the same calldata are kept fresh
    // differently, and must never share an entry.
    key: `${kind}:${chain}:${toHex(contract)}:${toHex(data)}`,
  };
}

/** The read an evm-balance leaf needs for `ctx`. */
export function balanceRead(keccak: Keccak, c: EvmBalanceCondition, ctx: CallContext): ChainRead {
  const owner = new Uint8Array(32);
  owner.set(ctx.wallet, 12);
  const tokenWord =
    c.tokenId === undefined
      ? undefined
      : c.tokenId === CONTENT_ID
        ? ctx.contentId.slice()
        : uintWord(c.tokenId);
  let data: Uint8Array;
  let account: Uint8Array | undefined = ctx.wallet;
  if (c.standard === 'erc1155' && tokenWord !== undefined) {
    data = new Uint8Array([
      ...selector(keccak, 'balanceOf(address,uint256)'),
      ...owner,
      ...tokenWord,
    ]);
  } else if (c.standard === 'erc721' && tokenWord !== undefined) {
    data = new Uint8Array([...selector(keccak, 'ownerOf(uint256)'), ...tokenWord]);
    // One read for every wallet asking: the owner changes with a transfer naming anyone.
    account = undefined;
  } else {
    data = new Uint8Array([...selector(keccak, 'balanceOf(address)'), ...owner]);
  }
  return makeRead(c.chain, c.contract, data, 'balance', account);
}

/** The read an evm-call leaf needs for `ctx`. */
export function callRead(keccak: Keccak, c: EvmCallCondition, ctx: CallContext): ChainRead {
  return makeRead(c.chain, c.contract, encodeCall(keccak, c.function, c.params, ctx), 'call');
}

/** The value a balance read's result stands for, or undefined when it proves nothing. */
function balanceValue(
  c: EvmBalanceCondition,
  result: CallResult,
  wallet: Uint8Array,
): bigint | undefined {
  const ownerOf = c.standard === 'erc721' && c.tokenId !== undefined;
  // ownerOf reverts, with a reason, for a token that does not exist: not the owner. A revert
  // without data (out of gas, a broken contract) proves nothing.
  if (!result.ok) return ownerOf && result.data.length > 0 ? 0n : undefined;
  if (result.data.length !== 32) return undefined;
  if (!ownerOf) return wordToUint(result.data);
  if (result.data.subarray(0, 12).some((b) => b !== 0)) return undefined;
  return sameBytes(result.data.subarray(12), wallet) ? 1n : 0n;
}

function callValue(c: EvmCallCondition, result: CallResult): bigint | undefined {
  if (!result.ok || result.data.length !== 32) return undefined;
  const v = wordToUint(result.data);
  return c.returns === 'bool' && v > 1n ? undefined : v;
}

/**
 * Evaluates `policy` for `ctx`. `lookup` answers a read from fresh state, or
 * undefined when it holds none; such reads are listed in `missing`.
 */
export function evaluatePolicy(
  keccak: Keccak,
  policy: AccessPolicy,
  ctx: PolicyContext,
  lookup: (read: ChainRead) => CallResult | undefined,
): Evaluation {
  const missing: ChainRead[] = [];
  const chainLeaf = (
    read: ChainRead,
    value: (r: CallResult) => bigint | undefined,
    test: (v: bigint) => boolean,
  ): Verdict => {
    const result = lookup(read);
    if (result === undefined) {
      missing.push(read);
      return 'unknown';
    }
    const v = value(result);
    return v === undefined ? 'unknown' : test(v);
  };
  const walk = (p: AccessPolicy): Verdict => {
    switch (p.kind) {
      case 'open':
        return true;
      case 'publisher-only':
        return sameBytes(ctx.wallet, ctx.publisher);
      case 'allowlist':
        return (
          sameBytes(ctx.wallet, ctx.publisher) || p.addresses.some((a) => sameBytes(a, ctx.wallet))
        );
      case 'time':
        return (
          (p.notBefore === undefined || ctx.now >= p.notBefore) &&
          (p.notAfter === undefined || ctx.now < p.notAfter)
        );
      case 'evm-balance':
        return chainLeaf(
          balanceRead(keccak, p, ctx),
          (r) => balanceValue(p, r, ctx.wallet),
          (v) => compare(v, p.comparator, p.value),
        );
      case 'evm-call':
        return chainLeaf(
          callRead(keccak, p, ctx),
          (r) => callValue(p, r),
          (v) => compare(v, p.comparator, p.value),
        );
      case 'not': {
        const v = walk(p.condition);
        return v === 'unknown' ? v : !v;
      }
      case 'and':
      case 'or': {
        // Every child is walked (no short cut), so `missing` lists all reads at once.
        const verdicts = p.conditions.map(walk);
        const decisive = p.kind === 'and' ? false : true;
        if (verdicts.includes(decisive)) return decisive;
        return verdicts.includes('unknown') ? 'unknown' : !decisive;
      }
    }
  };
  return { verdict: walk(policy), missing };
}

/** Whether a policy needs chain state at all (open, allowlists and time do not). */
export function readsChain(policy: AccessPolicy): boolean {
  switch (policy.kind) {
    case 'evm-balance':
    case 'evm-call':
      return true;
    case 'and':
    case 'or':
      return policy.conditions.some(readsChain);
    case 'not':
      return readsChain(policy.condition);
    default:
      return false;
  }
}
