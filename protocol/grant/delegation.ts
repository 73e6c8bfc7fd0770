// Long file: the profile's parser, binding checks and builder must agree field by field; split, they would drift.
// The wallet delegation of qkms (DESIGN.md, "Grants: delegation + request"):
// an EIP-4361 Sign-In with Ethereum message (https://eips.ethereum.org/EIPS/eip-4361)
// carrying an EIP-5573 ReCap (https://eips.ethereum.org/EIPS/eip-5573),
// signed by the wallet with EIP-191 personal_sign. qkms's profile, exactly:
//
//   <domain> wants you to sign in with your Ethereum account:
//   <EIP-55 address>
//
//   Authorize a qkms session key to act for this wallet. I further authorize the stated URI to …
//
//   URI: qkms://<nodeSetId, 64 lower-case hex>
//   Version: 1
//   Chain ID: <chainId>
//   Nonce: <8..128 alphanumerics; we make 32 hex>
//   Issued At: <RFC 3339>
//   Expiration Time: <RFC 3339, required>
//   [Not Before: <RFC 3339>]
//   Resources:
//   - urn:qkms:session:ed25519:<session public key, 64 lower-case hex>
//   - urn:recap:<base64url of the ReCap details, recap.ts>
//
// No scheme, no Request ID. Verification has two phases: verifyDelegationSignature
// (strict parse and secp256k1 recovery: costly, and a node caches its result by
// delegationHash) and checkDelegationBindings (per request, cheap, every binding
// required). Everything this file throws is a QkmsError.
import * as Address from 'ox/Address';
import * as Hex from 'ox/Hex';
import * as Siwe from 'ox/Siwe';
import { assertOptionsBag } from '../../shamir/index.ts';
import { abytes, aint } from '../assert.ts';
import { toHex, utf8 } from '../bytes.ts';
import {
  ID_BYTES,
  MAX_DELEGATION_MESSAGE_BYTES,
  MAX_TIMESTAMP_MS,
  WALLET_SIGNATURE_BYTES,
} from '../constants.ts';
import { DomainTag, taggedHash } from '../domain-tags.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { ED25519_LENGTHS, type CryptoSuite } from '../suite/types.ts';
import {
  ABILITIES,
  capabilitiesCover,
  capabilitiesStatement,
  decodeRecap,
  encodeRecap,
  type Ability,
  type Capabilities,
} from './recap.ts';
import {
  assertPersonalSigner,
  formatSiweMessage,
  parseRfc3339,
  parseSiweMessage,
  type SiweMessage,
} from './siwe.ts';

/** The sentence the wallet shows before the ReCap statement. */
export const DELEGATION_STATEMENT = 'Authorize a qkms session key to act for this wallet.';
export const NODE_SET_URI_PREFIX = 'qkms://';
export const SESSION_RESOURCE_PREFIX = 'urn:qkms:session:ed25519:';
/** Random bytes of a nonce we generate (as 32 hex digits): 128 bits, never repeats. */
export const DELEGATION_NONCE_BYTES = 16;

/** A wallet-signed delegation, as it travels: the SIWE text and r || s || v. */
export interface Delegation {
  readonly message: string;
  /** 65 bytes r || s || v, v in {0, 1, 27, 28}, low s. */
  readonly signature: Uint8Array;
}

/** The one thing qkms needs from a wallet (viem: wrap `account.signMessage({ message })`). */
export interface WalletSigner {
  /** 0x-prefixed address, any case (a mixed-case one must carry a valid EIP-55 checksum). */
  readonly address: string;
  /** EIP-191 personal_sign of the UTF-8 message; resolves to 0x + 65 bytes of hex. */
  signMessage(message: string): Promise<string>;
}

export interface CreateDelegationParams {
  readonly wallet: WalletSigner;
  /** The node set's SIWE domain (host[:port], as ox's SIWE rules accept it). */
  readonly domain: string;
  readonly nodeSetId: Uint8Array;
  readonly chainId: number;
  /** The session's Ed25519 public key. */
  readonly sessionPublicKey: Uint8Array;
  readonly capabilities: Capabilities;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly notBefore?: number;
  /** 8..128 alphanumerics; 32 random hex digits when omitted. */
  readonly nonce?: string;
}

/** A delegation whose text and wallet signature verified (phase 1). Treat it as read-only. */
export interface ParsedDelegation {
  /** EIP-55 address of the wallet. */
  readonly address: string;
  readonly addressBytes: Uint8Array;
  readonly domain: string;
  readonly nodeSetId: Uint8Array;
  readonly chainId: number;
  readonly sessionPublicKey: Uint8Array;
  readonly capabilities: Capabilities;
  readonly nonce: string;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly notBefore: number | undefined;
  /** delegationHash of the message. */
  readonly hash: Uint8Array;
}

/** What a request binds a delegation to (phase 2). Every key is required; no other key is accepted. */
export interface DelegationBindings {
  /** The node set's SIWE domain. */
  readonly domain: string;
  readonly nodeSetId: Uint8Array;
  readonly chainId: number;
  /** The verifier's clock, ms since the epoch. */
  readonly now: number;
  /** Longest expiresAt − issuedAt the node set accepts. */
  readonly maxLifetimeMs: number;
  /** How far ahead of `now` issuedAt may be. */
  readonly maxClockSkewMs: number;
  /** The session key that signed the request. */
  readonly sessionPublicKey: Uint8Array;
  readonly action: Ability;
  readonly contentId: Uint8Array;
}

/** The times of a delegation that decide whether it is in force. */
export interface ValidityWindow {
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly notBefore: number | undefined;
}

function invalid(message: string, cause?: unknown): QkmsError {
  return new QkmsError(
    ErrorCode.DELEGATION_INVALID,
    `delegation: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function argument(message: string, cause?: unknown): QkmsError {
  return new QkmsError(
    ErrorCode.INVALID_ARGUMENT,
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Rejects a non-object, an unknown key (the shared option-bag asserter), or a missing required key. */
function strictBag(
  value: unknown,
  name: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  const bag = assertOptionsBag(value, name, [...required, ...optional], (m) =>
    argument(m),
  ) as Record<string, unknown>;
  for (const key of required) {
    if (bag[key] === undefined) throw argument(`${name}: missing "${key}"`);
  }
  return bag;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** delegationHash = SHA-256(DomainTag.DELEGATION_HASH || UTF-8 of the message): 32 bytes. */
export function delegationHash(suite: CryptoSuite, d: Delegation): Uint8Array {
  const message: unknown = (d as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') {
    throw invalid(`message: expected a string, got ${typeof message}`);
  }
  const bytes = utf8(message);
  if (bytes.length > MAX_DELEGATION_MESSAGE_BYTES) {
    throw invalid(
      `message: expected at most ${MAX_DELEGATION_MESSAGE_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return taggedHash((data) => suite.sha256(data), DomainTag.DELEGATION_HASH, bytes);
}

const NODE_SET_URI = /^qkms:\/\/([0-9a-f]{64})$/;
const SESSION_RESOURCE = /^urn:qkms:session:ed25519:([0-9a-f]{64})$/;
const NONCE = /^[A-Za-z0-9]{8,128}$/;

type Unsigned = Omit<ParsedDelegation, 'hash'>;

/** The qkms profile on top of the strict SIWE parse; no signature yet. */
function parseDelegationText(text: string): Unsigned {
  const m = parseSiweMessage(text);
  if (m.scheme !== undefined) throw invalid('a scheme before the domain is not part of qkms');
  if (m.requestId !== undefined) throw invalid('Request ID is not part of qkms');
  if (m.expirationTime === undefined) throw invalid('Expiration Time is required');
  if (!NONCE.test(m.nonce)) throw invalid('nonce: expected 8..128 alphanumerics');
  const uri = NODE_SET_URI.exec(m.uri);
  if (uri?.[1] === undefined) throw invalid('URI is not qkms://<nodeSetId>');
  const resources = m.resources ?? [];
  if (resources.length !== 2) throw invalid(`expected 2 resources, got ${resources.length}`);
  const session = SESSION_RESOURCE.exec(resources[0] ?? '');
  if (session?.[1] === undefined) throw invalid('first resource is not the session key');
  const capabilities = decodeRecap(resources[1] ?? '');
  // EIP-5573 asks the statement to end with the translation; qkms asks for exactly ours.
  if (m.statement !== `${DELEGATION_STATEMENT} ${capabilitiesStatement(capabilities)}`) {
    throw invalid('statement is not the qkms statement for its ReCap');
  }
  const issuedAt = parseRfc3339(m.issuedAt);
  const expiresAt = parseRfc3339(m.expirationTime);
  const notBefore = m.notBefore === undefined ? undefined : parseRfc3339(m.notBefore);
  if (expiresAt <= issuedAt) throw invalid('Expiration Time is not after Issued At');
  if (notBefore !== undefined && notBefore >= expiresAt) {
    throw invalid('Not Before is not before Expiration Time');
  }
  const parsed: Unsigned = {
    address: m.address,
    addressBytes: Hex.toBytes(m.address as Hex.Hex),
    domain: m.domain,
    nodeSetId: Hex.toBytes(`0x${uri[1]}`),
    chainId: m.chainId,
    sessionPublicKey: Hex.toBytes(`0x${session[1]}`),
    capabilities,
    nonce: m.nonce,
    issuedAt,
    expiresAt,
    notBefore,
  };
  if (!oxAgrees(text, m, parsed)) throw invalid('ox reads this message differently');
  return parsed;
}

/**
 * A second opinion from the maintained SIWE parser (ox): it must read the
 * same value for every field. A text two parsers disagree on is refused, so a
 * parser differential cannot make a node see one thing and a wallet another.
 */
function oxAgrees(text: string, m: SiweMessage, p: Unsigned): boolean {
  let o: ReturnType<typeof Siwe.parseMessage>;
  try {
    o = Siwe.parseMessage(text);
  } catch {
    return false;
  }
  const ours = m.resources ?? [];
  const theirs = o.resources ?? [];
  return (
    o.scheme === m.scheme &&
    o.domain === m.domain &&
    o.address === m.address &&
    o.statement === m.statement &&
    o.uri === m.uri &&
    o.version === m.version &&
    o.chainId === m.chainId &&
    o.nonce === m.nonce &&
    o.issuedAt?.getTime() === p.issuedAt &&
    o.expirationTime?.getTime() === p.expiresAt &&
    o.notBefore?.getTime() === p.notBefore &&
    o.requestId === m.requestId &&
    theirs.length === ours.length &&
    theirs.every((r, i) => r === ours[i])
  );
}

/**
 * Phase 1: strict parse of the text (SIWE grammar, qkms profile, ReCap, exact
 * round trip, ox agreeing) and the wallet's signature (low s, recovers to the
 * message's address). The result depends on the delegation alone, so a node
 * may cache it by `hash` — positive results only: the hash does not cover the
 * signature, so a refusal must never be cached under it. Throws QkmsError
 * DELEGATION_INVALID.
 */
export function verifyDelegationSignature(suite: CryptoSuite, d: Delegation): ParsedDelegation {
  if (typeof d !== 'object' || (d as unknown) === null) throw invalid('expected an object');
  const { message, signature } = d as { message: unknown; signature: unknown };
  if (typeof message !== 'string') {
    throw invalid(`message: expected a string, got ${typeof message}`);
  }
  if (!(signature instanceof Uint8Array) || signature.length !== WALLET_SIGNATURE_BYTES) {
    throw invalid(`signature: expected ${WALLET_SIGNATURE_BYTES} bytes`);
  }
  const parsed = parseDelegationText(message);
  assertPersonalSigner(message, signature, parsed.address);
  return Object.freeze({ ...parsed, hash: delegationHash(suite, { message, signature }) });
}

const BINDING_KEYS = [
  'domain',
  'nodeSetId',
  'chainId',
  'now',
  'maxLifetimeMs',
  'maxClockSkewMs',
  'sessionPublicKey',
  'action',
  'contentId',
] as const satisfies readonly (keyof DelegationBindings)[];

function assertBindings(value: unknown): DelegationBindings {
  const b = strictBag(value, 'bindings', BINDING_KEYS);
  if (typeof b['domain'] !== 'string') throw argument('bindings.domain: expected a string');
  abytes(b['nodeSetId'], 'bindings.nodeSetId', ID_BYTES);
  aint(b['chainId'], 'bindings.chainId', 0, Number.MAX_SAFE_INTEGER);
  aint(b['now'], 'bindings.now', 0, Number.MAX_SAFE_INTEGER);
  aint(b['maxLifetimeMs'], 'bindings.maxLifetimeMs', 1, Number.MAX_SAFE_INTEGER);
  aint(b['maxClockSkewMs'], 'bindings.maxClockSkewMs', 0, Number.MAX_SAFE_INTEGER);
  abytes(b['sessionPublicKey'], 'bindings.sessionPublicKey', ED25519_LENGTHS.publicKey);
  if (!(ABILITIES as readonly unknown[]).includes(b['action'])) {
    throw argument(`bindings.action: expected ${ABILITIES.join(' or ')}`);
  }
  abytes(b['contentId'], 'bindings.contentId', ID_BYTES);
  return b as unknown as DelegationBindings;
}

/**
 * Whether the delegation is in force at `now`: expired at and after
 * expiresAt (DELEGATION_EXPIRED); not yet valid before notBefore, or when
 * issuedAt is more than maxClockSkewMs ahead of now (DELEGATION_NOT_YET_VALID).
 */
export function checkValidityWindow(w: ValidityWindow, now: number, maxClockSkewMs: number): void {
  if (now >= w.expiresAt) {
    throw new QkmsError(ErrorCode.DELEGATION_EXPIRED, 'delegation: expired');
  }
  if (w.notBefore !== undefined && now < w.notBefore) {
    throw new QkmsError(ErrorCode.DELEGATION_NOT_YET_VALID, 'delegation: before its Not Before');
  }
  if (w.issuedAt > now + maxClockSkewMs) {
    throw new QkmsError(
      ErrorCode.DELEGATION_NOT_YET_VALID,
      'delegation: issued further in the future than the allowed clock skew',
    );
  }
}

/**
 * Phase 2, per request: domain, node set, chain, session key, lifetime, time
 * window, then capability. Throws QkmsError DELEGATION_INVALID,
 * DELEGATION_EXPIRED, DELEGATION_NOT_YET_VALID or CAPABILITY_DENIED; and
 * INVALID_ARGUMENT / INVALID_LENGTH when the bindings themselves are malformed
 * (missing, unknown key, wrong type): a caller bug, not the peer's fault.
 */
export function checkDelegationBindings(p: ParsedDelegation, bindings: DelegationBindings): void {
  const b = assertBindings(bindings);
  if (p.domain !== b.domain) throw invalid('signed for another domain');
  if (!sameBytes(p.nodeSetId, b.nodeSetId)) throw invalid('URI names another node set');
  if (p.chainId !== b.chainId) throw invalid('signed for another chain');
  if (!sameBytes(p.sessionPublicKey, b.sessionPublicKey)) {
    throw invalid('delegates to another session key');
  }
  if (p.expiresAt - p.issuedAt > b.maxLifetimeMs) throw invalid('lifetime exceeds the maximum');
  checkValidityWindow(p, b.now, b.maxClockSkewMs);
  if (!capabilitiesCover(p.capabilities, b.action, b.contentId)) {
    throw new QkmsError(
      ErrorCode.CAPABILITY_DENIED,
      `delegation: does not grant ${b.action} on this content`,
    );
  }
}

/** Both phases; the bindings are checked for shape before any costly work. */
export function verifyDelegation(
  suite: CryptoSuite,
  d: Delegation,
  bindings: DelegationBindings,
): ParsedDelegation {
  assertBindings(bindings);
  const parsed = verifyDelegationSignature(suite, d);
  checkDelegationBindings(parsed, bindings);
  return parsed;
}

const CREATE_REQUIRED = [
  'wallet',
  'domain',
  'nodeSetId',
  'chainId',
  'sessionPublicKey',
  'capabilities',
  'issuedAt',
  'expiresAt',
] as const;
const CREATE_OPTIONAL = ['notBefore', 'nonce'] as const;

/** ox's rule for a SIWE domain it creates and parses: a DNS name, IPv4 or localhost, optional port. */
function isOxDomain(domain: string): boolean {
  return (
    domain.length <= 255 &&
    (Siwe.domainRegex.test(domain) || Siwe.ipRegex.test(domain) || Siwe.localhostRegex.test(domain))
  );
}

function isWalletSigner(value: unknown): value is WalletSigner {
  if (typeof value !== 'object' || value === null) return false;
  const w = value as Record<string, unknown>;
  return typeof w['address'] === 'string' && typeof w['signMessage'] === 'function';
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Builds the delegation text, checks it exactly as a node will, has the
 * wallet sign it, and checks the signature recovers to the wallet. Throws
 * INVALID_ARGUMENT / INVALID_LENGTH for bad parameters, a capability set too
 * large for MAX_DELEGATION_MESSAGE_BYTES, a failing wallet or a signature
 * that does not verify (wrong account, high s).
 */
export async function createDelegation(params: CreateDelegationParams): Promise<Delegation> {
  const p = strictBag(params, 'createDelegation', CREATE_REQUIRED, CREATE_OPTIONAL);
  const wallet = p['wallet'];
  if (!isWalletSigner(wallet)) {
    throw argument('wallet: expected { address: string, signMessage(message) }');
  }
  if (!Address.validate(wallet.address, { strict: true })) {
    throw argument(
      'wallet.address: expected a 0x address with a valid EIP-55 checksum if mixed-case',
    );
  }
  const address = Address.checksum(wallet.address);
  const domain = p['domain'];
  if (typeof domain !== 'string' || !isOxDomain(domain)) {
    throw argument('domain: expected host[:port] (DNS name, IPv4 or localhost)');
  }
  const nodeSetId = abytes(p['nodeSetId'], 'nodeSetId', ID_BYTES);
  const chainId = aint(p['chainId'], 'chainId', 0, Number.MAX_SAFE_INTEGER);
  const sessionPublicKey = abytes(
    p['sessionPublicKey'],
    'sessionPublicKey',
    ED25519_LENGTHS.publicKey,
  );
  const capabilities = params.capabilities;
  const recap = encodeRecap(capabilities);
  const issuedAt = aint(p['issuedAt'], 'issuedAt', 0, MAX_TIMESTAMP_MS - 1);
  const expiresAt = aint(p['expiresAt'], 'expiresAt', issuedAt + 1, MAX_TIMESTAMP_MS);
  const notBefore =
    p['notBefore'] === undefined ? undefined : aint(p['notBefore'], 'notBefore', 0, expiresAt - 1);
  const nonce = p['nonce'] === undefined ? Hex.random(DELEGATION_NONCE_BYTES).slice(2) : p['nonce'];
  if (typeof nonce !== 'string' || !NONCE.test(nonce)) {
    throw argument('nonce: expected 8..128 alphanumerics');
  }

  const message = formatSiweMessage({
    scheme: undefined,
    domain,
    address,
    statement: `${DELEGATION_STATEMENT} ${capabilitiesStatement(capabilities)}`,
    uri: `${NODE_SET_URI_PREFIX}${toHex(nodeSetId)}`,
    version: '1',
    chainId,
    nonce,
    issuedAt: isoTime(issuedAt),
    expirationTime: isoTime(expiresAt),
    notBefore: notBefore === undefined ? undefined : isoTime(notBefore),
    requestId: undefined,
    resources: [`${SESSION_RESOURCE_PREFIX}${toHex(sessionPublicKey)}`, recap],
  });
  const size = utf8(message).length;
  if (size > MAX_DELEGATION_MESSAGE_BYTES) {
    throw argument(
      `capabilities: the delegation would be ${size} bytes, over ${MAX_DELEGATION_MESSAGE_BYTES}; list fewer content ids`,
    );
  }
  let parsed: Unsigned;
  try {
    parsed = parseDelegationText(message);
  } catch (e) {
    throw argument('the delegation built from these parameters does not verify', e);
  }

  let signatureHex: unknown;
  try {
    signatureHex = await wallet.signMessage(message);
  } catch (e) {
    throw argument('wallet.signMessage failed', e);
  }
  if (typeof signatureHex !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signatureHex)) {
    throw argument(`wallet.signMessage: expected 0x and ${2 * WALLET_SIGNATURE_BYTES} hex digits`);
  }
  const signature = Hex.toBytes(signatureHex as Hex.Hex);
  try {
    assertPersonalSigner(message, signature, parsed.address);
  } catch (e) {
    throw argument('wallet.signMessage: the signature does not verify for wallet.address', e);
  }
  return Object.freeze({ message, signature });
}
