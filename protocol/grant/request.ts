// The recover request (DESIGN.md, Grants §2): signed by the session key, single
// use. It binds the protocol version, the node set, the audience node, the
// content, a fresh 128-bit nonce, its issue time, the session key that signs
// it, the X-Wing key the share is to be sealed to, and the delegation that
// authorizes the session. The signature covers
//   tag(RECOVER_REQUEST) || canonical CBOR of the body,
// and the seal's aad is derived from the same fields, so nobody can swap the
// key a share is sealed to without breaking the signature.
import { abytes, aint } from '../assert.ts';
import { concatBytes } from '../bytes.ts';
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import {
  readBytes,
  readMap,
  readTimestamp,
  readUint,
  readVersion,
  type CborMap,
} from '../codec/read.ts';
import {
  ID_BYTES,
  MAX_TIMESTAMP_MS,
  MAX_NODES,
  NONCE_BYTES,
  PROTOCOL_VERSION,
} from '../constants.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import type { SealContext } from '../seal.ts';
import {
  ED25519_LENGTHS,
  XWING_LENGTHS,
  type CryptoSuite,
  type SigningKey,
} from '../suite/types.ts';

export interface RecoverRequestBody {
  readonly version: number;
  readonly nodeSetId: Uint8Array;
  /** Audience: the index of the node this request is for. */
  readonly node: number;
  readonly contentId: Uint8Array;
  readonly nonce: Uint8Array;
  /** Milliseconds since the Unix epoch, by the client's clock. */
  readonly issuedAt: number;
  /** The session's Ed25519 public key: it signs this request and the delegation names it. */
  readonly sessionKey: Uint8Array;
  /** The X-Wing public key the share is sealed to. */
  readonly recipientKey: Uint8Array;
  readonly delegationHash: Uint8Array;
}

export interface SignedRecoverRequest {
  readonly body: RecoverRequestBody;
  readonly signature: Uint8Array;
}

export function requestBodyToCbor(body: RecoverRequestBody): CborValue {
  return {
    v: body.version,
    nodeSet: body.nodeSetId,
    node: body.node,
    content: body.contentId,
    nonce: body.nonce,
    issuedAt: body.issuedAt,
    session: body.sessionKey,
    recipient: body.recipientKey,
    delegation: body.delegationHash,
  };
}

export function requestBodyFromCbor(value: unknown, field = 'request'): RecoverRequestBody {
  const m: CborMap = readMap(value, field, [
    'v',
    'nodeSet',
    'node',
    'content',
    'nonce',
    'issuedAt',
    'session',
    'recipient',
    'delegation',
  ]);
  const version = readVersion(m['v'], `${field}.v`);
  return {
    version,
    nodeSetId: readBytes(m['nodeSet'], `${field}.nodeSet`, ID_BYTES),
    node: readUint(m['node'], `${field}.node`, 1, MAX_NODES),
    contentId: readBytes(m['content'], `${field}.content`, ID_BYTES),
    nonce: readBytes(m['nonce'], `${field}.nonce`, NONCE_BYTES),
    issuedAt: readTimestamp(m['issuedAt'], `${field}.issuedAt`),
    sessionKey: readBytes(m['session'], `${field}.session`, ED25519_LENGTHS.publicKey),
    recipientKey: readBytes(m['recipient'], `${field}.recipient`, XWING_LENGTHS.publicKey),
    delegationHash: readBytes(m['delegation'], `${field}.delegation`, ID_BYTES),
  };
}

function assertBody(body: RecoverRequestBody): void {
  aint(body.version, 'version', 0, 0xffff);
  abytes(body.nodeSetId, 'nodeSetId', ID_BYTES);
  aint(body.node, 'node', 1, MAX_NODES);
  abytes(body.contentId, 'contentId', ID_BYTES);
  abytes(body.nonce, 'nonce', NONCE_BYTES);
  aint(body.issuedAt, 'issuedAt', 0, MAX_TIMESTAMP_MS);
  abytes(body.sessionKey, 'sessionKey', ED25519_LENGTHS.publicKey);
  abytes(body.recipientKey, 'recipientKey', XWING_LENGTHS.publicKey);
  abytes(body.delegationHash, 'delegationHash', ID_BYTES);
}

/** The exact bytes the session key signs. */
export function requestSigningBytes(body: RecoverRequestBody): Uint8Array {
  assertBody(body);
  return concatBytes(tagBytes(DomainTag.RECOVER_REQUEST), encodeCanonical(requestBodyToCbor(body)));
}

export interface NewRequest {
  readonly nodeSetId: Uint8Array;
  readonly node: number;
  readonly contentId: Uint8Array;
  readonly issuedAt: number;
  readonly recipientKey: Uint8Array;
  readonly delegationHash: Uint8Array;
  /** Defaults to 16 fresh random bytes; tests inject it. */
  readonly nonce?: Uint8Array;
}

/** Builds and signs a fresh request. A retry is a new call (new nonce), never a resend. */
export function signRecoverRequest(
  suite: CryptoSuite,
  session: SigningKey,
  input: NewRequest,
): SignedRecoverRequest {
  const body: RecoverRequestBody = {
    version: PROTOCOL_VERSION,
    nodeSetId: input.nodeSetId,
    node: input.node,
    contentId: input.contentId,
    nonce: input.nonce ?? suite.randomBytes(NONCE_BYTES),
    issuedAt: input.issuedAt,
    sessionKey: session.publicKey,
    recipientKey: input.recipientKey,
    delegationHash: input.delegationHash,
  };
  return { body, signature: session.sign(requestSigningBytes(body)) };
}

/** Step 4 of DESIGN.md's recover: the session signature, under the key the request names. */
export function verifyRecoverRequestSignature(
  suite: CryptoSuite,
  request: SignedRecoverRequest,
): void {
  if (
    !suite.ed25519.verify(
      request.signature,
      requestSigningBytes(request.body),
      request.body.sessionKey,
    )
  ) {
    throw new QkmsError(
      ErrorCode.BAD_REQUEST_SIGNATURE,
      'recover request: session signature does not verify',
    );
  }
}

/** Step 3: issuedAt within [now - maxAge, now + maxSkew] by the verifier's clock. */
export function checkRequestFreshness(
  body: RecoverRequestBody,
  clock: { readonly now: number; readonly maxAgeMs: number; readonly maxSkewMs: number },
): void {
  if (body.issuedAt < clock.now - clock.maxAgeMs) {
    throw new QkmsError(
      ErrorCode.REQUEST_EXPIRED,
      'recover request: issuedAt is older than the allowed age',
    );
  }
  if (body.issuedAt > clock.now + clock.maxSkewMs) {
    throw new QkmsError(
      ErrorCode.REQUEST_FROM_FUTURE,
      'recover request: issuedAt is ahead of the allowed clock skew',
    );
  }
}

/**
 * The HPKE context a node seals the share under for this request: `info`
 * names the protocol version (in the tag), `aad` binds the node set, node
 * index, content, nonce and recipient key.
 */
export function recoverSealContext(body: RecoverRequestBody): SealContext {
  assertBody(body);
  const binding: CborValue = {
    v: body.version,
    nodeSet: body.nodeSetId,
    node: body.node,
    content: body.contentId,
    nonce: body.nonce,
    recipient: body.recipientKey,
  };
  return {
    info: tagBytes(DomainTag.RECOVER_SEAL_INFO),
    aad: concatBytes(tagBytes(DomainTag.RECOVER_SEAL_AAD), encodeCanonical(binding)),
  };
}
