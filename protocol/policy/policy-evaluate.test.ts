// Long file: calldata checks and truth tables share the builders and the lookup stub.
// Evaluating conditions: the calldata of every chain read (checked against
// viem's ABI encoder and a real Keccak-256), truth tables of every leaf, the
// three-valued (Kleene) combinators, what `missing` lists, readsChain and
// policyChains.
import { addr, and, balance, call, not, or } from '../../test/support/policy-builders.ts';
import { encodeFunctionData, parseAbi, toFunctionSelector, type Abi, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../bytes.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { nobleSuite } from '../suite/noble.ts';
import {
  balanceRead,
  callRead,
  CONTENT_ID,
  evaluatePolicy,
  MAX_UINT256,
  policyChains,
  readsChain,
  selector,
  USER_ADDRESS,
  type AccessPolicy,
  type CallResult,
  type ChainRead,
  type Comparator,
  type PolicyContext,
  type Verdict,
} from './index.ts';

const keccak = requireNativeSuite().keccak256;
const hex = (b: Uint8Array): Hex => `0x${toHex(b)}`;
const WALLET = addr(0xaa);
const PUBLISHER = addr(0xbb);
const OTHER = addr(0xcc);
const CONTENT = Uint8Array.from({ length: 32 }, (_, i) => 0xf0 - i);
const NOW = 1_800_000_000_000;
const CTX: PolicyContext = { wallet: WALLET, publisher: PUBLISHER, contentId: CONTENT, now: NOW };

/** One ABI word holding `v`. */
const word = (v: bigint): Uint8Array => fromHex(v.toString(16).padStart(64, '0'));
/** An address as the word ownerOf returns. */
const ownerWord = (a: Uint8Array): Uint8Array => Uint8Array.from([...new Uint8Array(12), ...a]);
const ok = (data: Uint8Array): CallResult => ({ ok: true, data });
/** A revert with a reason (ERC721NonexistentToken(7)'s selector and argument). */
const REVERT: CallResult = { ok: false, data: Uint8Array.of(0x7e, 0x27, 0x32, 0x89, ...word(7n)) };
/** A revert without data: out of gas, or a contract that is broken. */
const BARE_REVERT: CallResult = { ok: false, data: new Uint8Array(0) };

/** A lookup holding `result` for every read (or nothing, for undefined). */
const always = (result: CallResult | undefined) => (): CallResult | undefined => result;
/** A lookup stub mapping read.key to a result. */
const stub =
  (entries: readonly (readonly [ChainRead, CallResult])[]) =>
  (read: ChainRead): CallResult | undefined =>
    new Map(entries.map(([r, v]) => [r.key, v])).get(read.key);
const verdict = (
  p: AccessPolicy,
  lookup: (read: ChainRead) => CallResult | undefined = always(undefined),
  ctx: PolicyContext = CTX,
): Verdict => evaluatePolicy(keccak, p, ctx, lookup).verdict;

/** viem's calldata for `signature` (the return type does not enter calldata). */
function viemCalldata(signature: string, args: readonly unknown[]): Hex {
  const abi: Abi = parseAbi([`function ${signature} view returns (uint256)`] as string[]);
  return encodeFunctionData({
    abi,
    functionName: signature.slice(0, signature.indexOf('(')),
    args,
  });
}

describe('chain read calldata matches viem', () => {
  const contentUint = BigInt(hex(CONTENT));

  it.each([
    ['erc20 balanceOf(address)', balance(), 'balanceOf(address)', [hex(WALLET)]],
    [
      'erc721 without a token balanceOf(address)',
      balance({ standard: 'erc721' }),
      'balanceOf(address)',
      [hex(WALLET)],
    ],
    [
      'erc1155 balanceOf(address,uint256) of :contentId',
      balance({ standard: 'erc1155', tokenId: CONTENT_ID }),
      'balanceOf(address,uint256)',
      [hex(WALLET), contentUint],
    ],
    [
      'erc1155 balanceOf(address,uint256) of a literal',
      balance({ standard: 'erc1155', tokenId: MAX_UINT256 }),
      'balanceOf(address,uint256)',
      [hex(WALLET), MAX_UINT256],
    ],
    [
      'erc721 ownerOf(uint256) of a literal',
      balance({ standard: 'erc721', tokenId: 42n }),
      'ownerOf(uint256)',
      [42n],
    ],
    [
      'erc721 ownerOf(uint256) of :contentId',
      balance({ standard: 'erc721', tokenId: CONTENT_ID }),
      'ownerOf(uint256)',
      [contentUint],
    ],
  ] as const)('%s', (_, condition, signature, args) => {
    const expected = viemCalldata(signature, args);
    for (const k of [keccak, nobleSuite.keccak256]) {
      const read = balanceRead(k, condition, CTX);
      expect(hex(read.data)).toBe(expected);
      expect(read).toMatchObject({ chain: 1, contract: addr(0xc0), kind: 'balance' });
      // ownerOf is one read for every wallet, followed through any transfer of the contract.
      expect(read.account).toEqual(signature === 'ownerOf(uint256)' ? undefined : WALLET);
      expect(read.key).toBe(`balance:1:${toHex(addr(0xc0))}:${expected.slice(2)}`);
    }
  });

  it.each([
    [
      'hasAccess(bytes32,address) with [:contentId, :userAddress]',
      call(),
      [hex(CONTENT), hex(WALLET)],
    ],
    [
      'a uint256 :contentId',
      call({ function: 'tier(uint256,address)', params: [CONTENT_ID, USER_ADDRESS] }),
      [contentUint, hex(WALLET)],
    ],
    ['no params', call({ function: 'isOpen()', params: [] }), []],
    [
      'literals of each type',
      call({
        function: 'check(address,bool,bytes32,uint256)',
        params: [
          `0x${'ab'.repeat(20)}`,
          'true',
          `0x${'0c'.repeat(32)}`,
          '123456789012345678901234567890',
        ],
      }),
      [`0x${'ab'.repeat(20)}`, true, `0x${'0c'.repeat(32)}`, 123456789012345678901234567890n],
    ],
    [
      'literals at their edges',
      call({
        function: 'check(address,bool,bytes32,uint256)',
        params: [`0x${'00'.repeat(20)}`, 'false', `0x${'ff'.repeat(32)}`, MAX_UINT256.toString()],
      }),
      [`0x${'00'.repeat(20)}`, false, `0x${'ff'.repeat(32)}`, MAX_UINT256],
    ],
  ] as const)('evm-call %s', (_, condition, args) => {
    const expected = viemCalldata(condition.function, args);
    for (const k of [keccak, nobleSuite.keccak256]) {
      const read = callRead(k, condition, CTX);
      expect(hex(read.data)).toBe(expected);
      expect(read.kind).toBe('call');
      expect(read.account).toBeUndefined();
      expect(read.key).toBe(`call:10:${toHex(addr(0xc1))}:${expected.slice(2)}`);
    }
    expect(hex(selector(keccak, condition.function))).toBe(toFunctionSelector(condition.function));
  });

  it('a balance and an evm-call with the same calldata never share a cache entry', () => {
    const asBalance = balanceRead(keccak, balance(), CTX);
    const asCall = callRead(
      keccak,
      call({
        chain: 1,
        contract: addr(0xc0),
        function: 'balanceOf(address)',
        params: [USER_ADDRESS],
        returns: 'uint256',
      }),
      CTX,
    );
    expect(hex(asCall.data)).toBe(hex(asBalance.data));
    // The call is re-read every block; the balance only on a transfer: one entry would freeze the call.
    expect(asCall.key).not.toBe(asBalance.key);
  });

  // node/policy/chain.ts keeps one entry per key and invalidates it by its account: two reads with
  // one key must carry one rule, or a transfer naming neither requester would leave it stale.
  it.each([
    ['erc20', balance()],
    ['erc721 balanceOf', balance({ standard: 'erc721' })],
    ['erc1155', balance({ standard: 'erc1155', tokenId: 7n })],
    ['erc721 ownerOf', balance({ standard: 'erc721', tokenId: 7n })],
  ] as const)('%s: reads that share a cache key share their invalidation rule', (_, condition) => {
    const a = balanceRead(keccak, condition, CTX);
    const b = balanceRead(keccak, condition, { ...CTX, wallet: OTHER });
    if (a.key === b.key)
      expect({ kind: b.kind, account: b.account }).toEqual({ kind: a.kind, account: a.account });
    else expect(b.account).toEqual(OTHER);
  });
});

describe('leaf truth tables', () => {
  const table: readonly (readonly [Comparator, readonly [boolean, boolean, boolean]])[] = [
    ['==', [false, true, false]],
    ['!=', [true, false, true]],
    ['>', [false, false, true]],
    ['>=', [false, true, true]],
    ['<', [true, false, false]],
    ['<=', [true, true, false]],
  ];
  it.each(table)('%s compares a uint balance at value - 1, value, value + 1', (cmp, expected) => {
    const got = [99n, 100n, 101n].map((b) =>
      verdict(balance({ comparator: cmp, value: 100n }), always(ok(word(b)))),
    );
    expect(got).toEqual(expected);
  });

  it('compares at 0 and 2^256 - 1', () => {
    expect(verdict(balance({ comparator: '>=', value: 0n }), always(ok(word(0n))))).toBe(true);
    expect(verdict(balance({ comparator: '<', value: 0n }), always(ok(word(0n))))).toBe(false);
    expect(
      verdict(balance({ comparator: '>', value: MAX_UINT256 - 1n }), always(ok(word(MAX_UINT256)))),
    ).toBe(true);
    expect(
      verdict(balance({ comparator: '==', value: MAX_UINT256 }), always(ok(word(MAX_UINT256)))),
    ).toBe(true);
    expect(
      verdict(
        call({ returns: 'uint256', comparator: '<=', value: MAX_UINT256 }),
        always(ok(word(MAX_UINT256))),
      ),
    ).toBe(true);
  });

  it('erc721 ownerOf counts 1 when the wallet owns the token, 0 for another owner or a revert with a reason', () => {
    const owns = balance({ standard: 'erc721', tokenId: 7n, comparator: '>=', value: 1n });
    const none = balance({ standard: 'erc721', tokenId: 7n, comparator: '==', value: 0n });
    expect(verdict(owns, always(ok(ownerWord(WALLET))))).toBe(true);
    expect(verdict(owns, always(ok(ownerWord(OTHER))))).toBe(false);
    expect(verdict(none, always(ok(ownerWord(OTHER))))).toBe(true);
    expect(verdict(owns, always(REVERT))).toBe(false);
    expect(verdict(none, always(REVERT))).toBe(true);
    expect(verdict(not(owns), always(REVERT))).toBe(true);
    // Out of gas or a broken contract proves nothing: never access under not().
    expect(verdict(owns, always(BARE_REVERT))).toBe('unknown');
    expect(verdict(not(owns), always(BARE_REVERT))).toBe('unknown');
  });

  it('an ownerOf word that is not an address, or data not 32 bytes, proves nothing', () => {
    const owns = balance({ standard: 'erc721', tokenId: CONTENT_ID });
    const dirty = ownerWord(WALLET);
    dirty[0] = 1;
    expect(verdict(owns, always(ok(dirty)))).toBe('unknown');
    expect(verdict(not(owns), always(ok(dirty)))).toBe('unknown');
    expect(verdict(owns, always(ok(ownerWord(WALLET).subarray(1))))).toBe('unknown');
    expect(verdict(owns, always(ok(new Uint8Array([...ownerWord(WALLET), 0]))))).toBe('unknown');
  });

  it('a reverted or malformed balanceOf proves nothing', () => {
    for (const c of [
      balance(),
      balance({ standard: 'erc721' }),
      balance({ standard: 'erc1155', tokenId: 1n }),
    ]) {
      expect(verdict(c, always(REVERT))).toBe('unknown');
      expect(verdict(not(c), always(REVERT))).toBe('unknown');
      expect(verdict(c, always(ok(new Uint8Array(64))))).toBe('unknown');
      expect(verdict(c, always(ok(new Uint8Array(0))))).toBe('unknown');
    }
  });

  it('a bool evm-call is true on 1, false on 0, and proves nothing on 2 or a revert', () => {
    expect(verdict(call(), always(ok(word(1n))))).toBe(true);
    expect(verdict(call(), always(ok(word(0n))))).toBe(false);
    expect(verdict(call({ value: 0n }), always(ok(word(0n))))).toBe(true);
    expect(verdict(call(), always(ok(word(2n))))).toBe('unknown');
    expect(verdict(not(call()), always(ok(word(2n))))).toBe('unknown');
    expect(verdict(call(), always(REVERT))).toBe('unknown');
    expect(verdict(call(), always(ok(word(1n).subarray(1))))).toBe('unknown');
    expect(
      verdict(call({ returns: 'uint256', comparator: '>=', value: 2n }), always(ok(word(2n)))),
    ).toBe(true);
  });

  it('time admits from notBefore (inclusive) until notAfter (exclusive)', () => {
    const window: AccessPolicy = { kind: 'time', notBefore: 1000, notAfter: 2000 };
    const at = (p: AccessPolicy, now: number): Verdict =>
      verdict(p, always(undefined), { ...CTX, now });
    expect([999, 1000, 1500, 1999, 2000, 2001].map((t) => at(window, t))).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect([999, 1000].map((t) => at({ kind: 'time', notBefore: 1000 }, t))).toEqual([false, true]);
    expect([1999, 2000].map((t) => at({ kind: 'time', notAfter: 2000 }, t))).toEqual([true, false]);
  });

  it('publisher-only admits the publisher alone; an allowlist admits its wallets and the publisher', () => {
    const list: AccessPolicy = { kind: 'allowlist', addresses: [addr(0x01), WALLET] };
    const as = (p: AccessPolicy, wallet: Uint8Array): Verdict =>
      verdict(p, always(undefined), { ...CTX, wallet });
    expect([PUBLISHER, WALLET].map((w) => as({ kind: 'publisher-only' }, w))).toEqual([
      true,
      false,
    ]);
    expect([WALLET, addr(0x01), PUBLISHER, OTHER].map((w) => as(list, w))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(as({ kind: 'open' }, OTHER)).toBe(true);
  });
});

describe('three-valued logic', () => {
  const T: AccessPolicy = { kind: 'open' };
  const F: AccessPolicy = { kind: 'publisher-only' };
  const U = (chain = 1): AccessPolicy => balance({ chain });
  const v = (p: AccessPolicy): Verdict => verdict(p);

  it('and is false with any false child, unknown with an unknown and no false, else true', () => {
    expect([v(and(F, U())), v(and(U(), F)), v(and(T, U())), v(and(T, T)), v(and(T, F))]).toEqual([
      false,
      false,
      'unknown',
      true,
      false,
    ]);
  });

  it('or is true with any true child, unknown with an unknown and no true, else false', () => {
    expect([v(or(T, U())), v(or(U(), T)), v(or(F, U())), v(or(F, F)), v(or(F, T))]).toEqual([
      true,
      true,
      'unknown',
      false,
      true,
    ]);
  });

  it('not keeps unknown unknown, and not(not(x)) is x', () => {
    expect(v(not(U()))).toBe('unknown');
    for (const x of [T, F, U()]) expect(v(not(not(x)))).toBe(v(x));
  });

  it('missing lists the read of every unknown leaf once per leaf, walking every child', () => {
    const leaves = [
      balance({ chain: 1 }),
      call({ chain: 2 }),
      balance({ chain: 3, standard: 'erc721', tokenId: 9n }),
    ] as const;
    const tree = and(F, or(T, leaves[0]), not(leaves[1]), or(leaves[2], leaves[0]));
    const result = evaluatePolicy(keccak, tree, CTX, always(undefined));
    expect(result.verdict).toBe(false);
    const expected = [
      balanceRead(keccak, leaves[0], CTX),
      callRead(keccak, leaves[1], CTX),
      balanceRead(keccak, leaves[2], CTX),
      balanceRead(keccak, leaves[0], CTX),
    ];
    expect(result.missing.map((r) => r.key)).toEqual(expected.map((r) => r.key));
    expect(result.missing).toEqual(expected);
  });

  it('missing is empty when cached values decide, even values that prove nothing', () => {
    const a = balance({ chain: 1 });
    const b = call({ chain: 2 });
    const tree = or(and(a, not(b)), b);
    const held = stub([
      [balanceRead(keccak, a, CTX), ok(word(5n))],
      [callRead(keccak, b, CTX), ok(word(0n))],
    ]);
    expect(evaluatePolicy(keccak, tree, CTX, held)).toEqual({ verdict: true, missing: [] });
    const reverted = stub([
      [callRead(keccak, b, CTX), REVERT],
      [balanceRead(keccak, a, CTX), ok(word(5n))],
    ]);
    expect(evaluatePolicy(keccak, tree, CTX, reverted)).toEqual({
      verdict: 'unknown',
      missing: [],
    });
    const half = evaluatePolicy(
      keccak,
      tree,
      CTX,
      stub([[balanceRead(keccak, a, CTX), ok(word(0n))]]),
    );
    expect(half).toEqual({
      verdict: 'unknown',
      missing: [callRead(keccak, b, CTX), callRead(keccak, b, CTX)],
    });
  });
});

describe('readsChain', () => {
  it('is true for a chain leaf at any depth', () => {
    expect(readsChain(balance())).toBe(true);
    expect(
      readsChain(and({ kind: 'open' }, or({ kind: 'time', notAfter: 1 }, not(not(call()))))),
    ).toBe(true);
  });

  it('is false for wallet-only and time trees', () => {
    const tree = and(
      { kind: 'open' },
      not({ kind: 'publisher-only' }),
      or({ kind: 'allowlist', addresses: [OTHER] }, { kind: 'time', notBefore: 1 }),
    );
    expect([
      readsChain({ kind: 'open' }),
      readsChain({ kind: 'time', notAfter: 5 }),
      readsChain(tree),
    ]).toEqual([false, false, false]);
  });
});

describe('policyChains', () => {
  it('lists the chain ids a tree reads, ascending and unique, at any depth', () => {
    const tree = or(
      call({ chain: 137 }),
      and(balance({ chain: 1 }), not(not(not(call({ chain: 10 }))))),
      balance({ chain: 137 }),
      balance({ chain: 1 }),
    );
    expect(policyChains(tree)).toEqual([1, 10, 137]);
    expect(policyChains(balance({ chain: 8453 }))).toEqual([8453]);
  });

  it('is empty for wallet-only and time trees', () => {
    expect(
      policyChains(
        and(
          { kind: 'open' },
          not({ kind: 'publisher-only' }),
          or({ kind: 'allowlist', addresses: [addr(1)] }, { kind: 'time', notAfter: 1 }),
        ),
      ),
    ).toEqual([]);
  });
});
