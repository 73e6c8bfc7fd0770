// A complete, deterministic protocol world for tests and test vectors: a
// node set of n nodes (keys from fixed seeds), one admin, a wallet (a viem
// local account, i.e. a real wallet library), a session with its delegation,
// and a published manifest with its Shamir shares.
import { privateKeyToAccount } from 'viem/accounts';
import {
  createDelegation,
  createManifest,
  createNodeSetDocument,
  dealKey,
  parseSignedNodeSet,
  peerIdFromEd25519PublicKey,
  serializeSignedNodeSet,
  signNodeSet,
  type AccessPolicy,
  type Capabilities,
  type CryptoSuite,
  type Delegation,
  type Manifest,
  type NodeSet,
  type SigningKey,
} from '../../protocol/internal.ts';

/** Deterministic bytes: seed i of a given length (not random, not secret: test keys only). */
export function seedBytes(label: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (label * 31 + i * 7 + 1) & 0xff);
}

export const FIXTURE_TIME = 1_800_000_000_000; // 2027-01-15T08:00:00Z
export const WALLET_PRIVATE_KEY =
  '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
export const OTHER_WALLET_PRIVATE_KEY =
  '0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f';

export interface NodeKeys {
  readonly index: number;
  readonly identity: SigningKey;
  readonly identitySeed: Uint8Array;
  readonly kemSeed: Uint8Array;
  readonly kemPublicKey: Uint8Array;
}

export interface QuorumFixture {
  readonly nodeSet: NodeSet;
  readonly nodeSetFile: string;
  readonly nodes: readonly NodeKeys[];
  readonly adminSeed: Uint8Array;
}

export function quorumFixture(suite: CryptoSuite, n = 5, t = 3): QuorumFixture {
  const nodes = Array.from({ length: n }, (_, i): NodeKeys => {
    const identitySeed = seedBytes(100 + i, 32);
    const kemSeed = seedBytes(200 + i, 32);
    return {
      index: i + 1,
      identity: suite.ed25519.signer(identitySeed),
      identitySeed,
      kemSeed,
      kemPublicKey: suite.xwing.keygen(kemSeed).publicKey,
    };
  });
  const adminSeed = seedBytes(300, 64);
  const document = createNodeSetDocument({
    epoch: 1,
    threshold: t,
    nodes: nodes.map((k) => ({
      index: k.index,
      peerId: peerIdFromEd25519PublicKey(k.identity.publicKey),
      multiaddrs: [`/ip4/127.0.0.1/tcp/${7100 + k.index}`],
      kemPublicKey: k.kemPublicKey,
    })),
    admins: { threshold: 1, keys: [suite.hybrid.getPublicKey(adminSeed)] },
    params: {
      maxGrantAgeMs: 120_000,
      maxClockSkewMs: 30_000,
      maxDelegationLifetimeMs: 7 * 24 * 3600_000,
      siweDomain: 'qkms.local',
      chainId: 1,
    },
  });
  const signature = signNodeSet(suite, document, { index: 0, secretKey: adminSeed });
  const nodeSetFile = serializeSignedNodeSet(document, [signature]);
  return {
    nodeSet: parseSignedNodeSet(suite, JSON.parse(nodeSetFile)),
    nodeSetFile,
    nodes,
    adminSeed,
  };
}

export interface SessionFixture {
  readonly wallet: ReturnType<typeof privateKeyToAccount>;
  readonly session: SigningKey;
  readonly sessionSeed: Uint8Array;
  readonly kemSeed: Uint8Array;
  readonly kemPublicKey: Uint8Array;
  readonly delegation: Delegation;
}

export async function sessionFixture(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  options: {
    capabilities?: Capabilities;
    privateKey?: `0x${string}`;
    label?: number;
    issuedAt?: number;
  } = {},
): Promise<SessionFixture> {
  const label = options.label ?? 1;
  const wallet = privateKeyToAccount(options.privateKey ?? WALLET_PRIVATE_KEY);
  const sessionSeed = seedBytes(400 + label, 32);
  const kemSeed = seedBytes(500 + label, 32);
  const session = suite.ed25519.signer(sessionSeed);
  const issuedAt = options.issuedAt ?? FIXTURE_TIME;
  const delegation = await createDelegation({
    wallet: { address: wallet.address, signMessage: (message) => wallet.signMessage({ message }) },
    domain: nodeSet.params.siweDomain,
    nodeSetId: nodeSet.id,
    chainId: nodeSet.params.chainId,
    sessionPublicKey: session.publicKey,
    capabilities: options.capabilities ?? { actions: ['publish', 'recover'], content: 'all' },
    issuedAt,
    expiresAt: issuedAt + 24 * 3600_000,
    nonce: `qkmsfixture${label}nonce`,
  });
  return {
    wallet,
    session,
    sessionSeed,
    kemSeed,
    kemPublicKey: suite.xwing.keygen(kemSeed).publicKey,
    delegation,
  };
}

export interface ContentFixture {
  readonly cek: Uint8Array;
  readonly contentId: Uint8Array;
  /** Node i's share (64 bytes) at shares[i - 1]. */
  readonly shares: readonly Uint8Array[];
  /** The key scalar the shares share; the manifest wraps the CEK under it. */
  readonly keyScalar: Uint8Array;
  readonly manifest: Manifest;
}

export function contentFixture(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  publisher: SessionFixture,
  policy: AccessPolicy = { kind: 'open' },
  label = 1,
  /** The default repeats every 256 labels (seedBytes): a test needing more distinct ids passes its own. */
  contentId: Uint8Array = seedBytes(700 + label, 32),
): ContentFixture {
  const cek = seedBytes(600 + label, 32);
  // Deterministic randomness: each draw is the next 64 bytes of a seeded stream.
  let draw = 0;
  const random = (length: number): Uint8Array => seedBytes(800 + label * 64 + draw++, length);
  const { keyScalar, shares, commitments } = dealKey(
    nodeSet.threshold,
    nodeSet.nodes.length,
    random,
  );
  const manifest = createManifest(suite, publisher.session, {
    contentId,
    nodeSetId: nodeSet.id,
    threshold: nodeSet.threshold,
    shares: nodeSet.nodes.length,
    commitments,
    keyScalar,
    cek,
    publisher: hexToBytes(publisher.wallet.address),
    policy,
    issuedAt: FIXTURE_TIME + 1000,
    delegation: publisher.delegation,
    salt: seedBytes(900 + label, 32),
  });
  return { cek, contentId, shares, keyScalar, manifest };
}

export function hexToBytes(hex: string): Uint8Array {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  return Uint8Array.from(h.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}
