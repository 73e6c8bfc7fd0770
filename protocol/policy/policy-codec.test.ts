// Long file: one table of rules, each with its refusal; the round trips and limits share the builders.
// The condition language's wire and file forms: canonical CBOR and JSON round
// trips (by example and by property), one strict-decode rejection per rule,
// POLICY_LIMITS at their edges, a deep policy inside a real signed manifest
// and publish frame, and normalizePolicy.
import fc from 'fast-check';
import { addr, and, balance, call, not, nots, or } from '../../test/support/policy-builders.ts';
import { describe, expect, it } from 'vitest';
import {
  contentFixture,
  FIXTURE_TIME,
  quorumFixture,
  sessionFixture,
} from '../../test/support/protocol-fixture.ts';
import { toHex } from '../bytes.ts';
import { decodeCanonical, encodeCanonical } from '../codec/cbor.ts';
import { MAX_FRAME_BYTES, MAX_TIMESTAMP_MS } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import { decodeManifest, encodeManifest, verifyManifest } from '../manifest.ts';
import { decodeMessage, encodeMessage } from '../messages/registry.ts';
import { requireNativeSuite } from '../suite/native.ts';
import {
  ABI_TYPES,
  COMPARATORS,
  CONTENT_ID,
  MAX_UINT256,
  normalizePolicy,
  POLICY_LIMITS,
  policyFromCbor,
  policyFromJson,
  policyToCbor,
  policyToJson,
  TOKEN_STANDARDS,
  USER_ADDRESS,
  type AbiType,
  type AccessPolicy,
} from './index.ts';

const code = (c: string): unknown => expect.objectContaining({ code: c });
/** n distinct addresses, ascending, starting from `from`. */
const addresses = (n: number, from = 0): Uint8Array[] =>
  Array.from({ length: n }, (_, i) =>
    Uint8Array.from({ length: 20 }, (_, j) =>
      j < 18 ? 0 : j === 18 ? (from + i) >> 8 : (from + i) & 0xff,
    ),
  );
const wire = (p: AccessPolicy): Uint8Array => encodeCanonical(policyToCbor(p));
const decode = (value: unknown): AccessPolicy => policyFromCbor(value, 'policy');
const cbor = (p: AccessPolicy): Record<string, unknown> =>
  policyToCbor(p) as Record<string, unknown>;

const OPEN: AccessPolicy = { kind: 'open' };

const EXAMPLES: readonly (readonly [string, AccessPolicy])[] = [
  ['open', OPEN],
  ['publisher-only', { kind: 'publisher-only' }],
  ['allowlist', { kind: 'allowlist', addresses: [addr(1), addr(2), addr(0xff)] }],
  ['erc20 balance', balance({ value: 10n ** 18n })],
  ['erc20 balance of zero', balance({ comparator: '==', value: 0n })],
  ['erc721 balance', balance({ standard: 'erc721', comparator: '>', value: 0n })],
  ['erc721 owner of a token', balance({ standard: 'erc721', tokenId: 0n })],
  ['erc721 owner of the content', balance({ standard: 'erc721', tokenId: CONTENT_ID })],
  ['erc1155 balance', balance({ standard: 'erc1155', tokenId: MAX_UINT256, value: MAX_UINT256 })],
  ['evm-call bool', call()],
  [
    'evm-call uint256',
    call({
      function: 'level(address)',
      params: [USER_ADDRESS],
      returns: 'uint256',
      comparator: '<=',
      value: 3n,
    }),
  ],
  ['evm-call no params', call({ function: 'isOpen()', params: [], value: 0n, comparator: '!=' })],
  [
    'evm-call of literals',
    call({
      function: 'check(address,bool,bytes32,uint256)',
      params: [`0x${'ab'.repeat(20)}`, 'false', `0x${'0c'.repeat(32)}`, MAX_UINT256.toString()],
      returns: 'uint256',
      comparator: '<',
      value: 7n,
    }),
  ],
  ['time, both bounds', { kind: 'time', notBefore: FIXTURE_TIME, notAfter: FIXTURE_TIME + 1 }],
  ['time, notBefore only', { kind: 'time', notBefore: 0 }],
  ['time, notAfter only', { kind: 'time', notAfter: MAX_TIMESTAMP_MS }],
  ['nested and/or/not', and(or(balance(), call()), not({ kind: 'time', notAfter: 5 }), OPEN)],
];

describe('policy round trips', () => {
  it.each(EXAMPLES)('%s survives CBOR bytes and JSON text unchanged', (_, policy) => {
    const bytes = wire(policy);
    const back = decode(decodeCanonical(bytes, 1 << 16));
    expect(back).toEqual(policy);
    expect(toHex(wire(back))).toBe(toHex(bytes));
    const json = JSON.parse(JSON.stringify(policyToJson(policy))) as unknown;
    expect(policyFromJson(json)).toEqual(policy);
    expect(normalizePolicy(policy)).toEqual(policy);
  });

  it('writes uint256 values as minimal big-endian bytes and decimal JSON strings', () => {
    const c = cbor(balance({ standard: 'erc1155', tokenId: 0x0100n, value: 0n }));
    expect(c['tokenId']).toEqual(Uint8Array.of(1, 0));
    expect(c['value']).toEqual(new Uint8Array(0));
    const j = policyToJson(balance({ value: 10n ** 30n }));
    expect(j['value']).toBe('1000000000000000000000000000000');
    expect(policyToJson(call({ value: 0n }))['value']).toBe(false);
    expect(policyToJson({ kind: 'time', notBefore: 0 })).toEqual({
      kind: 'time',
      notBefore: '1970-01-01T00:00:00.000Z',
    });
  });

  it('reads the JSON file forms publishers write: any-case hex, numbers, RFC 3339, unsorted lists', () => {
    const policy = policyFromJson({
      kind: 'and',
      conditions: [
        {
          kind: 'allowlist',
          addresses: [`0x${'BB'.repeat(20)}`, `0x${'aa'.repeat(20)}`, `0x${'bb'.repeat(20)}`],
        },
        {
          kind: 'evm-balance',
          chain: 1,
          standard: 'erc721',
          contract: `0x${'C0'.repeat(20)}`,
          comparator: '>=',
          value: 1,
        },
        { kind: 'time', notBefore: '2027-01-15T09:00:00+01:00', notAfter: FIXTURE_TIME + 1 },
      ],
    });
    expect(policy).toEqual(
      and(
        { kind: 'allowlist', addresses: [addr(0xaa), addr(0xbb)] },
        balance({ standard: 'erc721' }),
        { kind: 'time', notBefore: FIXTURE_TIME, notAfter: FIXTURE_TIME + 1 },
      ),
    );
  });

  it.each([
    ['an unknown field', { kind: 'open', extra: 1 }],
    ['an unknown kind', { kind: 'xor' }],
    ['a short address', { kind: 'allowlist', addresses: ['0x1234'] }],
    ['a negative value', { ...policyToJson(balance()), value: '-1' }],
    [
      '17 children',
      { kind: 'or', conditions: Array.from({ length: 17 }, () => ({ kind: 'open' })) },
    ],
    ['a decode rule (tokenId on erc20)', { ...policyToJson(balance()), tokenId: '1' }],
    ['a time that is not RFC 3339', { kind: 'time', notBefore: '15 Jan 2027' }],
  ])('policyFromJson refuses %s with INVALID_ARGUMENT', (_, json) => {
    expect(() => policyFromJson(json)).toThrow(code(ErrorCode.INVALID_ARGUMENT));
  });
});

// Arbitrary valid trees: leaves of every kind, combinators up to POLICY_LIMITS.maxDepth.
const bytes = (n: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: n, maxLength: n });
const hexText = (n: number): fc.Arbitrary<string> => bytes(n).map((b) => `0x${toHex(b)}`);
const uint256 = fc.bigInt({ min: 0n, max: MAX_UINT256 });
const chain = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const comparator = fc.constantFrom(...COMPARATORS);
const param = (t: AbiType): fc.Arbitrary<string> =>
  t === 'address'
    ? fc.oneof(fc.constant(USER_ADDRESS), hexText(20))
    : t === 'bool'
      ? fc.constantFrom('true', 'false')
      : t === 'bytes32'
        ? fc.oneof(fc.constant(CONTENT_ID), hexText(32))
        : fc.oneof(fc.constant(CONTENT_ID), uint256.map(String));
const sortedAddresses = fc
  .uniqueArray(bytes(20), { minLength: 1, maxLength: 4, selector: toHex })
  .map((list) => [...list].sort((a, b) => (toHex(a) < toHex(b) ? -1 : 1)));
const timestamp = fc.option(fc.integer({ min: 0, max: MAX_TIMESTAMP_MS }), { nil: undefined });

const leaf: fc.Arbitrary<AccessPolicy> = fc.oneof(
  fc.constant({ kind: 'open' } as const),
  fc.constant({ kind: 'publisher-only' } as const),
  sortedAddresses.map((a): AccessPolicy => ({ kind: 'allowlist', addresses: a })),
  fc
    .tuple(
      fc.constantFrom(...TOKEN_STANDARDS),
      fc.option(fc.oneof(fc.constant(CONTENT_ID), uint256), { nil: undefined }),
      chain,
      bytes(20),
      comparator,
      uint256,
    )
    .map(([standard, t, ch, contract, cmp, value]): AccessPolicy => {
      const tokenId =
        standard === 'erc20' ? undefined : standard === 'erc1155' ? (t ?? CONTENT_ID) : t;
      return {
        kind: 'evm-balance',
        chain: ch,
        standard,
        contract,
        ...(tokenId === undefined ? {} : { tokenId }),
        comparator: cmp,
        value,
      };
    }),
  fc
    .record({
      chain,
      contract: bytes(20),
      name: fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_$]{0,15}$/),
      types: fc.array(fc.constantFrom(...ABI_TYPES), { maxLength: POLICY_LIMITS.maxParams }),
      returns: fc.constantFrom('bool' as const, 'uint256' as const),
      comparator,
    })
    .chain(({ name, types, returns, ...rest }) =>
      fc
        .tuple(
          fc.tuple(...types.map(param)),
          returns === 'bool' ? fc.bigInt({ min: 0n, max: 1n }) : uint256,
        )
        .map(([params, value]): AccessPolicy => ({
          kind: 'evm-call',
          ...rest,
          function: `${name}(${types.join(',')})`,
          params,
          returns,
          value,
        })),
    ),
  fc
    .tuple(timestamp, timestamp)
    .filter(
      ([a, b]) =>
        (a !== undefined || b !== undefined) && (a === undefined || b === undefined || a < b),
    )
    .map(([a, b]): AccessPolicy => ({
      kind: 'time',
      ...(a === undefined ? {} : { notBefore: a }),
      ...(b === undefined ? {} : { notAfter: b }),
    })),
);

const trees = new Map<number, fc.Arbitrary<AccessPolicy>>();
function tree(depth: number): fc.Arbitrary<AccessPolicy> {
  const known = trees.get(depth);
  if (known !== undefined) return known;
  const child = depth <= 1 ? undefined : tree(depth - 1);
  const made =
    child === undefined
      ? leaf
      : fc.oneof(
          { arbitrary: leaf, weight: 3 },
          {
            arbitrary: fc
              .tuple(
                fc.constantFrom('and' as const, 'or' as const),
                fc.array(child, { minLength: 2, maxLength: 3 }),
              )
              .map(([kind, conditions]): AccessPolicy => ({ kind, conditions })),
            weight: 1,
          },
          { arbitrary: child.map(not), weight: 1 },
        );
  trees.set(depth, made);
  return made;
}

function tally(p: AccessPolicy): { conditions: number; chainReads: number } {
  const kids =
    p.kind === 'and' || p.kind === 'or' ? p.conditions : p.kind === 'not' ? [p.condition] : [];
  return kids.map(tally).reduce(
    (s, k) => ({
      conditions: s.conditions + k.conditions,
      chainReads: s.chainReads + k.chainReads,
    }),
    {
      conditions: 1,
      chainReads: p.kind === 'evm-balance' || p.kind === 'evm-call' ? 1 : 0,
    },
  );
}
const validTree = tree(POLICY_LIMITS.maxDepth).filter((p) => {
  const t = tally(p);
  return t.conditions <= POLICY_LIMITS.maxConditions && t.chainReads <= POLICY_LIMITS.maxChainReads;
});

it('any valid tree within the limits round-trips through CBOR bytes, JSON text and normalizePolicy', () => {
  fc.assert(
    fc.property(validTree, (policy) => {
      const bytes = wire(policy);
      const back = decode(decodeCanonical(bytes, 1 << 16));
      expect(back).toEqual(policy);
      expect(toHex(wire(back))).toBe(toHex(bytes));
      expect(policyFromJson(JSON.parse(JSON.stringify(policyToJson(policy))))).toEqual(policy);
      expect(normalizePolicy(policy)).toEqual(policy);
    }),
    { numRuns: 500 },
  );
});

describe('strict decoding', () => {
  const signature = (fn: string, params: string[]): Record<string, unknown> => ({
    ...cbor(call()),
    function: fn,
    params,
  });
  const REJECTED: readonly (readonly [string, unknown])[] = [
    ['an unknown key at a leaf', { ...cbor(balance()), extra: 1 }],
    ['an unknown key in a combinator', { ...cbor(and(OPEN, OPEN)), extra: 1 }],
    ['an unknown kind', { kind: 'xor' }],
    ['a tokenId on erc20', { ...cbor(balance()), tokenId: Uint8Array.of(1) }],
    ['an erc1155 balance without a tokenId', cbor(balance({ standard: 'erc1155' }))],
    [
      'a tokenId text other than :contentId',
      { ...cbor(balance({ standard: 'erc721' })), tokenId: ':userAddress' },
    ],
    [
      'a uint256 value with a leading zero byte',
      { ...cbor(balance()), value: Uint8Array.of(0, 1) },
    ],
    ['zero written as one zero byte', { ...cbor(balance()), value: Uint8Array.of(0) }],
    [
      'a uint256 tokenId with a leading zero byte',
      { ...cbor(balance({ standard: 'erc721', tokenId: 1n })), tokenId: Uint8Array.of(0, 1) },
    ],
    ['a 33-byte value', { ...cbor(balance()), value: new Uint8Array(33).fill(1) }],
    ['a bool evm-call compared with 2', { ...cbor(call()), value: Uint8Array.of(2) }],
    [
      'a signature with a dynamic type',
      signature('hasAccess(bytes,address)', ['0x01', USER_ADDRESS]),
    ],
    ['a signature without parentheses', signature('hasAccess', [])],
    [
      'a signature with 9 params',
      signature(`f(${Array(9).fill('address').join(',')})`, Array<string>(9).fill(USER_ADDRESS)),
    ],
    ['a signature with a space', signature('f(address, address)', [USER_ADDRESS, USER_ADDRESS])],
    [':userAddress for a bytes32', signature('f(bytes32)', [USER_ADDRESS])],
    [':contentId for an address', signature('f(address)', [CONTENT_ID])],
    ['an upper-case hex address literal', signature('f(address)', [`0x${'AB'.repeat(20)}`])],
    ['a uint literal with a leading zero', signature('f(uint256)', ['01'])],
    ['a uint literal above 2^256 - 1', signature('f(uint256)', [(MAX_UINT256 + 1n).toString()])],
    ['a bool literal other than true/false', signature('f(bool)', ['1'])],
    ['fewer params than types', signature('hasAccess(bytes32,address)', [CONTENT_ID])],
    [
      'more params than types',
      signature('hasAccess(bytes32,address)', [CONTENT_ID, USER_ADDRESS, USER_ADDRESS]),
    ],
    ['an and with 1 child', { kind: 'and', conditions: [cbor(OPEN)] }],
    ['an or with no children', { kind: 'or', conditions: [] }],
    ['depth 6', cbor(nots(5, OPEN))],
    ['17 conditions', cbor(and(...Array<AccessPolicy>(16).fill(OPEN)))],
    [
      '9 chain reads',
      cbor(and(...Array.from({ length: 9 }, (_, i) => balance({ value: BigInt(i) })))),
    ],
    [
      'two allowlists of 200 (400 addresses in all)',
      cbor(
        or(
          { kind: 'allowlist', addresses: addresses(200) },
          { kind: 'allowlist', addresses: addresses(200, 200) },
        ),
      ),
    ],
    ['an unsorted allowlist', cbor({ kind: 'allowlist', addresses: [addr(2), addr(1)] })],
    ['an allowlist with a duplicate', cbor({ kind: 'allowlist', addresses: [addr(1), addr(1)] })],
    ['an empty allowlist', { kind: 'allowlist', addresses: [] }],
    ['a time with neither bound', { kind: 'time' }],
    ['a time with notBefore = notAfter', cbor({ kind: 'time', notBefore: 5, notAfter: 5 })],
    ['a time with notBefore > notAfter', cbor({ kind: 'time', notBefore: 6, notAfter: 5 })],
    ['chain id 0 on a balance', cbor(balance({ chain: 0 }))],
    ['chain id 0 on a call', cbor(call({ chain: 0 }))],
  ];

  it.each(REJECTED)('refuses %s as MALFORMED', (_, value) => {
    expect(() => decode(value)).toThrow(code(ErrorCode.MALFORMED));
  });

  it('the rejected values are otherwise canonical CBOR: the policy decoder is what refuses them', () => {
    for (const [, value] of REJECTED) {
      const bytes = encodeCanonical(value as Parameters<typeof encodeCanonical>[0]);
      expect(() => decode(decodeCanonical(bytes, 1 << 16))).toThrow(code(ErrorCode.MALFORMED));
    }
  });
});

describe('limits at their edges', () => {
  const DEPTH_5 = and(
    OPEN,
    or(balance(), not(and(call(), { kind: 'allowlist', addresses: [addr(3)] }))),
  );

  it.each([
    ['depth exactly 5', DEPTH_5],
    ['depth 5 of nots', nots(4, OPEN)],
    ['exactly 16 conditions', and(...Array<AccessPolicy>(15).fill(OPEN))],
    [
      'exactly 8 chain reads',
      and(
        ...Array.from({ length: 8 }, (_, i) =>
          i % 2 === 0 ? balance({ value: BigInt(i) }) : call({ chain: i }),
        ),
      ),
    ],
    [
      'exactly 256 addresses in all',
      or(
        { kind: 'allowlist', addresses: addresses(128) },
        { kind: 'allowlist', addresses: addresses(128, 128) },
      ),
    ],
    [
      '8 params',
      call({
        function: `f(${Array(8).fill('bytes32').join(',')})`,
        params: Array<string>(8).fill(CONTENT_ID),
      }),
    ],
  ])('%s decodes', (_, policy) => {
    expect(decode(decodeCanonical(wire(policy), 1 << 16))).toEqual(policy);
  });
});

describe('a deep policy in a signed manifest', () => {
  const suite = requireNativeSuite();
  const { nodeSet } = quorumFixture(suite);
  const DEEP = and(
    { kind: 'allowlist', addresses: [addr(1), addr(2)] },
    or({ kind: 'time', notBefore: FIXTURE_TIME }, and(call(), not(balance()))),
  );
  const sealed = { enc: new Uint8Array(1120).fill(1), ciphertext: new Uint8Array(80).fill(2) };

  it('nests deeper than the old CBOR cap of 8 and still decodes through decodeManifest', async () => {
    const publisher = await sessionFixture(suite, nodeSet);
    const { manifest } = contentFixture(suite, nodeSet, publisher, DEEP);
    const bytes = encodeManifest(manifest);
    expect(() => decodeCanonical(bytes, MAX_FRAME_BYTES.publish, 8)).toThrow(
      code(ErrorCode.MALFORMED),
    );
    const back = decodeManifest(bytes);
    expect(back.body.policy).toEqual(DEEP);
    expect(toHex(encodeManifest(back))).toBe(toHex(bytes));
    verifyManifest(suite, back, nodeSet, FIXTURE_TIME + 2000);
    const message = encodeMessage({ type: 'publish', manifest, sealed });
    expect(message.length).toBeLessThan(MAX_FRAME_BYTES.publish);
    expect(decodeMessage(message, MAX_FRAME_BYTES.publish, ['publish']).manifest).toEqual(manifest);
  });

  it('a publish frame with the largest policy the limits allow stays under MAX_FRAME_BYTES.publish', async () => {
    const publisher = await sessionFixture(suite, nodeSet);
    const longest = `${'f'.repeat(63)}(${Array(8).fill('bytes32').join(',')})`;
    expect(longest.length).toBe(POLICY_LIMITS.maxFunctionBytes);
    const big = (i: number): AccessPolicy =>
      call({
        chain: i + 1,
        function: longest,
        params: Array<string>(8).fill(`0x${'ee'.repeat(32)}`),
        returns: 'uint256',
        value: MAX_UINT256,
      });
    const time: AccessPolicy = { kind: 'time', notBefore: 1, notAfter: MAX_TIMESTAMP_MS };
    const largest = and(
      { kind: 'allowlist', addresses: addresses(256) },
      ...Array.from({ length: 7 }, (_, i) => big(i)),
      or(big(7), nots(2, time)),
      time,
      time,
    );
    const { manifest } = contentFixture(suite, nodeSet, publisher, largest, 2);
    const message = encodeMessage({ type: 'publish', manifest, sealed });
    expect(message.length).toBeLessThan(MAX_FRAME_BYTES.publish);
    expect(
      decodeMessage(message, MAX_FRAME_BYTES.publish, ['publish']).manifest.body.policy,
    ).toEqual(largest);
  });
});

describe('JSON times', () => {
  it('takes RFC 3339 times and refuses impossible ones that Date.parse would roll over', () => {
    expect(policyFromJson({ kind: 'time', notBefore: '2028-02-29T00:00:00+01:00' })).toEqual({
      kind: 'time',
      notBefore: Date.UTC(2028, 1, 28, 23),
    });
    for (const t of [
      '2026-02-30T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-12-31T00:00:00+25:00',
      '2026-12-31',
    ]) {
      expect(() => policyFromJson({ kind: 'time', notAfter: t }), t).toThrow(
        code(ErrorCode.INVALID_ARGUMENT),
      );
    }
  });
});

describe('normalizePolicy', () => {
  it('sorts and de-duplicates allowlists at any depth, without touching its input', () => {
    const input = and(
      { kind: 'allowlist', addresses: [addr(9), addr(3), addr(9)] },
      not(
        or(
          OPEN,
          nots(1, { kind: 'allowlist', addresses: [addr(7), addr(1), addr(7), addr(1), addr(4)] }),
        ),
      ),
    );
    const before = JSON.stringify(policyToJson(input));
    expect(normalizePolicy(input)).toEqual(
      and(
        { kind: 'allowlist', addresses: [addr(3), addr(9)] },
        not(or(OPEN, nots(1, { kind: 'allowlist', addresses: [addr(1), addr(4), addr(7)] }))),
      ),
    );
    expect(JSON.stringify(policyToJson(input))).toBe(before);
  });

  it.each([
    ['a tokenId on erc20', balance({ tokenId: 1n })],
    ['a value above 2^256 - 1', balance({ value: MAX_UINT256 + 1n })],
    ['a nested value above 2^256 - 1', not(call({ returns: 'uint256', value: MAX_UINT256 + 1n }))],
    ['a bool call compared with 2', call({ value: 2n })],
    ['a bad signature', call({ function: 'hasAccess(bytes,address)' })],
    ['a param of the wrong type', call({ params: [USER_ADDRESS, USER_ADDRESS] })],
    ['an and with 1 child', { kind: 'and', conditions: [OPEN] }],
    ['depth 6', nots(5, OPEN)],
    ['an allowlist empty', { kind: 'allowlist', addresses: [] }],
    ['notBefore = notAfter', { kind: 'time', notBefore: 3, notAfter: 3 }],
    ['a fractional time', { kind: 'time', notBefore: 1.5 }],
    ['chain id 0', balance({ chain: 0 })],
    ['a 19-byte contract', balance({ contract: new Uint8Array(19) })],
    // A negative value would encode as the empty string (0n): refused instead.
    ['a negative value', balance({ comparator: '>', value: -1n })],
    // Likewise a negative token id (token 0).
    ['a negative tokenId', balance({ standard: 'erc721', tokenId: -5n })],
    // A wrong-length address is INVALID_ARGUMENT like every other rule.
    ['a 19-byte allowlist address', { kind: 'allowlist', addresses: [new Uint8Array(19)] }],
    // A field the kind does not have is refused, never dropped: `tokenID` dropped would make
    // "owns token 5" into "holds any token of the contract".
    ['a misspelt field', { ...balance({ standard: 'erc721' }), tokenID: 5n }],
    ['a field of another kind, nested', not({ kind: 'open', addresses: [addr(1)] } as never)],
  ])('refuses %s with INVALID_ARGUMENT', (_, policy) => {
    expect(() => normalizePolicy(policy as AccessPolicy)).toThrow(code(ErrorCode.INVALID_ARGUMENT));
  });
});
