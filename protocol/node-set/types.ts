// The node-set document's types and limits (DESIGN.md, "The node-set
// document"; docs/protocol.md §5): the JSON shapes of the file, the validated
// forms a tool (NodeSetDocument) or a node and a client (NodeSet) hold, and
// the bounds every field is checked against.
/** Format version of the document (its `qkmsNodeSet` field). */
export const NODE_SET_FORMAT_VERSION = 1;
/** Admin keys a node set may list: admin quorums are small, and it bounds the signatures verified per file. */
export const MAX_ADMINS = 16;
/** Multiaddrs per node: a few transports over IPv4 and IPv6; more is a configuration mistake. */
export const MAX_MULTIADDRS_PER_NODE = 8;
/** Characters per multiaddr: DNS name, port, transport, relay and /p2p/ parts fit with room. */
export const MAX_MULTIADDR_CHARS = 256;
/** Characters of the SIWE domain: a DNS name is at most 253 (RFC 1035). */
export const MAX_SIWE_DOMAIN_CHARS = 253;
/**
 * Characters of a signed node-set file, checked before JSON.parse: 255 nodes of
 * about 4.6 KB (2,432 hex KEM key, 8 multiaddrs) plus 16 admin keys and 16
 * signatures come to about 1.5 MB pretty-printed; 4 Mi characters leaves room.
 */
export const MAX_NODE_SET_JSON_CHARS = 4 * 1024 * 1024;

/** Inclusive bounds of the numeric parameters, in milliseconds except chainId. */
export const NODE_SET_PARAM_BOUNDS = {
  /** 1 s .. 1 h: below a second honest clients fail on latency; above an hour a leaked request lives too long. */
  maxGrantAgeMs: { min: 1_000, max: 3_600_000 },
  /** 0 .. 5 min: NTP-synchronized hosts are within a second; minutes cover a bad clock, not a broken one. */
  maxClockSkewMs: { min: 0, max: 300_000 },
  /** 1 min .. 30 days: the longest a wallet's delegation to a session key may be valid. */
  maxDelegationLifetimeMs: { min: 60_000, max: 30 * 24 * 3_600_000 },
  /** EIP-155 chain ids are positive; kept to safe integers so JSON and CBOR agree. */
  chainId: { min: 1, max: Number.MAX_SAFE_INTEGER },
} as const;

/**
 * Defaults for the timing parameters. The SIWE domain and chain id have no
 * default: they are security bindings, so every node set names them itself.
 */
export const DEFAULT_NODE_SET_PARAMS = {
  /** 2 min: a request is signed just before it is sent; this covers slow links and hedged retries. */
  maxGrantAgeMs: 120_000,
  /** 30 s of clock skew between a client and a node. */
  maxClockSkewMs: 30_000,
  /** 7 days: a player signs in with its wallet about once a week. */
  maxDelegationLifetimeMs: 7 * 24 * 3_600_000,
} as const satisfies Partial<NodeSetParams>;

export interface NodeSetParams {
  /** A request's issuedAt may be at most this old. */
  readonly maxGrantAgeMs: number;
  /** A request's issuedAt may be at most this far in the future. */
  readonly maxClockSkewMs: number;
  /** A delegation's expiry may be at most this long after its issuedAt. */
  readonly maxDelegationLifetimeMs: number;
  /** The SIWE domain delegations must carry: host[:port], lower case. */
  readonly siweDomain: string;
  /** The EIP-155 chain id delegations must carry. */
  readonly chainId: number;
}

export interface NodeEntry {
  /** 1..n: the node's Shamir x-coordinate and its audience index in requests. */
  readonly index: number;
  readonly peerId: string;
  /** The node's Ed25519 public key, taken from its PeerId. */
  readonly nodePublicKey: Uint8Array;
  readonly multiaddrs: readonly string[];
  /** X-Wing public key that publishers seal this node's shares to. */
  readonly kemPublicKey: Uint8Array;
}

export interface NodeSetAdmins {
  /** k: admin signatures a node set or a revocation needs. */
  readonly threshold: number;
  /** m hybrid (Ed25519 + ML-DSA-65) public keys; signatures name their position. */
  readonly keys: readonly Uint8Array[];
}

/** A validated document whose admin signatures have not been checked: for tools, never for trust. */
export interface NodeSetDocument {
  readonly id: Uint8Array;
  /** 1 for the first set of a quorum; each successor takes its predecessor's + 1. */
  readonly epoch: number;
  /** The nodeSetId of the set before this one: present exactly when epoch > 1. */
  readonly predecessor?: Uint8Array;
  readonly threshold: number;
  /** Sorted by index: nodes[i] has index i + 1. */
  readonly nodes: readonly NodeEntry[];
  readonly admins: NodeSetAdmins;
  readonly params: NodeSetParams;
  node(index: number): NodeEntry | undefined;
  nodeByPeerId(peerId: string): NodeEntry | undefined;
}

/**
 * A node set signed by at least admins.threshold of its own admins: the only
 * form a node or client trusts. For a successor (epoch > 1) that says nothing
 * of its predecessor's consent: verifyNodeSetChain (chain.ts) checks that.
 */
export interface NodeSet extends NodeSetDocument {
  /** Positions in admins.keys of the admins whose signatures verified, ascending. */
  readonly signers: readonly number[];
}

export interface NodeEntryJson {
  readonly index: number;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
  /** Lower-case hex. */
  readonly kemPublicKey: string;
}

/** The `document` object of the file, as JSON values. */
export interface NodeSetDocumentJson {
  readonly qkmsNodeSet: typeof NODE_SET_FORMAT_VERSION;
  readonly epoch: number;
  /** Lower-case hex nodeSetId of the previous set: present exactly when epoch > 1. */
  readonly predecessor?: string;
  readonly threshold: number;
  readonly nodes: readonly NodeEntryJson[];
  readonly admins: { readonly threshold: number; readonly keys: readonly string[] };
  readonly params: NodeSetParams;
}

export interface NodeSetSignatureJson {
  /**
   * Position of the signing admin's key in admins.keys: this document's for
   * `signatures`, the predecessor's for `predecessorSignatures`.
   */
  readonly admin: number;
  /** Lower-case hex hybrid signature over NODE_SET_SIGNATURE || nodeSetId. */
  readonly signature: string;
}

export interface SignedNodeSetJson {
  readonly document: NodeSetDocumentJson;
  /** By this document's admins: at least its admins.threshold. */
  readonly signatures: readonly NodeSetSignatureJson[];
  /**
   * By the predecessor's admins, over this document's id: present exactly when
   * the document has a predecessor; verifyNodeSetChain needs at least the
   * predecessor's admins.threshold of them.
   */
  readonly predecessorSignatures?: readonly NodeSetSignatureJson[];
}

export interface NodeEntryInput {
  readonly index: number;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
  readonly kemPublicKey: Uint8Array;
}

/** The document as plain values with byte keys, for programmatic creation. */
export interface NodeSetDocumentInput {
  readonly epoch: number;
  /** The previous set's nodeSetId: required when epoch > 1, refused at epoch 1. */
  readonly predecessor?: Uint8Array;
  readonly threshold: number;
  /** Any order; the document lists them by index. */
  readonly nodes: readonly NodeEntryInput[];
  readonly admins: NodeSetAdmins;
  readonly params: NodeSetParams;
}
