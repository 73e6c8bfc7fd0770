// The client's composition root: what a publisher or a player runtime holds
// for the life of the app. It pins one node set and follows its verified
// successors (lineage.ts: `nodeSet` is the newest), owns one libp2p host (TCP
// and WebSockets in Node, WebSockets in a browser: transports-*.ts; Noise,
// Yamux; no listening, no discovery) and the
// connection pool on it, and remembers how fast each node answered. Sessions
// are separate (session.ts): one client serves any number of them.
//
// Deadlines: `requestTimeoutMs` bounds a whole recover or publish call
// (together with the call's own signal); one attempt at one node gets half of
// it, so the one retry after a transport fault still fits.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p';
import { clientTransports } from '#client-transports';
import {
  ErrorCode,
  QkmsError,
  defaultSuite,
  type AccessPolicy,
  type CryptoSuite,
  type Manifest,
  toHex,
  type NodeSet,
} from '../protocol/internal.ts';
import { dialOnlyNodeSet, type DialGate } from './dial-gate.ts';
import { LatencyBySet } from './latency.ts';
import { askInfo, type NodeStatus } from './info.ts';
import { Lineage } from './lineage.ts';
import { ConnectionPool } from './pool.ts';
import {
  publishContent,
  type PublishDeps,
  type PublishOptions,
  type PublishResult,
} from './publish.ts';
import { newVerifiedManifests } from './manifest-cache.ts';
import type { RecoverDeps } from './recover.ts';
import { recoverAcrossSets } from './recover-chain.ts';

export type { NodeStatus } from './info.ts';
import type { RevocationRecord } from '../revocation/index.ts';
import type { NodeReport } from './report.ts';
import { listRevocations, revokeAll, type RevokeDeps, type RevokeResult } from './revoke.ts';
import type { Session } from './session.ts';
import type { NodeTransport } from './transport.ts';
import { assertFunction, intInRange, optionBag, optionalSignal } from './validate.ts';

/** A player wants its key in well under this, or an error it can show. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Shortest call deadline accepted: below it a dial on a WAN link cannot even finish. */
export const MIN_REQUEST_TIMEOUT_MS = 100;
/** Longest call deadline accepted: a recover or publish is a few round trips. */
export const MAX_REQUEST_TIMEOUT_MS = 10 * 60_000;
/** One extra node asked at once: one slow or lying node costs no extra round trip. */
export const DEFAULT_HEDGE = 1;

export interface QuorumClientOptions {
  /** The pinned node set (parseSignedNodeSetJson: admin signatures verified). */
  readonly nodeSet: NodeSet;
  readonly suite?: CryptoSuite;
  /** Wall clock, ms since the epoch (requests' and manifests' issuedAt); Date.now by default. */
  readonly clock?: () => number;
  /** Deadline of one recover or publish call, ms; DEFAULT_REQUEST_TIMEOUT_MS by default. */
  readonly requestTimeoutMs?: number;
  /** Nodes asked at once beyond t (0..n − t); DEFAULT_HEDGE by default. */
  readonly hedge?: number;
  /**
   * The libp2p transports to dial with, instead of the runtime's defaults
   * (TCP and WebSockets in Node, WebSockets in a browser). A browser app that
   * wants WebRTC-direct installs @libp2p/webrtc and passes
   * `[webSockets(), webRTCDirect()]`; the self-contained browser bundle
   * exports both.
   */
  readonly transports?: readonly ClientTransport[];
}

/** A libp2p transport factory, e.g. `webSockets()` or `webRTCDirect()`. */
export type ClientTransport = NonNullable<Libp2pOptions['transports']>[number];

const OPTION_KEYS = [
  'nodeSet',
  'suite',
  'clock',
  'requestTimeoutMs',
  'hedge',
  'transports',
] as const;
const PUBLISH_KEYS = ['cek', 'contentId', 'policy', 'signal', 'beforeSend'] as const;
const RECOVER_KEYS = ['signal'] as const;
const FOLLOW_KEYS = ['files', 'signal'] as const;

interface Resolved {
  readonly nodeSet: NodeSet;
  readonly suite: CryptoSuite;
  readonly clock: () => number;
  readonly requestTimeoutMs: number;
  readonly hedge: number;
}

function resolveOptions(options: QuorumClientOptions): Resolved {
  const bag = optionBag(options, 'QuorumClient', OPTION_KEYS, ['nodeSet']);
  const nodeSet = options.nodeSet;
  if (
    typeof nodeSet !== 'object' ||
    !(nodeSet.id instanceof Uint8Array) ||
    !Array.isArray(nodeSet.nodes) ||
    nodeSet.nodes.length < nodeSet.threshold
  )
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'QuorumClient: nodeSet: expected a parsed NodeSet',
    );
  if (options.clock !== undefined) assertFunction(options.clock, 'QuorumClient: clock');
  const n = nodeSet.nodes.length;
  return {
    nodeSet,
    suite: options.suite ?? defaultSuite(),
    clock: options.clock ?? Date.now,
    requestTimeoutMs: intInRange(
      bag['requestTimeoutMs'] ?? DEFAULT_REQUEST_TIMEOUT_MS,
      'QuorumClient: requestTimeoutMs',
      MIN_REQUEST_TIMEOUT_MS,
      MAX_REQUEST_TIMEOUT_MS,
    ),
    hedge: intInRange(
      bag['hedge'] ?? Math.min(DEFAULT_HEDGE, n - nodeSet.threshold),
      'QuorumClient: hedge',
      0,
      n - nodeSet.threshold,
    ),
  };
}

function transportsOf(options: QuorumClientOptions): ClientTransport[] {
  const given = options.transports;
  if (given === undefined) return clientTransports();
  const list: readonly unknown[] = Array.isArray(given) ? given : [];
  if (list.length === 0 || !list.every((t) => typeof t === 'function'))
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'QuorumClient: transports: expected a non-empty array of libp2p transports',
    );
  return [...given];
}

export class QuorumClient {
  readonly #options: Resolved;
  readonly #transport: NodeTransport;
  readonly #libp2p: Libp2p | undefined;
  readonly #lineage: Lineage;
  readonly #latency = new LatencyBySet();
  /** This client's manifest verdicts: never shared with another client. */
  readonly #verifiedManifests = newVerifiedManifests();
  readonly #now = (): number => performance.now();
  #closing: Promise<void> | undefined;

  private constructor(
    options: Resolved,
    transport: NodeTransport,
    libp2p: Libp2p | undefined,
    gate?: DialGate,
  ) {
    this.#options = options;
    this.#transport = transport;
    this.#libp2p = libp2p;
    this.#lineage = new Lineage(options.suite, options.nodeSet, (set) => {
      // Reachable before current: the pool first, since it checks every address.
      transport.addNodes?.(set.nodes);
      gate?.allow(set);
    });
  }

  /** The current node set: the pinned one, or the newest verified successor the client followed. */
  get nodeSet(): NodeSet {
    return this.#lineage.current;
  }

  /** Every node set the client verified, oldest (the pinned one) first. */
  get lineage(): readonly NodeSet[] {
    return this.#lineage.sets;
  }

  /**
   * Follows the node-set chain: adopts the verified successors of the current
   * set that `files` prove (UTF-8 signed node-set files, oldest first, as a
   * node's `node-set` answer lists them), or, without `files`, that any node
   * of the current set lists when asked. Files that do not chain from the
   * current set, with every link signed by the previous set's admins, are
   * ignored. Resolves true if the current set changed; never throws for what
   * a node sends.
   */
  async follow(
    options: { files?: readonly Uint8Array[]; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    return this.#run(async () => {
      optionBag(options, 'follow', FOLLOW_KEYS);
      const before = this.nodeSet;
      if (options.files !== undefined) {
        if (!Array.isArray(options.files) || !options.files.every((f) => f instanceof Uint8Array))
          throw new QkmsError(
            ErrorCode.INVALID_ARGUMENT,
            'follow: files: expected an array of Uint8Array',
          );
        this.#lineage.adopt(options.files);
      } else {
        const signal = this.#deadline(options.signal);
        await this.#lineage.follow(this.#transport, this.nodeSet.nodes, signal);
      }
      return this.nodeSet !== before;
    });
  }

  /** Starts the client's libp2p host and pool for `options.nodeSet`. */
  static async create(options: QuorumClientOptions): Promise<QuorumClient> {
    const resolved = resolveOptions(options);
    const gate = dialOnlyNodeSet(resolved.nodeSet);
    const libp2p = await createLibp2p({
      transports: transportsOf(options),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: gate,
      // A node's addresses are dialled in the order the node set lists them
      // (docs/protocol.md §1): libp2p's default sorter would put public before
      // private and TCP before WebSockets whatever the admins chose. The sort
      // is stable, so an order that never moves anything keeps the listed one.
      connectionManager: { addressSorter: () => 0 },
    });
    try {
      return new QuorumClient(
        resolved,
        new ConnectionPool(libp2p, resolved.nodeSet.nodes),
        libp2p,
        gate,
      );
    } catch (e) {
      await libp2p.stop();
      throw e;
    }
  }

  /**
   * A client over another transport (an in-memory quorum in tests, or a
   * libp2p host the embedder built, e.g. with browser transports, wrapped in
   * a ConnectionPool). close() does not stop what the caller built.
   */
  static withTransport(options: QuorumClientOptions, transport: NodeTransport): QuorumClient {
    return new QuorumClient(resolveOptions(options), transport, undefined);
  }

  /**
   * Publishes a CEK: split t-of-n, a manifest signed by `session`, one sealed
   * share to each node, each receipt verified. Node failures are reported in
   * `receipts`, not thrown; the content is recoverable once t nodes report `ok`.
   */
  publish(
    session: Session,
    options: {
      cek?: Uint8Array;
      contentId?: Uint8Array;
      policy: AccessPolicy;
      signal?: AbortSignal;
      /** Stores the manifest and CEK before any node is asked (PublishOptions.beforeSend). */
      beforeSend?: PublishOptions['beforeSend'];
    },
  ): Promise<PublishResult> {
    return this.#run(async () => {
      optionBag(options, 'publish', PUBLISH_KEYS, ['policy']);
      optionalSignal(options.signal, 'publish: signal');
      const publishOptions: PublishOptions = {
        policy: options.policy,
        ...(options.cek === undefined ? {} : { cek: options.cek }),
        ...(options.contentId === undefined ? {} : { contentId: options.contentId }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.beforeSend === undefined ? {} : { beforeSend: options.beforeSend }),
      };
      if (options.beforeSend !== undefined)
        assertFunction(options.beforeSend, 'publish: beforeSend');
      return publishContent(this.#deps(), session, publishOptions, this.#options.requestTimeoutMs);
    });
  }

  /**
   * Recovers the CEK of `manifest` for `session`: a fresh array the caller
   * owns and should wipe, plus what each node did. Throws QkmsError before
   * any request for a manifest that does not verify against the node set it
   * names (one of `lineage`); RecoverError (with the per-node report of the
   * last attempt) when no verified CEK results. Nodes that answer
   * WRONG_NODE_SET make the client follow the chain (recover-chain.ts).
   */
  recover(
    manifest: Manifest,
    session: Session,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ cek: Uint8Array; report: readonly NodeReport[] }> {
    return this.#run(() => {
      optionBag(options, 'recover', RECOVER_KEYS);
      const signal = optionalSignal(options.signal, 'recover: signal');
      return recoverAcrossSets(
        {
          ...this.#deps(),
          lineage: this.#lineage,
          latencyOf: (set) => this.#latency.of(toHex(set.id)),
          follow: (nodes, signal) => this.#lineage.follow(this.#transport, nodes, signal),
          learnAncestors: (signal) => this.#lineage.learnAncestorsFrom(this.#transport, signal),
          hedge: this.#options.hedge,
          verifiedManifests: this.#verifiedManifests,
        },
        manifest,
        session,
        { timeoutMs: this.#options.requestTimeoutMs, signal },
      );
    });
  }

  /**
   * Asks every node who it is (`/qkms/info`): reachability, the node set it
   * serves, its protocol versions and software, and the round-trip time.
   * Never throws for a node's failure; each node gets its own entry.
   */
  info(options: { signal?: AbortSignal } = {}): Promise<readonly NodeStatus[]> {
    return this.#run(() =>
      askInfo(
        { suite: this.#options.suite, transport: this.#transport, now: this.#now },
        this.nodeSet,
        this.#options.requestTimeoutMs,
        options.signal,
      ),
    );
  }

  /**
   * Sends an admin-signed revocation record to every node at once and
   * reports per node; `effective` once n - t + 1 nodes acknowledged it
   * durably. Nodes that do not answer within the request timeout (or before
   * `signal`) are reported unreachable. Never throws for a node's failure.
   */
  revoke(record: RevocationRecord, options: { signal?: AbortSignal } = {}): Promise<RevokeResult> {
    return this.#run(() => {
      optionBag(options, 'revoke', RECOVER_KEYS);
      return revokeAll(this.#revokeDeps(), record, { signal: this.#deadline(options.signal) });
    });
  }

  /** Every revocation record node `index` holds, each verified against the node set. */
  revocations(index: number, options: { signal?: AbortSignal } = {}): Promise<RevocationRecord[]> {
    return this.#run(async () => {
      optionBag(options, 'revocations', RECOVER_KEYS);
      const node = this.nodeSet.node(index);
      if (node === undefined)
        throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `revocations: no node ${index}`);
      const signal = this.#deadline(options.signal);
      // Records of sets before the one this client pinned stay in force: learn those sets first.
      if (this.#lineage.sets[0]?.predecessor !== undefined)
        await this.#lineage.learnAncestorsFrom(this.#transport, signal);
      return listRevocations(this.#revokeDeps(), node, { signal });
    });
  }

  #revokeDeps(): RevokeDeps {
    return {
      suite: this.#options.suite,
      nodeSet: this.nodeSet,
      lineage: this.#lineage.sets,
      transport: this.#transport,
      now: this.#now,
    };
  }

  #deadline(value: AbortSignal | undefined): AbortSignal {
    const signal = optionalSignal(value, 'signal');
    const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
    return signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  }

  /** Stops the libp2p host (every pooled connection with it). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.resolve(this.#libp2p?.stop());
    return this.#closing;
  }

  #deps(): Omit<RecoverDeps, 'latency' | 'hedge' | 'verifiedManifests'> & PublishDeps {
    const o = this.#options;
    return {
      suite: o.suite,
      // The current set: a publish goes to the nodes that serve now.
      nodeSet: this.nodeSet,
      transport: this.#transport,
      clock: o.clock,
      now: this.#now,
      attemptTimeoutMs: Math.ceil(o.requestTimeoutMs / 2),
    };
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined)
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'QuorumClient: closed');
    return work();
  }
}
