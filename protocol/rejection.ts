// Wire rejection codes: the one closed set a node answers with instead of a
// share. A peer gets a code (and, for UNSUPPORTED_VERSION, the versions the
// node speaks), never our error text. Each code says what a client should do;
// docs/protocol.md lists them with the same words.

/** What a client does after a rejection from one node. */
export type RejectionAction =
  /** Final for this node and this request: do not retry it here. */
  | 'give-up'
  /** Sign a fresh request (new nonce) and try this node again, once. */
  | 'retry-fresh'
  /** The node is overloaded or not ready: try other nodes, come back later. */
  | 'back-off'
  /** The session's delegation no longer serves: renew the session, then retry. */
  | 'renew-session';

export const REJECTIONS = {
  MALFORMED: {
    action: 'give-up',
    meaning: 'the frame did not decode as a canonical message of this version',
  },
  TOO_LARGE: { action: 'give-up', meaning: 'the frame exceeds the size cap for its protocol' },
  UNSUPPORTED_VERSION: {
    action: 'give-up',
    meaning: 'the protocol version is unknown; `versions` lists those the node speaks',
  },
  WRONG_NODE_SET: {
    action: 'give-up',
    meaning: 'the request names another node set than the one this node serves',
  },
  WRONG_AUDIENCE: { action: 'give-up', meaning: 'the request is addressed to another node index' },
  REQUEST_EXPIRED: {
    action: 'give-up',
    meaning: 'issuedAt is older than the node set allows (check the client clock)',
  },
  REQUEST_FROM_FUTURE: {
    action: 'give-up',
    meaning: 'issuedAt is ahead of the node clock by more than the allowed skew',
  },
  BAD_REQUEST_SIGNATURE: {
    action: 'give-up',
    meaning: 'the session signature over the request does not verify',
  },
  DELEGATION_INVALID: {
    action: 'give-up',
    meaning: 'the SIWE delegation is malformed, badly signed or binds something else',
  },
  DELEGATION_EXPIRED: { action: 'renew-session', meaning: 'the delegation has expired' },
  DELEGATION_NOT_YET_VALID: {
    action: 'renew-session',
    meaning: 'the delegation is not valid yet (notBefore / issuedAt in the future)',
  },
  CAPABILITY_DENIED: {
    action: 'give-up',
    meaning: 'the delegation does not grant this action on this content',
  },
  REVOKED: { action: 'give-up', meaning: 'the wallet, session, delegation or content is revoked' },
  ACCESS_DENIED: {
    action: 'give-up',
    meaning: "the content's access policy does not admit this wallet",
  },
  POLICY_UNAVAILABLE: {
    action: 'back-off',
    meaning:
      'the chain state the access policy needs could not be read fresh; nothing was released, try later',
  },
  POLICY_UNSUPPORTED: {
    action: 'give-up',
    meaning: 'the access policy names a chain this node is not configured to read',
  },
  REPLAYED: { action: 'give-up', meaning: 'this (session key, nonce) was already used' },
  STALE_EPOCH: {
    action: 'retry-fresh',
    meaning: 'the request predates the node restart; sign a fresh one',
  },
  UNKNOWN_CONTENT: { action: 'give-up', meaning: 'this node holds no share for the content' },
  CONTENT_OWNED: { action: 'give-up', meaning: 'another publisher owns this content id' },
  BAD_MANIFEST: {
    action: 'give-up',
    meaning:
      "the manifest is malformed, does not match the node set, or its publisher's signature does not verify",
  },
  SHARE_MISMATCH: {
    action: 'give-up',
    meaning: 'the published share does not match its commitment in the manifest',
  },
  BAD_REVOCATION: {
    action: 'give-up',
    meaning:
      'the revocation record is malformed, names another node set, or lacks enough valid admin signatures',
  },
  RESHARE_DENIED: {
    action: 'give-up',
    meaning:
      'the reshare ticket, or the node sets it names, do not authorise this handover for this node',
  },
  BUSY: { action: 'back-off', meaning: 'the node is at capacity; nothing was done' },
  RATE_LIMITED: { action: 'back-off', meaning: 'this peer or wallet exceeded its rate' },
  TIMEOUT: {
    action: 'retry-fresh',
    meaning: 'the whole request did not arrive within the read deadline',
  },
  AUDIT_UNAVAILABLE: {
    action: 'back-off',
    meaning:
      'the node could not write the custody record this decision needs; nothing was released',
  },
  NOT_READY: {
    action: 'back-off',
    meaning: 'the node is not ready to serve (e.g. its revocation set is not fresh)',
  },
  INTERNAL: {
    action: 'back-off',
    meaning: 'the node could not complete a required step (storage); nothing was released',
  },
} as const satisfies Record<string, { readonly action: RejectionAction; readonly meaning: string }>;

export type RejectionCode = keyof typeof REJECTIONS;

export const RejectionCode = Object.fromEntries(Object.keys(REJECTIONS).map((k) => [k, k])) as {
  readonly [K in RejectionCode]: K;
};

export function isRejectionCode(value: unknown): value is RejectionCode {
  return typeof value === 'string' && Object.hasOwn(REJECTIONS, value);
}

export function rejectionAction(code: RejectionCode): RejectionAction {
  return REJECTIONS[code].action;
}
