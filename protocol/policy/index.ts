// The access-condition language (docs/policies.md): types, canonical CBOR,
// the JSON file form, and three-valued evaluation against fresh chain state.
export {
  ABI_TYPES,
  COMPARATORS,
  CONTENT_ID,
  MAX_UINT256,
  POLICY_KINDS,
  POLICY_LIMITS,
  TOKEN_STANDARDS,
  USER_ADDRESS,
  type AbiType,
  type AccessPolicy,
  type Comparator,
  type EvmBalanceCondition,
  type EvmCallCondition,
  type PolicyKind,
  type TimeCondition,
  type TokenStandard,
} from './types.ts';
export { encodeCall, parseSignature, selector } from './abi.ts';
export { normalizePolicy, policyChains, policyFromCbor, policyToCbor } from './codec.ts';
export {
  balanceRead,
  callRead,
  evaluatePolicy,
  readsChain,
  type CallResult,
  type ChainRead,
  type Evaluation,
  type PolicyContext,
  type Verdict,
} from './evaluate.ts';
export { policyFromJson, policyToJson, type PolicyJson } from './json.ts';
