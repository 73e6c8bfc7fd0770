// The node's composition root (DESIGN.md "The daemon"; Lodestar's pattern):
// builds keystore -> store -> replay guard -> metrics -> revocations ->
// libp2p -> handlers -> revocation sync -> HTTP in dependency order, and closes them in reverse, once. One root
// AbortController stops every wait and timer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  QkmsError,
  parseSignedNodeSetJson,
  requireNativeSuite,
  toHex,
  type CryptoSuite,
  type NodeEntry,
  type NodeHealth,
  type NodeSet,
  type RejectionCode,
} from '../protocol/index.ts';
import { InflightLimiter, TokenBuckets } from './admission.ts';
import { startHttp, type HttpServer } from './http.ts';
import { loadKeystore, type Keystore } from './keystore.ts';
import { createFingerprinter, createLogger, deriveFingerprintKey, type Logger } from './log.ts';
import { createNodeMetrics, type NodeMetrics, type ProtocolName } from './metrics.ts';
import {
  createHost,
  registerChannel,
  registerHandler,
  registerNodeOnly,
  type Host,
  type RequestContext,
  type RequestOutcome,
} from './network/index.ts';
import type { NodeOptions } from './options.ts';
import { AuditLog } from './audit/log.ts';
import { decodeAuditRecord } from './audit/record.ts';
import { AuditWitness } from './audit/witness.ts';
import { AUDIT_WITNESS_FILE } from './audit/witness-file.ts';
import { ReplayGuard, replayGuardLimits } from './replay-guard.ts';
import { RevocationService } from './revocation/service.ts';
import { REVSYNC_PROTOCOL, RevocationSync, type FreshnessState } from './revocation/sync.ts';
import { DelegationCache } from './service/delegation-cache.ts';
import { handleInfo } from './service/info.ts';
import { PublishService } from './service/publish.ts';
import { RecoverService } from './service/recover.ts';
import { type ServiceDeps, type TestFaults } from './service/types.ts';
import { NodeStore } from './store/index.ts';

/** Database folder inside the node's data dir. */
export const DB_DIR = 'db';
/** The store's integrity mark and loss report, outside the database (decision 0008). */
export const DB_INTEGRITY_DIR = 'db-integrity';
/** Token buckets remembered at once (peers, wallets). */
const RATE_BUCKETS = 100_000;

export interface DaemonDeps {
  readonly suite?: CryptoSuite;
  readonly clock?: () => number;
  /** A monotonic clock in ms (performance.now unless injected): the replay guard's second clock. */
  readonly monotonic?: () => number;
  readonly log?: Logger;
  readonly passphrase?: string | undefined;
  /** Test-only hooks beyond the option flags (e.g. holding a request before sealing). */
  readonly faults?: Pick<TestFaults, 'beforeSeal' | 'afterCustodyRecord' | 'auditFailing'> & {
    /** Refuse connections with these peers both ways (a partition); needs test faults enabled. */
    readonly blocked?: (peerId: string) => boolean;
  };
}

export interface Daemon {
  readonly peerId: string;
  readonly index: number;
  readonly nodeSet: NodeSet;
  readonly listen: readonly string[];
  readonly http: { readonly host: string; readonly port: number };
  readonly metrics: NodeMetrics;
  readonly previousShutdownClean: boolean;
  readonly revocations: {
    /** Records in the live set. */
    readonly size: () => number;
    /** Whether this node synced with a majority of the node set within the bound. */
    readonly fresh: () => boolean;
    /** Fresh, not yet synced with a majority since start, or stale. */
    readonly state: () => FreshnessState;
    /** Runs one anti-entropy round with every peer now. */
    readonly syncNow: () => Promise<void>;
  };
  /** Closes every connection with this peer (with a `blocked` fault: completes a partition). */
  disconnect(peerId: string): Promise<void>;
  /** Stops everything in reverse order; idempotent. */
  close(): Promise<void>;
}

function loadNodeSet(suite: CryptoSuite, path: string): NodeSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new QkmsError(ErrorCode.CONFIG_INVALID, `node set file ${path}: cannot read`, {
      cause: e,
    });
  }
  return parseSignedNodeSetJson(suite, text);
}

function blockedBy(blocked: (peerId: string) => boolean): (peer: PeerId) => boolean {
  return (peer) => blocked(peer.toString());
}

/**
 * The replay guard's source partition: the connection's address block, not
 * its PeerId, which costs nothing to make (decision 0006).
 */
function admissionSource(ctx: RequestContext): string {
  return ctx.remoteBlock;
}

function result(outcome: RequestOutcome): RejectionCode | 'ok' | undefined {
  return outcome === 'refused' || outcome === 'aborted' ? undefined : outcome;
}

export async function startDaemon(options: NodeOptions, deps: DaemonDeps = {}): Promise<Daemon> {
  const suite = deps.suite ?? requireNativeSuite();
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? createLogger({ level: options.logLevel });
  const root = new AbortController();
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  const closeAll = async (): Promise<void> => {
    root.abort();
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (e) {
        log.error('close failed', { part: name, error: e instanceof Error ? e.name : typeof e });
      }
    }
  };

  try {
    // keystore
    const keystore: Keystore = loadKeystore(options.dir, { suite, passphrase: deps.passphrase });
    closers.push({
      name: 'keystore',
      close: () => {
        keystore.wipe();
      },
    });
    const nodeSet = loadNodeSet(suite, options.nodeSetFile);
    const self: NodeEntry | undefined = nodeSet.nodes.find(
      (n) => n.peerId === keystore.publicInfo.peerId,
    );
    if (self === undefined) {
      throw new QkmsError(
        ErrorCode.CONFIG_INVALID,
        `node set ${options.nodeSetFile}: this node (${keystore.publicInfo.peerId}) is not in it`,
      );
    }
    if (toHex(self.kemPublicKey) !== keystore.publicInfo.kemPublicKey) {
      throw new QkmsError(
        ErrorCode.CONFIG_INVALID,
        `node set ${options.nodeSetFile}: node ${self.index} lists another KEM key than this keystore's`,
      );
    }
    const fingerprint = createFingerprinter(deriveFingerprintKey(suite, keystore.storageKey));
    const nodeLog = log.child({ node: self.index });

    // store, replay guard
    const store = await NodeStore.open({
      path: join(options.dir, DB_DIR),
      integrityDir: join(options.dir, DB_INTEGRITY_DIR),
      storageKey: keystore.storageKey,
      suite,
      clock,
      log: nodeLog,
    });
    closers.push({ name: 'store', close: () => store.close() });
    if (!store.previousShutdownClean) {
      nodeLog.warn(
        'previous run did not shut down cleanly: refusing requests issued before now',
        {},
      );
    }
    const nonces = await ReplayGuard.load({
      store,
      clock,
      ...(deps.monotonic === undefined ? {} : { monotonic: deps.monotonic }),
      ...replayGuardLimits(nodeSet.params, {
        perWallet: {
          ratePerSecond: options.admission.perWalletRate.perSecond,
          burst: options.admission.perWalletRate.burst,
        },
        perSource: {
          ratePerSecond: options.admission.perIpRate.perSecond,
          burst: options.admission.perIpRate.burst,
        },
      }),
      sweepIntervalMs: options.store.replaySweepIntervalMs,
      onSweepError: () => {
        nodeLog.error('replay sweep failed', {});
      },
    });
    nonces.start();
    closers.push({ name: 'replay-guard', close: () => nonces.stop() });
    if (nonces.clockBehindMs() > 0) {
      nodeLog.warn('clock is behind the replay guard mark: refusing recovers until it catches up', {
        behindMs: nonces.clockBehindMs(),
      });
    }

    // metrics
    const metrics = createNodeMetrics();
    metrics.sharesStored.set(await store.countContent());

    // audit log: custody records, durable before the decision they record takes effect
    const identity = suite.ed25519.signer(keystore.identitySeed);
    const auditFailing = options.test.enabled ? deps.faults?.auditFailing : undefined;
    const audit = await AuditLog.open({
      suite,
      store,
      signer: identity,
      clock,
      fingerprint,
      metrics,
      log: nodeLog,
      ...(auditFailing === undefined ? {} : { failing: auditFailing }),
    });
    closers.push({ name: 'audit', close: () => audit.drain() });
    // What peers witnessed of this log, and of theirs (decision 0010).
    const witness = await AuditWitness.open({
      suite,
      nodeSet,
      selfIndex: self.index,
      signer: identity,
      head: () => audit.head,
      hashAt: async (seq) => {
        for await (const entry of store.auditEntries(seq, { limit: 1 })) {
          if (entry.seq !== seq) return undefined;
          if ('corrupt' in entry) throw new QkmsError(ErrorCode.STORE_CORRUPT, entry.corrupt);
          return decodeAuditRecord(entry.value).hash;
        }
        return undefined;
      },
      path: join(options.dir, AUDIT_WITNESS_FILE),
      clock,
      log: nodeLog,
    });
    closers.push({ name: 'audit-witness', close: () => witness.close() });

    // revocations: the live set, loaded before anything can ask for a share
    const revocations = await RevocationService.load({
      audit,
      suite,
      nodeSet,
      store,
      clock,
      metrics,
      log: nodeLog,
      fingerprint,
      refuseStale: options.revocation.refuseStale,
      auditHeads: witness,
    });

    // libp2p
    const privateKey = await generateKeyPairFromSeed('Ed25519', keystore.identitySeed);
    const host: Host = await createHost(
      {
        privateKey,
        listen: options.network.listen,
        nodeSetPeers: nodeSet.nodes.map((n) => peerIdFromString(n.peerId)),
        allow: nodeSet.nodes.flatMap((n) => n.multiaddrs),
        limits: {
          maxConnections: options.network.maxConnections,
          maxConnectionsPerIp: options.network.maxConnectionsPerIp,
        },
        ...(options.test.enabled && deps.faults?.blocked !== undefined
          ? { blocked: blockedBy(deps.faults.blocked) }
          : {}),
      },
      { log: nodeLog },
    );
    closers.push({ name: 'libp2p', close: () => host.close() });
    metrics.connections.set(0);
    const updateConnections = (): void => {
      metrics.connections.set(host.libp2p.getConnections().length);
    };
    host.libp2p.addEventListener('connection:open', updateConnections);
    host.libp2p.addEventListener('connection:close', updateConnections);

    // services
    const inflight = new InflightLimiter(options.admission.maxInflight);
    const peerRate = new TokenBuckets(
      {
        ratePerSecond: options.admission.perPeerRate.perSecond,
        burst: options.admission.perPeerRate.burst,
      },
      { maxKeys: RATE_BUCKETS, clock },
    );
    // Keyed by source address block: fresh PeerIds from one address share it. Node-set peers exempt.
    const ipRate = new TokenBuckets(
      {
        ratePerSecond: options.admission.perIpRate.perSecond,
        burst: options.admission.perIpRate.burst,
      },
      { maxKeys: RATE_BUCKETS, clock },
    );
    const nodeSetPeerIds = new Set(nodeSet.nodes.map((n) => n.peerId));
    const walletRate = new TokenBuckets(
      {
        ratePerSecond: options.admission.perWalletRate.perSecond,
        burst: options.admission.perWalletRate.burst,
      },
      { maxKeys: RATE_BUCKETS, clock },
    );
    const faults: TestFaults = options.test.enabled
      ? {
          wrongShare: options.test.wrongShare,
          ...(options.test.delayMs > 0 ? { delayMs: options.test.delayMs } : {}),
          ...(deps.faults?.beforeSeal === undefined ? {} : { beforeSeal: deps.faults.beforeSeal }),
          ...(deps.faults?.afterCustodyRecord === undefined
            ? {}
            : { afterCustodyRecord: deps.faults.afterCustodyRecord }),
        }
      : {};
    const serviceDeps: ServiceDeps = {
      suite,
      nodeSet,
      self: {
        index: self.index,
        identity,
        kem: suite.xwing.decapsulator(keystore.kemSeed),
      },
      store,
      nonces,
      revocations,
      audit,
      clock,
      epochStart: store.replayEpochStart,
      walletRate: (wallet) => walletRate.take(toHex(wallet)),
      metrics,
      log: nodeLog,
      fingerprint,
      faults,
    };
    // One verdict cache for both: a delegation checked by recover is not checked again by publish.
    const delegations = new DelegationCache(suite, {
      onLookup: (outcome) => {
        metrics.delegationCache.inc({ outcome });
      },
    });
    const recover = new RecoverService(serviceDeps, delegations);
    const publish = new PublishService(serviceDeps, delegations);

    const admitted =
      (handler: (frame: Uint8Array, ctx: RequestContext) => Promise<Uint8Array>) =>
      async (frame: Uint8Array, ctx: RequestContext): Promise<Uint8Array> => {
        if (!nodeSetPeerIds.has(ctx.remotePeer) && !ipRate.take(ctx.remoteBlock))
          throw new QkmsError(ErrorCode.RATE_LIMITED, 'source address rate exceeded');
        if (!peerRate.take(ctx.remotePeer))
          throw new QkmsError(ErrorCode.RATE_LIMITED, 'peer rate exceeded');
        const release = inflight.tryAcquire();
        if (release === undefined) throw new QkmsError(ErrorCode.BUSY, 'in-flight queue full');
        metrics.inflight.inc();
        try {
          return await handler(frame, ctx);
        } finally {
          metrics.inflight.dec();
          release();
        }
      };
    const onRequest = (protocol: string, outcome: RequestOutcome, seconds: number): void => {
      const name = protocol.split('/')[2] as ProtocolName;
      const r = result(outcome);
      if (r !== undefined) metrics.requests.inc({ protocol: name, result: r });
      metrics.requestDuration.observe({ protocol: name }, seconds);
    };
    const handlerDeps = { log: nodeLog, onRequest, signal: root.signal };
    const peerIndex = new Map(nodeSet.nodes.map((n) => [n.peerId, n.index]));
    // registerNodeOnly admits node-set PeerIds only.
    const indexOfPeer = (peerId: string): number => {
      const index = peerIndex.get(peerId);
      if (index === undefined) throw new QkmsError(ErrorCode.INTERNAL, 'peer not in the node set');
      return index;
    };
    const sync = new RevocationSync(
      {
        libp2p: host.libp2p,
        nodeSet,
        selfIndex: self.index,
        live: revocations.live,
        clock,
        metrics,
        log: nodeLog,
        signal: root.signal,
        audit: witness,
      },
      options.revocation,
    );

    // The operator's view (qkms node status) and the threshold monitor.
    const peers = nodeSet.nodes
      .filter((n) => n.index !== self.index)
      .map((n) => ({ index: n.index, peerId: peerIdFromString(n.peerId) }));
    const reachablePeers = (): number[] =>
      peers.filter((p) => host.libp2p.getConnections(p.peerId).length > 0).map((p) => p.index);
    const updateQuorumHealth = (): number[] => {
      const peers = reachablePeers();
      metrics.quorumPeersReachable.set(peers.length);
      metrics.quorumAtRisk.set(1 + peers.length <= nodeSet.threshold ? 1 : 0);
      return peers;
    };
    const health = async (): Promise<NodeHealth> => ({
      peers: updateQuorumHealth(),
      revocations: revocations.live.size,
      revocationLagMs: sync.lagMs(),
      shares: (await metrics.sharesStored.get()).values[0]?.value ?? 0,
      auditHead: audit.head.seq,
    });
    // After libp2p has updated its connection list.
    const deferHealth = (): void => {
      setTimeout(updateQuorumHealth, 0).unref();
    };
    host.libp2p.addEventListener('connection:open', deferHealth);
    host.libp2p.addEventListener('connection:close', deferHealth);
    updateQuorumHealth();
    const handlers = {
      recover: admitted((f, ctx) => {
        // Fail closed while this log lacks a head a peer witnessed (decision 0010).
        witness.assertNotRolledBack();
        return recover.handle(f, admissionSource(ctx));
      }),
      publish: admitted((f) => publish.handle(f)),
      info: admitted((f) =>
        handleInfo({ ...serviceDeps, health, witnessedOf: (i) => witness.witnessedOf(i) }, f),
      ),
      revoke: admitted((f) => revocations.handleRevoke(f)),
    } as const;
    for (const name of ['recover', 'publish', 'info', 'revoke'] as const) {
      await registerHandler(
        host.libp2p,
        {
          protocol: `/qkms/${name}/1`,
          maxFrameBytes: MAX_FRAME_BYTES[name],
          readDeadlineMs: options.network.readDeadlineMs,
          maxInboundStreams: options.network.maxStreamsPerProtocol,
          handle: handlers[name],
        },
        handlerDeps,
      );
    }
    // The same handlers on one long-lived stream per client connection (docs/protocol.md §1b).
    await registerChannel(
      host.libp2p,
      {
        readDeadlineMs: options.network.readDeadlineMs,
        maxInFlight: options.network.maxStreamsPerProtocol,
        maxInboundStreams: 4,
        handlers,
      },
      handlerDeps,
    );

    // Node-to-node: no per-peer rate limit (peers are the node set), bounded by streams.
    await registerNodeOnly(
      host,
      {
        protocol: REVSYNC_PROTOCOL,
        maxFrameBytes: MAX_FRAME_BYTES.revsync,
        readDeadlineMs: options.network.readDeadlineMs,
        maxInboundStreams: options.network.maxStreamsPerProtocol,
        quiet: true,
        handle: (f, ctx) => revocations.handleRevsync(f, indexOfPeer(ctx.remotePeer)),
      },
      handlerDeps,
    );
    revocations.attach(sync);
    await sync.start();
    revocations.fresh(); // sets the freshness gauge from the start
    closers.push({ name: 'revocation-sync', close: () => sync.stop() });

    // HTTP: metrics and health, last up, first down.
    const http: HttpServer = await startHttp(options.http.address, {
      registry: metrics.registry,
      checks: [
        {
          name: 'store',
          ready: () => store.isOpen && store.writeFence === undefined,
          reason: () => {
            const fence = store.writeFence;
            return fence === undefined
              ? undefined
              : `writes fenced after a failed write (${fence.lastError}); reopen attempts ${fence.attempts}`;
          },
        },
        // Acknowledged data missing from the store: not ready until the operator acts.
        {
          name: 'integrity',
          ready: () => store.integrity === undefined,
          reason: () => store.integrity?.summary,
        },
        {
          name: 'libp2p',
          ready: () => host.libp2p.status === 'started' && host.libp2p.getMultiaddrs().length > 0,
        },
        // The clock went back past a time the replay guard has passed: recovers get NOT_READY.
        {
          name: 'clock',
          ready: () => nonces.clockBehindMs() === 0,
          reason: () =>
            `clock is ${String(nonces.clockBehindMs())} ms behind the replay guard's mark; serving resumes when it catches up`,
        },
        {
          name: 'revocations',
          ready: () => revocations.fresh(),
          reason: () => revocations.reason(),
        },
        { name: 'audit', ready: () => audit.writable },
        {
          name: 'audit-witness',
          ready: () => witness.rollback() === undefined,
          reason: () => witness.reason(),
        },
      ],
    });
    closers.push({ name: 'http', close: () => http.close() });

    const listen = host.libp2p.getMultiaddrs().map((a) => a.toString());
    nodeLog.info('node ready', {
      peer: keystore.publicInfo.peerId.slice(0, 16),
      index: self.index,
      http: `${http.address.host}:${http.address.port}`,
    });
    let closing: Promise<void> | undefined;
    return {
      peerId: keystore.publicInfo.peerId,
      index: self.index,
      nodeSet,
      listen,
      http: http.address,
      metrics,
      previousShutdownClean: store.previousShutdownClean,
      revocations: {
        size: () => revocations.live.size,
        fresh: () => revocations.fresh(),
        state: () => revocations.state(),
        syncNow: () => sync.syncNow(),
      },
      disconnect: async (peerId) => {
        await host.libp2p.hangUp(peerIdFromString(peerId));
      },
      close: () =>
        (closing ??= closeAll().then(() => {
          nodeLog.info('node stopped', {});
        })),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
