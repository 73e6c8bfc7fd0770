// A condition tree as JSON, the form publishers write in policy files and
// `qkms dev chain policy` prints (docs/policies.md). It mirrors the CBOR form
// field for field; only the value types differ: addresses and byte strings
// are 0x-hex (any case), uint256 values decimal strings (or JSON integers up
// to 2^53), times RFC 3339 strings or milliseconds, a bool evm-call's value
// true or false. Parsing refuses unknown fields like the CBOR decoder, then
// runs the decoder's own checks (normalizePolicy), so a file that parses is a
// policy every node decodes.
import { toHex } from '../bytes.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { normalizePolicy } from './codec.ts';
import type { AccessPolicy, Comparator, TokenStandard } from './types.ts';
import { CONTENT_ID, POLICY_LIMITS } from './types.ts';

export type PolicyJson = Record<string, unknown>;

function bad(field: string, expected: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, `${field}: expected ${expected}`);
}

function object(
  value: unknown,
  field: string,
  keys: readonly string[],
  optional: readonly string[] = [],
): PolicyJson {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(field, 'an object');
  const o = value as PolicyJson;
  for (const k of Object.keys(o))
    if (!keys.includes(k) && !optional.includes(k))
      throw bad(field, `no field "${k.slice(0, 32)}"`);
  for (const k of keys) if (!(k in o)) throw bad(`${field}.${k}`, 'a value');
  return o;
}

function address(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value))
    throw bad(field, 'an address (0x + 40 hex)');
  const hex = value.slice(2).toLowerCase();
  return Uint8Array.from({ length: 20 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

function uint(value: unknown, field: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^(0|[1-9][0-9]{0,77})$/.test(value)) return BigInt(value);
  throw bad(field, 'a non-negative integer (decimal string)');
}

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,3})?(Z|[+-](\d\d):(\d\d))$/;

/** Whether Y-M-D h:m:s (and an offset's hours and minutes) are a real date and time. */
function realDateTime(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[8] === 'Z' || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetOk
  );
}

function time(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    // Date.parse alone rolls 2026-02-30 over into March: every field is checked first.
    const m = RFC3339.exec(value);
    const ms = Date.parse(value);
    if (m !== null && realDateTime(m) && Number.isFinite(ms) && ms >= 0) return ms;
  }
  throw bad(field, 'an RFC 3339 time (2026-12-31T00:00:00Z) or milliseconds');
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw bad(field, 'a string');
  return value;
}

function chain(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw bad(field, 'a chain id');
  return value;
}

function fromJson(value: unknown, field: string): AccessPolicy {
  const kind = (value as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case 'open':
    case 'publisher-only':
      object(value, field, ['kind']);
      return { kind };
    case 'allowlist': {
      const o = object(value, field, ['kind', 'addresses']);
      if (!Array.isArray(o['addresses'])) throw bad(`${field}.addresses`, 'an array');
      return {
        kind,
        addresses: (o['addresses'] as unknown[]).map((a, i) =>
          address(a, `${field}.addresses[${i}]`),
        ),
      };
    }
    case 'evm-balance': {
      const o = object(
        value,
        field,
        ['kind', 'chain', 'standard', 'contract', 'comparator', 'value'],
        ['tokenId'],
      );
      const tokenId = o['tokenId'];
      return {
        kind,
        chain: chain(o['chain'], `${field}.chain`),
        standard: text(o['standard'], `${field}.standard`) as TokenStandard,
        contract: address(o['contract'], `${field}.contract`),
        ...(tokenId === undefined
          ? {}
          : { tokenId: tokenId === CONTENT_ID ? CONTENT_ID : uint(tokenId, `${field}.tokenId`) }),
        comparator: text(o['comparator'], `${field}.comparator`) as Comparator,
        value: uint(o['value'], `${field}.value`),
      };
    }
    case 'evm-call': {
      const o = object(value, field, [
        'kind',
        'chain',
        'contract',
        'function',
        'params',
        'returns',
        'comparator',
        'value',
      ]);
      if (!Array.isArray(o['params'])) throw bad(`${field}.params`, 'an array');
      const returns = text(o['returns'], `${field}.returns`) as 'bool' | 'uint256';
      const v = o['value'];
      return {
        kind,
        chain: chain(o['chain'], `${field}.chain`),
        contract: address(o['contract'], `${field}.contract`),
        function: text(o['function'], `${field}.function`),
        // Hex literals in any case, as addresses elsewhere in the file; the canonical form is lower case.
        params: (o['params'] as unknown[]).map((p, i) => {
          const param = text(p, `${field}.params[${i}]`);
          return /^0x[0-9a-fA-F]+$/.test(param) ? param.toLowerCase() : param;
        }),
        returns,
        comparator: text(o['comparator'], `${field}.comparator`) as Comparator,
        value:
          typeof v === 'boolean' && returns === 'bool' ? (v ? 1n : 0n) : uint(v, `${field}.value`),
      };
    }
    case 'time': {
      const o = object(value, field, ['kind'], ['notBefore', 'notAfter']);
      return {
        kind,
        ...(o['notBefore'] === undefined
          ? {}
          : { notBefore: time(o['notBefore'], `${field}.notBefore`) }),
        ...(o['notAfter'] === undefined
          ? {}
          : { notAfter: time(o['notAfter'], `${field}.notAfter`) }),
      };
    }
    case 'and':
    case 'or': {
      const o = object(value, field, ['kind', 'conditions']);
      if (!Array.isArray(o['conditions'])) throw bad(`${field}.conditions`, 'an array');
      // Bounded before recursing, so a huge file is refused before it is walked.
      if ((o['conditions'] as unknown[]).length > POLICY_LIMITS.maxConditions)
        throw bad(`${field}.conditions`, `at most ${POLICY_LIMITS.maxConditions} conditions`);
      return {
        kind,
        conditions: (o['conditions'] as unknown[]).map((c, i) =>
          fromJson(c, `${field}.conditions[${i}]`),
        ),
      };
    }
    case 'not': {
      const o = object(value, field, ['kind', 'condition']);
      return { kind, condition: fromJson(o['condition'], `${field}.condition`) };
    }
    default:
      throw bad(
        `${field}.kind`,
        'open, publisher-only, allowlist, evm-balance, evm-call, time, and, or or not',
      );
  }
}

/** Parses a policy from its JSON form and checks it as a node would: INVALID_ARGUMENT naming the field. */
export function policyFromJson(value: unknown): AccessPolicy {
  return normalizePolicy(fromJson(value, 'policy'));
}

const hex = (b: Uint8Array): string => `0x${toHex(b)}`;

/** A policy's JSON form, which policyFromJson reads back to the same policy. */
export function policyToJson(policy: AccessPolicy): PolicyJson {
  switch (policy.kind) {
    case 'open':
    case 'publisher-only':
      return { kind: policy.kind };
    case 'allowlist':
      return { kind: policy.kind, addresses: policy.addresses.map(hex) };
    case 'evm-balance':
      return {
        kind: policy.kind,
        chain: policy.chain,
        standard: policy.standard,
        contract: hex(policy.contract),
        ...(policy.tokenId === undefined
          ? {}
          : {
              tokenId:
                typeof policy.tokenId === 'string' ? policy.tokenId : policy.tokenId.toString(),
            }),
        comparator: policy.comparator,
        value: policy.value.toString(),
      };
    case 'evm-call':
      return {
        kind: policy.kind,
        chain: policy.chain,
        contract: hex(policy.contract),
        function: policy.function,
        params: [...policy.params],
        returns: policy.returns,
        comparator: policy.comparator,
        value: policy.returns === 'bool' ? policy.value === 1n : policy.value.toString(),
      };
    case 'time':
      return {
        kind: policy.kind,
        ...(policy.notBefore === undefined
          ? {}
          : { notBefore: new Date(policy.notBefore).toISOString() }),
        ...(policy.notAfter === undefined
          ? {}
          : { notAfter: new Date(policy.notAfter).toISOString() }),
      };
    case 'and':
    case 'or':
      return { kind: policy.kind, conditions: policy.conditions.map(policyToJson) };
    case 'not':
      return { kind: policy.kind, condition: policyToJson(policy.condition) };
  }
}
