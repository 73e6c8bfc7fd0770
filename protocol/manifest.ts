// Long file: one signed document; its types, commitments, CBOR codec and verification share one field list.
// The content manifest (DESIGN.md, Content manifest): published with the
// content and served by every node holding a share. It names the content,
// the node set, t and n, the publisher's address and access policy, and
// commits to the CEK and to the sharing (decision 0016):
//   cekCommitment = SHA-256(tag(CEK_COMMITMENT) || salt || contentId || cek)
//   commitments   = the t Pedersen commitments of the key scalar's sharing (sharing.ts)
//   wrappedCek    = the CEK wrapped under the key scalar (sharing.ts)
// The body is signed by the publisher's session key under a wallet
// delegation granting `publish` on the content.
import { abytes } from './assert.ts';
import { concatBytes, wipe } from './bytes.ts';
import { decodeCanonical, encodeCanonical, type CborValue } from './codec/cbor.ts';
import {
  readArray,
  readBytes,
  readMap,
  readText,
  readTimestamp,
  readUint,
  readVersion,
} from './codec/read.ts';
import {
  ADDRESS_BYTES,
  CEK_BYTES,
  COMMITMENT_SALT_BYTES,
  ID_BYTES,
  MAX_DELEGATION_MESSAGE_BYTES,
  MAX_FRAME_BYTES,
  MAX_NODES,
  PROTOCOL_VERSION,
  WALLET_SIGNATURE_BYTES,
} from './constants.ts';
import { DomainTag, tagBytes, taggedHash } from './domain-tags.ts';
import { ErrorCode, QkmsError } from './errors.ts';
import {
  checkDelegationBindings,
  delegationHash,
  verifyDelegationSignature,
  type Delegation,
  type ParsedDelegation,
} from './grant/delegation.ts';
import {
  normalizePolicy,
  policyFromCbor,
  policyToCbor,
  type AccessPolicy,
} from './policy/index.ts';
import { COMMITMENT_BYTES } from './sharing-record.ts';
import { checkShareBytes, unwrapCek, wrapCek } from './sharing.ts';
import { ED25519_LENGTHS, type CryptoSuite, type SigningKey } from './suite/types.ts';

export type { AccessPolicy };

export interface ManifestBody {
  readonly version: number;
  readonly contentId: Uint8Array;
  readonly nodeSetId: Uint8Array;
  readonly threshold: number;
  readonly shares: number;
  /** The publisher's wallet address, 20 bytes. */
  readonly publisher: Uint8Array;
  readonly policy: AccessPolicy;
  readonly salt: Uint8Array;
  readonly cekCommitment: Uint8Array;
  /** The t Pedersen commitments (ristretto255 points) of the key scalar's sharing. */
  readonly commitments: readonly Uint8Array[];
  /** The CEK wrapped under the key scalar. */
  readonly wrappedCek: Uint8Array;
  readonly issuedAt: number;
  /** The publisher session's Ed25519 key that signs the body. */
  readonly sessionKey: Uint8Array;
  readonly delegationHash: Uint8Array;
}

export interface Manifest {
  readonly body: ManifestBody;
  readonly signature: Uint8Array;
  readonly delegation: Delegation;
}

/** What a manifest is checked against: the pinned node set. */
export interface ManifestNodeSet {
  readonly id: Uint8Array;
  readonly threshold: number;
  readonly nodes: readonly unknown[];
  readonly params: {
    readonly siweDomain: string;
    readonly chainId: number;
    readonly maxDelegationLifetimeMs: number;
    readonly maxClockSkewMs: number;
  };
}

function invalid(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.INVALID_MANIFEST, `manifest: ${message}`, { cause });
}

export function cekCommitment(
  suite: CryptoSuite,
  salt: Uint8Array,
  contentId: Uint8Array,
  cek: Uint8Array,
): Uint8Array {
  abytes(salt, 'salt', COMMITMENT_SALT_BYTES);
  abytes(contentId, 'contentId', ID_BYTES);
  return taggedHash(
    suite.sha256,
    DomainTag.CEK_COMMITMENT,
    salt,
    contentId,
    abytes(cek, 'cek', CEK_BYTES),
  );
}

/** Constant-time: does `cek` match the manifest's CEK commitment? */
export function checkCek(suite: CryptoSuite, body: ManifestBody, cek: Uint8Array): boolean {
  if (cek.length !== CEK_BYTES) return false;
  return suite.equalBytes(cekCommitment(suite, body.salt, body.contentId, cek), body.cekCommitment);
}

/**
 * Does `share` (64 bytes, sharing.ts) verify as node `index`'s share against the manifest's
 * commitments? Only a share on the committed polynomial passes; never throws on bad bytes.
 */
export function checkShare(body: ManifestBody, index: number, share: Uint8Array): boolean {
  if (!Number.isInteger(index) || index < 1 || index > body.shares) return false;
  return checkShareBytes(body.commitments, index, share);
}

/** The CEK from the reconstructed key scalar, if it matches the CEK commitment; else undefined. */
export function openCek(
  suite: CryptoSuite,
  body: ManifestBody,
  keyScalar: Uint8Array,
): Uint8Array | undefined {
  const cek = unwrapCek(suite, keyScalar, body.contentId, body.wrappedCek);
  if (checkCek(suite, body, cek)) return cek;
  wipe(cek);
  return undefined;
}

export function manifestBodyToCbor(body: ManifestBody): CborValue {
  return {
    v: body.version,
    content: body.contentId,
    nodeSet: body.nodeSetId,
    t: body.threshold,
    n: body.shares,
    publisher: body.publisher,
    policy: policyToCbor(body.policy),
    salt: body.salt,
    cek: body.cekCommitment,
    commitments: [...body.commitments],
    wrapped: body.wrappedCek,
    issuedAt: body.issuedAt,
    session: body.sessionKey,
    delegation: body.delegationHash,
  };
}

export function manifestBodyFromCbor(value: unknown, field = 'manifest.body'): ManifestBody {
  // The version first: a manifest of another format (v1's share hashes) is UNSUPPORTED_VERSION,
  // not MALFORMED over the fields that format has.
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value)
  )
    readVersion((value as Readonly<Record<string, unknown>>)['v'], `${field}.v`);
  const m = readMap(value, field, [
    'v',
    'content',
    'nodeSet',
    't',
    'n',
    'publisher',
    'policy',
    'salt',
    'cek',
    'commitments',
    'wrapped',
    'issuedAt',
    'session',
    'delegation',
  ]);
  const version = readVersion(m['v'], `${field}.v`);
  const shares = readUint(m['n'], `${field}.n`, 2, MAX_NODES);
  const threshold = readUint(m['t'], `${field}.t`, 2, shares);
  const commitments = readArray(m['commitments'], `${field}.commitments`, threshold, threshold).map(
    (c, i) => readBytes(c, `${field}.commitments[${i}]`, COMMITMENT_BYTES),
  );
  return {
    version,
    contentId: readBytes(m['content'], `${field}.content`, ID_BYTES),
    nodeSetId: readBytes(m['nodeSet'], `${field}.nodeSet`, ID_BYTES),
    threshold,
    shares,
    publisher: readBytes(m['publisher'], `${field}.publisher`, ADDRESS_BYTES),
    policy: policyFromCbor(m['policy'], `${field}.policy`),
    salt: readBytes(m['salt'], `${field}.salt`, COMMITMENT_SALT_BYTES),
    cekCommitment: readBytes(m['cek'], `${field}.cek`, ID_BYTES),
    commitments,
    wrappedCek: readBytes(m['wrapped'], `${field}.wrapped`, CEK_BYTES),
    issuedAt: readTimestamp(m['issuedAt'], `${field}.issuedAt`),
    sessionKey: readBytes(m['session'], `${field}.session`, ED25519_LENGTHS.publicKey),
    delegationHash: readBytes(m['delegation'], `${field}.delegation`, ID_BYTES),
  };
}

export function delegationToCbor(d: Delegation): CborValue {
  return { siwe: d.message, sig: d.signature };
}

export function delegationFromCbor(value: unknown, field: string): Delegation {
  const m = readMap(value, field, ['siwe', 'sig']);
  return {
    message: readText(m['siwe'], `${field}.siwe`, MAX_DELEGATION_MESSAGE_BYTES),
    signature: readBytes(m['sig'], `${field}.sig`, WALLET_SIGNATURE_BYTES),
  };
}

export function manifestToCbor(manifest: Manifest): CborValue {
  return {
    body: manifestBodyToCbor(manifest.body),
    sig: manifest.signature,
    delegation: delegationToCbor(manifest.delegation),
  };
}

export function manifestFromCbor(value: unknown, field = 'manifest'): Manifest {
  const m = readMap(value, field, ['body', 'sig', 'delegation']);
  return {
    body: manifestBodyFromCbor(m['body'], `${field}.body`),
    signature: readBytes(m['sig'], `${field}.sig`, ED25519_LENGTHS.signature),
    delegation: delegationFromCbor(m['delegation'], `${field}.delegation`),
  };
}

/** A manifest's canonical CBOR bytes: the form that travels with its content. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return encodeCanonical(manifestToCbor(manifest));
}

/**
 * Decodes manifest bytes strictly: canonical, at most the publish frame cap
 * (which holds a manifest), exact fields. Shape only: verifyManifest checks
 * it against the pinned node set.
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  return manifestFromCbor(decodeCanonical(bytes, MAX_FRAME_BYTES.publish));
}

function signingBytes(body: ManifestBody): Uint8Array {
  return concatBytes(
    tagBytes(DomainTag.MANIFEST_SIGNATURE),
    encodeCanonical(manifestBodyToCbor(body)),
  );
}

/** SHA-256 over the whole signed manifest: what receipts and storage name it by. */
export function manifestHash(suite: CryptoSuite, manifest: Manifest): Uint8Array {
  return taggedHash(
    suite.sha256,
    DomainTag.MANIFEST_HASH,
    encodeCanonical(manifestToCbor(manifest)),
  );
}

export interface NewManifest {
  readonly contentId: Uint8Array;
  readonly nodeSetId: Uint8Array;
  readonly threshold: number;
  /** n: the node set's size. */
  readonly shares: number;
  /** The sharing's commitments and the key scalar it shares (dealKey in sharing.ts). */
  readonly commitments: readonly Uint8Array[];
  readonly keyScalar: Uint8Array;
  readonly cek: Uint8Array;
  readonly publisher: Uint8Array;
  readonly policy: AccessPolicy;
  readonly issuedAt: number;
  readonly delegation: Delegation;
  /** Defaults to 32 fresh random bytes; tests inject it. */
  readonly salt?: Uint8Array;
}

export function createManifest(
  suite: CryptoSuite,
  session: SigningKey,
  input: NewManifest,
): Manifest {
  const salt = input.salt ?? suite.randomBytes(COMMITMENT_SALT_BYTES);
  const body: ManifestBody = {
    version: PROTOCOL_VERSION,
    contentId: abytes(input.contentId, 'contentId', ID_BYTES),
    nodeSetId: abytes(input.nodeSetId, 'nodeSetId', ID_BYTES),
    threshold: input.threshold,
    shares: input.shares,
    publisher: abytes(input.publisher, 'publisher', ADDRESS_BYTES),
    policy: normalizePolicy(input.policy),
    salt,
    cekCommitment: cekCommitment(suite, salt, input.contentId, input.cek),
    commitments: [...input.commitments],
    wrappedCek: wrapCek(suite, input.keyScalar, input.contentId, input.cek),
    issuedAt: input.issuedAt,
    sessionKey: session.publicKey,
    delegationHash: delegationHash(suite, input.delegation),
  };
  if (body.threshold < 2 || body.threshold > body.shares) throw invalid('threshold outside 2..n');
  if (body.commitments.length !== body.threshold)
    throw invalid('one commitment per degree, t in all');
  return { body, signature: session.sign(signingBytes(body)), delegation: input.delegation };
}

/**
 * Phase 1 of a delegation check (verifyDelegationSignature): a node passes its
 * verdict cache, which remembers verdicts by the delegation's exact bytes.
 */
export type WalletCheck = (delegation: Delegation) => ParsedDelegation;

/**
 * Checks a manifest against the pinned node set: structure, the session
 * signature, then the publisher's delegation (valid at `at`, granting
 * `publish` on this content to the signing session, from the publisher's
 * wallet). Cheapest first: the wallet's secp256k1 recovery (about 30 times an
 * Ed25519 verify) runs last, through `walletCheck` (a node's verdict cache).
 * A node passes its own clock as `at`; a player checking a manifest later
 * passes the manifest's issuedAt (manifests outlive sessions). Failures are
 * INVALID_MANIFEST, or the delegation's own codes. Returns the verified delegation.
 */
export function verifyManifest(
  suite: CryptoSuite,
  manifest: Manifest,
  nodeSet: ManifestNodeSet,
  at: number,
  walletCheck: WalletCheck = (d) => verifyDelegationSignature(suite, d),
): ParsedDelegation {
  const { body } = manifest;
  if (!suite.equalBytes(body.nodeSetId, nodeSet.id)) throw invalid('names another node set');
  if (body.shares !== nodeSet.nodes.length || body.threshold !== nodeSet.threshold) {
    throw invalid('t and n differ from the node set');
  }
  if (!suite.equalBytes(delegationHash(suite, manifest.delegation), body.delegationHash))
    throw invalid('delegation hash does not match');
  if (!suite.ed25519.verify(manifest.signature, signingBytes(body), body.sessionKey)) {
    throw invalid('session signature does not verify');
  }
  const parsed = walletCheck(manifest.delegation);
  checkDelegationBindings(parsed, {
    domain: nodeSet.params.siweDomain,
    nodeSetId: nodeSet.id,
    chainId: nodeSet.params.chainId,
    now: at,
    maxLifetimeMs: nodeSet.params.maxDelegationLifetimeMs,
    maxClockSkewMs: nodeSet.params.maxClockSkewMs,
    sessionPublicKey: body.sessionKey,
    action: 'publish',
    contentId: body.contentId,
  });
  if (!suite.equalBytes(parsed.addressBytes, body.publisher))
    throw invalid('publisher is not the delegating wallet');
  return parsed;
}

/**
 * The HPKE context a publisher seals node `node`'s share under: `info` names
 * the protocol version (in the tag), `aad` binds the node set, the node, the
 * content and the sharing's commitments, so a sealed share opens only at
 * its node and only for the sharing the manifest commits to.
 */
export function publishSealContext(
  body: ManifestBody,
  node: number,
): { info: Uint8Array; aad: Uint8Array } {
  if (!Number.isInteger(node) || node < 1 || node > body.shares)
    throw invalid(`no node ${node} in the sharing`);
  const binding: CborValue = {
    v: body.version,
    nodeSet: body.nodeSetId,
    node,
    content: body.contentId,
    commitments: [...body.commitments],
  };
  return {
    info: tagBytes(DomainTag.PUBLISH_SEAL_INFO),
    aad: concatBytes(tagBytes(DomainTag.PUBLISH_SEAL_AAD), encodeCanonical(binding)),
  };
}
