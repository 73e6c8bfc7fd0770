// A condition tree's canonical CBOR: one map per condition, exact keys per
// kind. uint256 values are minimal big-endian byte strings (no leading zero
// byte; zero is the empty string). Decoding is strict and bounded: unknown
// keys, unknown kinds, literals that are not canonical and trees beyond
// POLICY_LIMITS are MALFORMED, so a manifest a node cannot evaluate is never
// stored. normalizePolicy puts a policy built by hand into its canonical form.
import type { CborValue } from '../codec/cbor.ts';
import {
  malformed,
  readArray,
  readBytes,
  readLiteral,
  readMap,
  readText,
  readTimestamp,
  readUint,
} from '../codec/read.ts';
import { ADDRESS_BYTES, MAX_ALLOWLIST_ENTRIES } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { checkParam, parseSignature } from './abi.ts';
import {
  COMPARATORS,
  CONTENT_ID,
  MAX_UINT256,
  POLICY_KINDS,
  POLICY_LIMITS,
  TOKEN_STANDARDS,
  type AccessPolicy,
  type EvmBalanceCondition,
  type EvmCallCondition,
} from './types.ts';

/** Chain ids are positive and fit a JSON number exactly. */
export const MAX_CHAIN_ID = Number.MAX_SAFE_INTEGER;

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function uintToBytes(value: bigint): Uint8Array {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Uint8Array.from(bytes);
}

function readUint256(value: unknown, field: string): bigint {
  const bytes = readBytes(value, field, undefined, 32);
  if (bytes.length > 0 && bytes[0] === 0) throw malformed(field, 'a minimal big-endian uint256');
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** What a tree holds so far, against POLICY_LIMITS. */
interface Tally {
  conditions: number;
  chainReads: number;
  addresses: number;
}

function count(tally: Tally, field: string, depth: number): void {
  if (depth > POLICY_LIMITS.maxDepth)
    throw malformed(field, `a condition tree at most ${POLICY_LIMITS.maxDepth} deep`);
  if (++tally.conditions > POLICY_LIMITS.maxConditions)
    throw malformed(field, `at most ${POLICY_LIMITS.maxConditions} conditions`);
}

function countChainRead(tally: Tally, field: string): void {
  if (++tally.chainReads > POLICY_LIMITS.maxChainReads)
    throw malformed(field, `at most ${POLICY_LIMITS.maxChainReads} chain conditions`);
}

function readAddresses(value: unknown, field: string, tally: Tally): Uint8Array[] {
  const addresses = readArray(value, field, MAX_ALLOWLIST_ENTRIES, 1).map((a, i) =>
    readBytes(a, `${field}[${i}]`, ADDRESS_BYTES),
  );
  for (let i = 1; i < addresses.length; i++) {
    if (compareBytes(addresses[i - 1] ?? new Uint8Array(0), addresses[i] ?? new Uint8Array(0)) >= 0)
      throw malformed(field, 'strictly ascending, unique addresses');
  }
  tally.addresses += addresses.length;
  if (tally.addresses > MAX_ALLOWLIST_ENTRIES)
    throw malformed(field, `at most ${MAX_ALLOWLIST_ENTRIES} addresses in all`);
  return addresses;
}

function readBalance(value: unknown, field: string): EvmBalanceCondition {
  const m = readMap(
    value,
    field,
    ['kind', 'chain', 'standard', 'contract', 'comparator', 'value'],
    ['tokenId'],
  );
  const standard = readLiteral(m['standard'], `${field}.standard`, TOKEN_STANDARDS);
  let tokenId: bigint | typeof CONTENT_ID | undefined;
  if (m['tokenId'] !== undefined) {
    if (standard === 'erc20') throw malformed(`${field}.tokenId`, 'no token id for erc20');
    tokenId =
      typeof m['tokenId'] === 'string'
        ? readLiteral(m['tokenId'], `${field}.tokenId`, [CONTENT_ID] as const)
        : readUint256(m['tokenId'], `${field}.tokenId`);
  } else if (standard === 'erc1155') {
    throw malformed(`${field}.tokenId`, 'a token id for erc1155');
  }
  return {
    kind: 'evm-balance',
    chain: readUint(m['chain'], `${field}.chain`, 1, MAX_CHAIN_ID),
    standard,
    contract: readBytes(m['contract'], `${field}.contract`, ADDRESS_BYTES),
    ...(tokenId === undefined ? {} : { tokenId }),
    comparator: readLiteral(m['comparator'], `${field}.comparator`, COMPARATORS),
    value: readUint256(m['value'], `${field}.value`),
  };
}

function readCall(value: unknown, field: string): EvmCallCondition {
  const m = readMap(value, field, [
    'kind',
    'chain',
    'contract',
    'function',
    'params',
    'returns',
    'comparator',
    'value',
  ]);
  const signature = readText(m['function'], `${field}.function`, POLICY_LIMITS.maxFunctionBytes);
  const types = parseSignature(signature, `${field}.function`);
  const params = readArray(m['params'], `${field}.params`, types.length, types.length).map((p, i) =>
    readText(p, `${field}.params[${i}]`, 80),
  );
  types.forEach((t, i) => {
    checkParam(t, params[i] ?? '', `${field}.params[${i}]`);
  });
  const returns = readLiteral(m['returns'], `${field}.returns`, ['bool', 'uint256'] as const);
  const comparisonValue = readUint256(m['value'], `${field}.value`);
  if (returns === 'bool' && comparisonValue > 1n)
    throw malformed(`${field}.value`, '0 or 1 for a bool');
  return {
    kind: 'evm-call',
    chain: readUint(m['chain'], `${field}.chain`, 1, MAX_CHAIN_ID),
    contract: readBytes(m['contract'], `${field}.contract`, ADDRESS_BYTES),
    function: signature,
    params,
    returns,
    comparator: readLiteral(m['comparator'], `${field}.comparator`, COMPARATORS),
    value: comparisonValue,
  };
}

function readCondition(value: unknown, field: string, depth: number, tally: Tally): AccessPolicy {
  count(tally, field, depth);
  const kind = readLiteral(
    (value as { kind?: unknown } | null)?.kind,
    `${field}.kind`,
    POLICY_KINDS,
  );
  switch (kind) {
    case 'open':
    case 'publisher-only':
      readMap(value, field, ['kind']);
      return { kind };
    case 'allowlist': {
      const m = readMap(value, field, ['kind', 'addresses']);
      return { kind, addresses: readAddresses(m['addresses'], `${field}.addresses`, tally) };
    }
    case 'evm-balance':
      countChainRead(tally, field);
      return readBalance(value, field);
    case 'evm-call':
      countChainRead(tally, field);
      return readCall(value, field);
    case 'time': {
      const m = readMap(value, field, ['kind'], ['notBefore', 'notAfter']);
      const notBefore =
        m['notBefore'] === undefined
          ? undefined
          : readTimestamp(m['notBefore'], `${field}.notBefore`);
      const notAfter =
        m['notAfter'] === undefined ? undefined : readTimestamp(m['notAfter'], `${field}.notAfter`);
      if (notBefore === undefined && notAfter === undefined)
        throw malformed(field, 'notBefore, notAfter or both');
      if (notBefore !== undefined && notAfter !== undefined && notBefore >= notAfter)
        throw malformed(field, 'notBefore before notAfter');
      return {
        kind,
        ...(notBefore === undefined ? {} : { notBefore }),
        ...(notAfter === undefined ? {} : { notAfter }),
      };
    }
    case 'and':
    case 'or': {
      const m = readMap(value, field, ['kind', 'conditions']);
      const items = readArray(
        m['conditions'],
        `${field}.conditions`,
        POLICY_LIMITS.maxConditions,
        2,
      );
      return {
        kind,
        conditions: items.map((c, i) =>
          readCondition(c, `${field}.conditions[${i}]`, depth + 1, tally),
        ),
      };
    }
    case 'not': {
      const m = readMap(value, field, ['kind', 'condition']);
      return {
        kind,
        condition: readCondition(m['condition'], `${field}.condition`, depth + 1, tally),
      };
    }
  }
}

/** Decodes a condition tree from CBOR, strictly and within POLICY_LIMITS (MALFORMED otherwise). */
export function policyFromCbor(value: unknown, field: string): AccessPolicy {
  return readCondition(value, field, 1, { conditions: 0, chainReads: 0, addresses: 0 });
}

export function policyToCbor(policy: AccessPolicy): CborValue {
  switch (policy.kind) {
    case 'open':
    case 'publisher-only':
      return { kind: policy.kind };
    case 'allowlist':
      return { kind: policy.kind, addresses: [...policy.addresses] };
    case 'evm-balance':
      return {
        kind: policy.kind,
        chain: policy.chain,
        standard: policy.standard,
        contract: policy.contract,
        ...(policy.tokenId === undefined
          ? {}
          : {
              tokenId:
                typeof policy.tokenId === 'string' ? policy.tokenId : uintToBytes(policy.tokenId),
            }),
        comparator: policy.comparator,
        value: uintToBytes(policy.value),
      };
    case 'evm-call':
      return {
        kind: policy.kind,
        chain: policy.chain,
        contract: policy.contract,
        function: policy.function,
        params: [...policy.params],
        returns: policy.returns,
        comparator: policy.comparator,
        value: uintToBytes(policy.value),
      };
    case 'time':
      return {
        kind: policy.kind,
        ...(policy.notBefore === undefined ? {} : { notBefore: policy.notBefore }),
        ...(policy.notAfter === undefined ? {} : { notAfter: policy.notAfter }),
      };
    case 'and':
    case 'or':
      return { kind: policy.kind, conditions: policy.conditions.map(policyToCbor) };
    case 'not':
      return { kind: policy.kind, condition: policyToCbor(policy.condition) };
  }
}

function checkUint(value: bigint, field: string): void {
  if (value < 0n || value > MAX_UINT256) throw malformed(field, 'a uint256 (0 to 2^256 - 1)');
}

/** The fields each kind has: a policy built by hand with another is refused, not silently dropped. */
const FIELDS: Readonly<Record<string, readonly string[]>> = {
  open: ['kind'],
  'publisher-only': ['kind'],
  allowlist: ['kind', 'addresses'],
  'evm-balance': ['kind', 'chain', 'standard', 'contract', 'tokenId', 'comparator', 'value'],
  'evm-call': ['kind', 'chain', 'contract', 'function', 'params', 'returns', 'comparator', 'value'],
  time: ['kind', 'notBefore', 'notAfter'],
  and: ['kind', 'conditions'],
  or: ['kind', 'conditions'],
  not: ['kind', 'condition'],
};

/**
 * Sorts allowlists; checks what the CBOR form cannot carry (fields the kind
 * does not have, negative or too large numbers).
 */
function normalizeTree(policy: AccessPolicy, field: string): AccessPolicy {
  const fields = FIELDS[(policy as { kind?: unknown }).kind as string] ?? ['kind'];
  for (const [key, value] of Object.entries(policy))
    if (value !== undefined && !fields.includes(key))
      throw malformed(field, `no field '${key.slice(0, 32)}' in a ${policy.kind} condition`);
  switch (policy.kind) {
    case 'allowlist': {
      const sorted = policy.addresses
        .map((a, i) => {
          if (!(a instanceof Uint8Array) || a.length !== ADDRESS_BYTES)
            throw malformed(`${field}.addresses[${i}]`, `${ADDRESS_BYTES} bytes`);
          return a;
        })
        .sort(compareBytes);
      const unique = sorted.filter((a, i) => i === 0 || compareBytes(sorted[i - 1] ?? a, a) !== 0);
      return { kind: 'allowlist', addresses: unique };
    }
    case 'evm-balance':
    case 'evm-call':
      checkUint(policy.value, `${field}.value`);
      if (policy.kind === 'evm-balance' && typeof policy.tokenId === 'bigint')
        checkUint(policy.tokenId, `${field}.tokenId`);
      return policy;
    case 'and':
    case 'or':
      return {
        kind: policy.kind,
        conditions: policy.conditions.map((c, i) => normalizeTree(c, `${field}.conditions[${i}]`)),
      };
    case 'not':
      return { kind: 'not', condition: normalizeTree(policy.condition, `${field}.condition`) };
    default:
      return policy;
  }
}

/**
 * The canonical form of a policy built by hand (allowlists sorted and
 * de-duplicated), checked against every rule decoding applies: what this
 * returns decodes back to itself. A policy that breaks a rule is INVALID_ARGUMENT.
 */
export function normalizePolicy(policy: AccessPolicy): AccessPolicy {
  try {
    return policyFromCbor(policyToCbor(normalizeTree(policy, 'policy')), 'policy');
  } catch (e) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      e instanceof Error ? e.message : 'invalid policy',
      { cause: e },
    );
  }
}

/** The chain ids a policy reads, ascending and unique. */
export function policyChains(policy: AccessPolicy): number[] {
  const chains = new Set<number>();
  const walk = (p: AccessPolicy): void => {
    if (p.kind === 'evm-balance' || p.kind === 'evm-call') chains.add(p.chain);
    else if (p.kind === 'and' || p.kind === 'or') p.conditions.forEach(walk);
    else if (p.kind === 'not') walk(p.condition);
  };
  walk(policy);
  return [...chains].sort((a, b) => a - b);
}
