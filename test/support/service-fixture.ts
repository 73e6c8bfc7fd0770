// In-memory node services over the deterministic protocol world: what the
// rejection tables drive without sockets. The store and nonce guard are
// simple Maps with the same contracts as the LevelDB-backed ones.
import {
  encodeMessage,
  publishSealContext,
  recoverSealContext,
  requireNativeSuite,
  seal,
  signRecoverRequest,
  delegationHash,
  toHex,
  type CryptoSuite,
  type Delegation,
  type Manifest,
  type NodeSet,
  type SignedRecoverRequest,
} from '../../protocol/internal.ts';
import { createFingerprinter, silentLogger } from '../../node/log.ts';
import { createNodeMetrics } from '../../node/metrics.ts';
import { PolicyGate } from '../../node/policy/gate.ts';
import { createPolicyMetrics } from '../../node/policy/metrics.ts';
import { DelegationCache } from '../../node/service/delegation-cache.ts';
import { PublishService } from '../../node/service/publish.ts';
import { RecoverService } from '../../node/service/recover.ts';
import { RevocationSet } from '../../revocation/index.ts';
import {
  type ContentStore,
  type CustodyAudit,
  type NonceGuard,
  type RevocationCheck,
  type ServiceDeps,
  type StoredContent,
} from '../../node/service/types.ts';
import { privateKeyToAccount } from 'viem/accounts';
import {
  FIXTURE_TIME,
  OTHER_WALLET_PRIVATE_KEY,
  hexToBytes,
  quorumFixture,
  type QuorumFixture,
} from './protocol-fixture.ts';

export class MemoryStore implements ContentStore {
  readonly records = new Map<string, StoredContent>();
  failReads = false;
  getContent(contentId: Uint8Array): Promise<StoredContent | undefined> {
    if (this.failReads) return Promise.reject(new Error('disk on fire'));
    const r = this.records.get(toHex(contentId));
    return Promise.resolve(r === undefined ? undefined : { ...r, share: r.share.slice() });
  }
  putContent(record: StoredContent): Promise<void> {
    this.records.set(toHex(record.contentId), { ...record, share: record.share.slice() });
    return Promise.resolve();
  }
}

export class MemoryNonces implements NonceGuard {
  readonly used = new Set<string>();
  failCommits = false;
  has(sessionKey: Uint8Array, nonce: Uint8Array): boolean {
    return this.used.has(toHex(sessionKey) + toHex(nonce));
  }
  reserve(sessionKey: Uint8Array, nonce: Uint8Array): boolean {
    const key = toHex(sessionKey) + toHex(nonce);
    if (this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }
  release(sessionKey: Uint8Array, nonce: Uint8Array): void {
    this.used.delete(toHex(sessionKey) + toHex(nonce));
  }
  commit(): Promise<void> {
    return this.failCommits ? Promise.reject(new Error('fsync failed')) : Promise.resolve();
  }
}

export interface NodeUnderTest {
  readonly deps: ServiceDeps;
  readonly recover: RecoverService;
  readonly publish: PublishService;
  readonly store: MemoryStore;
  readonly nonces: MemoryNonces;
  /** Replace parts of the deps (a new service pair is built). */
  with(overrides: Partial<ServiceDeps>): NodeUnderTest;
}

export function nodeUnderTest(
  quorum: QuorumFixture,
  index: number,
  options: {
    now?: number;
    suite?: CryptoSuite;
    revocations?: RevocationCheck;
    audit?: CustodyAudit;
  } = {},
): NodeUnderTest {
  const suite = options.suite ?? requireNativeSuite();
  const keys = quorum.nodes[index - 1];
  if (keys === undefined) throw new Error(`no node ${index}`);
  const store = new MemoryStore();
  const nonces = new MemoryNonces();
  const metrics = createNodeMetrics({ defaultMetrics: false });
  const clock = (): number => options.now ?? FIXTURE_TIME + 10_000;
  const deps: ServiceDeps = {
    suite,
    nodeSet: quorum.nodeSet,
    lineage: [quorum.nodeSet.id],
    self: { index, identity: keys.identity, kem: suite.xwing.decapsulator(keys.kemSeed) },
    store,
    nonces,
    revocations: options.revocations ?? new RevocationSet(),
    audit: options.audit ?? { record: () => Promise.resolve() },
    // No chain configured: wallet-only and time policies decide; chain ones are POLICY_UNSUPPORTED.
    policy: new PolicyGate({
      chains: [],
      keccak: suite.keccak256,
      log: silentLogger,
      clock,
      metrics: createPolicyMetrics(metrics.registry),
    }),
    clock,
    epochStart: 0,
    walletRate: () => true,
    metrics,
    log: silentLogger,
    fingerprint: createFingerprinter(new Uint8Array(32)),
    faults: {},
  };
  const build = (d: ServiceDeps): NodeUnderTest => {
    const delegations = new DelegationCache(d.suite);
    return {
      deps: d,
      recover: new RecoverService(d, delegations),
      publish: new PublishService(d, delegations),
      store,
      nonces,
      with: (overrides) => build({ ...d, ...overrides }),
    };
  };
  return build(deps);
}

/** The publish frame for node `index`: the manifest plus that node's share, sealed to it. */
export async function publishFrame(
  quorum: { readonly nodeSet: NodeSet },
  manifest: Manifest,
  share: Uint8Array,
  index: number,
): Promise<Uint8Array> {
  const suite = requireNativeSuite();
  const node = quorum.nodeSet.nodes[index - 1];
  if (node === undefined) throw new Error(`no node ${index}`);
  const sealed = await seal(
    suite,
    node.kemPublicKey,
    publishSealContext(manifest.body, index),
    share,
  );
  return encodeMessage({ type: 'publish', manifest, sealed });
}

export interface RecoverInput {
  readonly quorum: { readonly nodeSet: NodeSet };
  readonly session: {
    readonly session: import('../../protocol/internal.ts').SigningKey;
    readonly kemPublicKey: Uint8Array;
    readonly delegation: Delegation;
  };
  readonly contentId: Uint8Array;
  readonly node: number;
  readonly issuedAt?: number;
  readonly nonce?: Uint8Array;
}

export function recoverRequest(input: RecoverInput): SignedRecoverRequest {
  const suite = requireNativeSuite();
  return signRecoverRequest(suite, input.session.session, {
    nodeSetId: input.quorum.nodeSet.id,
    node: input.node,
    contentId: input.contentId,
    issuedAt: input.issuedAt ?? FIXTURE_TIME + 9_000,
    recipientKey: input.session.kemPublicKey,
    delegationHash: delegationHash(suite, input.session.delegation),
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
  });
}

export function recoverFrame(input: RecoverInput): Uint8Array {
  return encodeMessage({
    type: 'recover',
    request: recoverRequest(input),
    delegation: input.session.delegation,
  });
}

/** The same delegation text with a well-formed, low-S signature by another wallet. */
export async function wronglySigned(d: Delegation): Promise<Delegation> {
  const impostor = privateKeyToAccount(OTHER_WALLET_PRIVATE_KEY);
  return {
    message: d.message,
    signature: hexToBytes(await impostor.signMessage({ message: d.message })),
  };
}

export { quorumFixture, recoverSealContext };
